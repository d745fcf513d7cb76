import { SERVER_METADATA } from "../../providers/kubernetes/metadata.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";

type Json = Record<string, unknown>;

/** Metadata the source cluster owns; on the target it would be wrong (uids, versions) or rejected. */
const CLUSTER_METADATA = [
  ...SERVER_METADATA,
  "ownerReferences",
  // Controllers add their own (pvc-protection, foregroundDeletion); copied, they would block deletion on rollback.
  "finalizers",
];

const CLUSTER_ANNOTATIONS = [
  "kubectl.kubernetes.io/last-applied-configuration",
  "deployment.kubernetes.io/revision",
  // Binding state of a claim to a volume that exists only on the source.
  "pv.kubernetes.io/bind-completed",
  "pv.kubernetes.io/bound-by-controller",
  "volume.beta.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/selected-node",
];

const JOB_CONTROLLER_LABELS = [
  "controller-uid",
  "batch.kubernetes.io/controller-uid",
  "job-name",
  "batch.kubernetes.io/job-name",
];

/** ConfigMaps every namespace gets from the control plane: the cluster's and the mesh's root certificates. */
const CONTROL_PLANE_CONFIGMAPS = new Set(["kube-root-ca.crt", "istio-ca-root-cert"]);

/** `endpointslice.kubernetes.io/managed-by` of the slices Kubernetes' own controllers make. */
const ENDPOINTSLICE_CONTROLLERS = new Set([
  "endpointslice-controller.k8s.io",
  "endpointslicemirroring-controller.k8s.io",
]);

/**
 * Why a source object is not copied: a controller makes it on the target (or it means the source only).
 * `selectorless`: names of the Services of the object's namespace that have no selector, whose Endpoints a user
 * wrote (an external database's addresses) and no controller makes again on the target.
 */
export function skipReason(
  object: KubeObject,
  selectorless: ReadonlySet<string> = new Set(),
): string | undefined {
  const { kind, metadata } = object;
  const owner = (metadata.ownerReferences as { controller?: boolean; kind?: string }[] | undefined)?.find(
    (ref) => ref.controller,
  );
  switch (kind) {
    case "Endpoints":
      return selectorless.has(metadata.name) && !metadata.labels?.["endpoints.kubernetes.io/managed-by"]
        ? undefined
        : "made by a controller";
    case "EndpointSlice": {
      // A user's slice (any other manager) is copied; the mirroring controller makes the target's own slices of
      // the copied Endpoints.
      const manager = metadata.labels?.["endpointslice.kubernetes.io/managed-by"];
      return manager === undefined || ENDPOINTSLICE_CONTROLLERS.has(manager)
        ? "made by a controller"
        : undefined;
    }
    case "Pod":
    case "Event":
    case "ControllerRevision":
      return "made by a controller";
    case "ReplicaSet":
    case "Job":
      return owner ? `owned by ${owner.kind ?? "a controller"}` : undefined;
    case "Secret":
      return object.type === "kubernetes.io/service-account-token" ? "service account token" : undefined;
    case "ConfigMap":
      return CONTROL_PLANE_CONFIGMAPS.has(metadata.name) ? "published by the control plane" : undefined;
    case "ServiceAccount":
      return metadata.name === "default" ? "made with the namespace" : undefined;
    case "Service":
      return metadata.namespace === "default" && metadata.name === "kubernetes"
        ? "the API server's own"
        : undefined;
    default:
      return undefined;
  }
}

/**
 * A copy without what the cluster owns: server metadata, status, allocated addresses and ports, bindings to
 * source volumes, token references. What is left is what a user wrote, and what we apply to the target.
 * Node ports are dropped too: the target allocates its own, and a fixed one may be taken there.
 */
export function strip(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const { status: _status, ...out } = copy;
  const metadata = out.metadata;
  for (const key of CLUSTER_METADATA) delete metadata[key];
  if (metadata.annotations) {
    for (const key of CLUSTER_ANNOTATIONS) delete metadata.annotations[key];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  const spec = out.spec as Json | undefined;
  switch (out.kind) {
    case "Namespace":
      delete out.spec;
      if (metadata.labels) {
        delete metadata.labels["kubernetes.io/metadata.name"];
        if (Object.keys(metadata.labels).length === 0) delete metadata.labels;
      }
      break;
    case "Service":
      if (spec) stripService(spec);
      break;
    case "PersistentVolumeClaim":
      if (spec) delete spec.volumeName;
      break;
    case "ServiceAccount":
      stripTokenReferences(out);
      break;
    case "Job":
      if (spec && spec.manualSelector !== true) stripJobSelector(spec);
      break;
  }
  return out;
}

function stripService(spec: Json): void {
  if (spec.clusterIP !== "None") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  delete spec.healthCheckNodePort;
  if (Array.isArray(spec.ports)) {
    for (const port of spec.ports as Json[]) delete port.nodePort;
  }
}

function stripTokenReferences(account: KubeObject): void {
  const secrets = account.secrets as { name?: string }[] | undefined;
  if (!Array.isArray(secrets)) return;
  const kept = secrets.filter((s) => !s.name?.startsWith(`${account.metadata.name}-token-`));
  if (kept.length > 0) account.secrets = kept;
  else delete account.secrets;
}

/** The Job controller generates the selector and its labels from the Job's uid, which is new on the target. */
function stripJobSelector(spec: Json): void {
  delete spec.selector;
  const template = spec.template as { metadata?: { labels?: Record<string, string> } } | undefined;
  const labels = template?.metadata?.labels;
  if (labels) for (const key of JOB_CONTROLLER_LABELS) delete labels[key];
}
