import { RuntimeError } from "../../engine/errors.js";
import type { ChangeEntry, WriteContext } from "../../engine/types.js";
import type { ClusterPort } from "../../providers/kubernetes/port.js";
import { kubeObjectResource } from "../../resources/kube-object.js";

export const ISTIO_GROUP = "networking.istio.io";
/** Newest first: v1 since Istio 1.22, v1beta1 since 1.5, v1alpha3 before. */
const ISTIO_VERSIONS = ["v1", "v1beta1", "v1alpha3"] as const;

/** On every object the traffic steps create, so other steps (mirror-workloads) and people can tell them apart. */
export function managedLabels(playbook: string): Record<string, string> {
  return { "app.kubernetes.io/managed-by": "clustershift", "clustershift.dev/playbook": playbook };
}

/** `networking.istio.io/v1` (or the newest the cluster serves); undefined when Istio's CRDs are not installed. */
export async function istioApiVersion(port: ClusterPort): Promise<string | undefined> {
  const served = await port.servedVersions(ISTIO_GROUP);
  const version = ISTIO_VERSIONS.find((v) => served.includes(v));
  return version && `${ISTIO_GROUP}/${version}`;
}

export async function requireIstio(port: ClusterPort, role: "source" | "target"): Promise<string> {
  const apiVersion = await istioApiVersion(port);
  if (!apiVersion) throw istioMissing(port.context, role);
  return apiVersion;
}

export function istioMissing(context: string, role: "source" | "target"): RuntimeError {
  return new RuntimeError(
    `Istio is not installed in the ${role} cluster (context "${context}"): it serves no ${ISTIO_GROUP} API ` +
      `(${ISTIO_VERSIONS.join(", ")}), so there is nowhere to put a ServiceEntry or VirtualService. ` +
      `Install Istio (or Cloud Service Mesh) there first.`,
  );
}

/**
 * The Kubernetes journaling helpers moved to the kube.object resource (src/resources/kube-object.ts); they are
 * re-exported here for the traffic steps and tests that import them from this module.
 */
export { addressOf, imageOf, journalTarget, sameImage } from "../../resources/kube-object.js";

/**
 * Undoes journaled changes of the traffic steps, newest first, through the kube.object resource: for each object
 * only its oldest entry matters, and every write is safe to repeat.
 */
export function rollbackEntries(entries: ChangeEntry[], ctx: WriteContext): Promise<void> {
  return kubeObjectResource.revertAll(entries, ctx);
}
