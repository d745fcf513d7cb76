import type { ChangeEntry } from "../../engine/types.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";
import { managedLabels } from "../expose-target/istio.js";
import { groupOf } from "./kinds.js";

export const MANAGED_BY = "app.kubernetes.io/managed-by";
const CLUSTERSHIFT = managedLabels("")[MANAGED_BY];

/**
 * Whether clustershift made `object`: expose-target, shift-traffic and install-ingress-gateway label what they create
 * so (managedLabels), as does the `kubernetes` state backend its journal. Copied to the target, the source's
 * ServiceEntry to the target and split VirtualService would send the target's traffic back to itself.
 */
export function madeByClustershift(object: KubeObject): boolean {
  return object.metadata.labels?.[MANAGED_BY] === CLUSTERSHIFT;
}

/**
 * One object on one context, the version left out: the journal holds the apiVersion the step wrote at, the mirror
 * lists at the version both clusters serve.
 */
export function identityOf(
  context: string,
  object: { apiVersion: string; kind: string; namespace?: string | undefined; name: string },
): string {
  return JSON.stringify([
    context,
    groupOf(object.apiVersion),
    object.kind,
    object.namespace ?? "",
    object.name,
  ]);
}

/**
 * The oldest pending journal entry of each object this run changed on `context`, by identityOf: its before-image
 * is the object as it was before clustershift (a later entry's is a state clustershift made, such as weight 10),
 * and an oldest entry that created the object says the object is clustershift's own.
 */
export function journaledOn(
  entries: readonly ChangeEntry[] | undefined,
  context: string,
): Map<string, ChangeEntry> {
  const oldest = new Map<string, ChangeEntry>();
  for (const entry of entries ?? []) {
    const target = entry.target;
    if (target?.type !== "kube.object" || target.context !== context) continue;
    const key = identityOf(context, {
      apiVersion: target.apiVersion,
      kind: target.kind,
      namespace: target.namespace,
      name: target.name,
    });
    if (!oldest.has(key)) oldest.set(key, entry);
  }
  return oldest;
}
