/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument --
   Answers are read as loosely as a user's script reads JSON: a field that is not there is a difference to report,
   not a type error. */
import type { Body, Session } from "./session.js";
import { pathFor } from "./session.js";

/** A named behaviour: the same requests on both substrates, whose observations must be equal. */
export interface Behaviour {
  /** "Given …, When …": the test adds "Then the sandbox answers as the real server does". */
  readonly name: string;
  run(s: Session): Promise<void>;
}

export type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
};

/** apiVersion and plural of the kinds the behaviours use. */
export const KINDS = {
  ConfigMap: { apiVersion: "v1", plural: "configmaps" },
  Secret: { apiVersion: "v1", plural: "secrets" },
  Service: { apiVersion: "v1", plural: "services" },
  ServiceAccount: { apiVersion: "v1", plural: "serviceaccounts" },
  Namespace: { apiVersion: "v1", plural: "namespaces" },
  Deployment: { apiVersion: "apps/v1", plural: "deployments" },
  StatefulSet: { apiVersion: "apps/v1", plural: "statefulsets" },
  DaemonSet: { apiVersion: "apps/v1", plural: "daemonsets" },
  HorizontalPodAutoscaler: { apiVersion: "autoscaling/v2", plural: "horizontalpodautoscalers" },
  PodDisruptionBudget: { apiVersion: "policy/v1", plural: "poddisruptionbudgets" },
  NetworkPolicy: { apiVersion: "networking.k8s.io/v1", plural: "networkpolicies" },
  Role: { apiVersion: "rbac.authorization.k8s.io/v1", plural: "roles" },
  RoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", plural: "rolebindings" },
  VirtualService: { apiVersion: "networking.istio.io/v1", plural: "virtualservices" },
  ServiceEntry: { apiVersion: "networking.istio.io/v1", plural: "serviceentries" },
  DestinationRule: { apiVersion: "networking.istio.io/v1", plural: "destinationrules" },
  Gateway: { apiVersion: "networking.istio.io/v1", plural: "gateways" },
} as const;

export type KindName = keyof typeof KINDS;

/** The collection path of an object's kind in `ns` (cluster-scoped Namespaces: none). */
export function collection(kind: KindName, ns: string | undefined): string {
  const { apiVersion, plural } = KINDS[kind];
  return pathFor(apiVersion, plural, kind === "Namespace" ? undefined : ns);
}

export function item(kind: KindName, ns: string | undefined, name: string): string {
  const { apiVersion, plural } = KINDS[kind];
  return pathFor(apiVersion, plural, kind === "Namespace" ? undefined : ns, name);
}

export function obj(
  kind: KindName,
  name: string,
  rest: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): Obj {
  return { apiVersion: KINDS[kind].apiVersion, kind, metadata: { name, ...metadata }, ...rest };
}

export function podTemplate(
  labels: Record<string, string>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    metadata: { labels },
    spec: {
      containers: [{ name: "app", image: "registry.example/app:1.0", ports: [{ containerPort: 8080 }] }],
      ...extra,
    },
  };
}

export function deployment(name: string, spec: Record<string, unknown> = {}): Obj {
  const labels = { app: name };
  return obj("Deployment", name, {
    spec: { replicas: 2, selector: { matchLabels: labels }, template: podTemplate(labels), ...spec },
  });
}

export function statefulSet(name: string, spec: Record<string, unknown> = {}): Obj {
  const labels = { app: name };
  return obj("StatefulSet", name, {
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: labels },
      template: podTemplate(labels),
      ...spec,
    },
  });
}

export function daemonSet(name: string, spec: Record<string, unknown> = {}): Obj {
  const labels = { app: name };
  return obj("DaemonSet", name, {
    spec: { selector: { matchLabels: labels }, template: podTemplate(labels), ...spec },
  });
}

export function service(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("Service", name, {
    spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...spec },
  });
}

export function configMap(
  name: string,
  data: Record<string, string> = { key: "value" },
  metadata: Record<string, unknown> = {},
): Obj {
  return obj("ConfigMap", name, { data }, metadata);
}

