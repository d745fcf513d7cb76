import type { KubeObject } from "../../providers/kubernetes/port.js";

/**
 * Apply order, after Velero's restore priorities: what others refer to goes first (namespaces, identities,
 * secrets and configuration before the pods that mount them), Istio routing last so that it never points at
 * a workload that is not there yet.
 */
export const PRIORITY = {
  CustomResourceDefinition: 0,
  Namespace: 1,
  LimitRange: 2,
  ResourceQuota: 2,
  ServiceAccount: 3,
  Secret: 4,
  ConfigMap: 5,
  PersistentVolumeClaim: 6,
  Role: 7,
  RoleBinding: 7,
  Service: 8,
  // The manual addresses of a selector-less Service, beside it.
  Endpoints: 8,
  EndpointSlice: 8,
  Deployment: 9,
  StatefulSet: 9,
  DaemonSet: 9,
  ReplicaSet: 9,
  Job: 9,
  CronJob: 9,
  HorizontalPodAutoscaler: 10,
  PodDisruptionBudget: 10,
} as const satisfies Record<string, number>;
export const REST_PRIORITY = 11;
export const ISTIO_PRIORITY = 12;

export interface MirroredKind {
  group: string;
  kind: string;
}

/**
 * Namespaced kinds worth mirroring; Pods and Events are made by controllers, and so are Endpoints and
 * EndpointSlices except those of Services without a selector (strip.ts: skipReason).
 */
export const MIRRORED_KINDS: readonly MirroredKind[] = [
  ...[
    "LimitRange",
    "ResourceQuota",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "Endpoints",
  ].map((kind) => ({ group: "", kind })),
  { group: "discovery.k8s.io", kind: "EndpointSlice" },
  { group: "rbac.authorization.k8s.io", kind: "Role" },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding" },
  ...["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].map((kind) => ({ group: "apps", kind })),
  { group: "batch", kind: "Job" },
  { group: "batch", kind: "CronJob" },
  { group: "autoscaling", kind: "HorizontalPodAutoscaler" },
  { group: "policy", kind: "PodDisruptionBudget" },
  { group: "networking.k8s.io", kind: "NetworkPolicy" },
  { group: "networking.k8s.io", kind: "Ingress" },
  ...[
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "Sidecar",
    "WorkloadEntry",
    "WorkloadGroup",
    "EnvoyFilter",
    "ProxyConfig",
  ].map((kind) => ({ group: "networking.istio.io", kind })),
  ...["AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication"].map((kind) => ({
    group: "security.istio.io",
    kind,
  })),
  { group: "telemetry.istio.io", kind: "Telemetry" },
  { group: "extensions.istio.io", kind: "WasmPlugin" },
];

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export function priorityOf(object: Pick<KubeObject, "apiVersion" | "kind">): number {
  if (groupOf(object.apiVersion).endsWith("istio.io")) return ISTIO_PRIORITY;
  return (PRIORITY as Record<string, number | undefined>)[object.kind] ?? REST_PRIORITY;
}

/** Apply order: priority, then namespace, kind and name so that plans read the same every time. */
export function compareForApply(a: KubeObject, b: KubeObject): number {
  return (
    priorityOf(a) - priorityOf(b) ||
    compareText(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
    compareText(a.kind, b.kind) ||
    compareText(a.metadata.name, b.metadata.name)
  );
}

/** Consecutive runs of equal priority: each run may be written in parallel, runs one after the other. */
export function priorityRuns<T>(
  items: readonly T[],
  objectOf: (item: T) => Pick<KubeObject, "apiVersion" | "kind">,
): T[][] {
  const runs: T[][] = [];
  let last: number | undefined;
  for (const item of items) {
    const priority = priorityOf(objectOf(item));
    if (priority !== last) runs.push([]);
    runs[runs.length - 1]?.push(item);
    last = priority;
  }
  return runs;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