export function hpa(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("HorizontalPodAutoscaler", name, {
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ],
      ...spec,
    },
  });
}

export function pdb(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("PodDisruptionBudget", name, {
    spec: { minAvailable: 1, selector: { matchLabels: { app: name } }, ...spec },
  });
}

export function networkPolicy(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("NetworkPolicy", name, {
    spec: {
      podSelector: { matchLabels: { app: name } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: "frontend" } } }], ports: [{ port: 8080 }] }],
      ...spec,
    },
  });
}

export function role(
  name: string,
  rules: unknown[] = [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
): Obj {
  return obj("Role", name, { rules });
}

export function roleBinding(name: string, roleRef: Record<string, unknown> = {}, subjects?: unknown[]): Obj {
  return obj("RoleBinding", name, {
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name, ...roleRef },
    subjects: subjects ?? [{ kind: "ServiceAccount", name: "default", namespace: "default" }],
  });
}

export function virtualService(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("VirtualService", name, {
    spec: {
      hosts: [`${name}.example.com`],
      http: [
        { route: [{ destination: { host: `${name}.default.svc.cluster.local`, port: { number: 80 } } }] },
      ],
      ...spec,
    },
  });
}

export function serviceEntry(name: string, spec: Record<string, unknown> = {}): Obj {
  return obj("ServiceEntry", name, {
    spec: {
      hosts: [`${name}.target.example.com`],
      location: "MESH_EXTERNAL",
      ports: [{ number: 80, name: "http", protocol: "HTTP" }],
      resolution: "DNS",
      ...spec,
    },
  });
}

/** Creates `object` (in its own apiVersion) in the session's namespace and records the answer under `label`. */
export function create(s: Session, label: string, object: Obj, query = "") {
  const kind = object.kind as KindName;
  const path = pathFor(object.apiVersion, KINDS[kind].plural, kind === "Namespace" ? undefined : s.ns);
  return s.call(label, "POST", `${path}${query}`, {
    body: {
      ...object,
      metadata: { ...object.metadata, ...(kind === "Namespace" ? {} : { namespace: s.ns }) },
    },
  });
}

/** Creates without recording (setup). */
export async function given(s: Session, object: Obj): Promise<Body> {
  const kind = object.kind as KindName;
  const response = await s.send("POST", collection(kind, s.ns), {
    body: {
      ...object,
      metadata: { ...object.metadata, ...(kind === "Namespace" ? {} : { namespace: s.ns }) },
    },
  });
  if (response.status !== 201) {
    throw new Error(
      `setup: creating ${object.kind} ${String(object.metadata["name"])} on the ${s.substrate} answered ${response.status}: ${JSON.stringify(response.body)}`,
    );
  }
  return response.body as Body;
}

export const MERGE = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC = "application/strategic-merge-patch+json";
export const APPLY = "application/apply-patch+yaml";

/**
 * A read or update answer without what controllers write on their own schedule (status, the Deployment
 * controller's revision annotation): the real kube-controller-manager may or may not have got to it yet.
 */
export function withoutControllerState(body: Body): unknown {
  if (typeof body !== "object" || body === null || body["kind"] === "Status") return body;
  const { status: _status, ...rest } = body;
  const annotations = { ...(rest["metadata"]?.["annotations"] ?? {}) };
  delete annotations["deployment.kubernetes.io/revision"];
  const metadata = { ...rest["metadata"] };
  if (Object.keys(annotations).length > 0) metadata["annotations"] = annotations;
  else delete metadata["annotations"];
  // A controller's status write adds its own managedFields entry: only the spec writers' are compared.
  if (Array.isArray(metadata["managedFields"])) {
    metadata["managedFields"] = metadata["managedFields"].filter(
      (entry: Record<string, unknown>) =>
        entry["subresource"] !== "status" && entry["manager"] !== "kube-controller-manager",
    );
  }
  return { ...rest, metadata };
}
