import type { ReadContext } from "../../engine/types.js";
import { createClusterClient } from "./client.js";
import type { ClusterPort } from "./port.js";

export type { ApiResource, ClusterPort, KubeObject, ListOptions, ObjectRef } from "./port.js";
export { ContextNotFoundError, KubeApiError, isApiStatus } from "./errors.js";
export { describe, refOf } from "./client.js";
export { mapLimit } from "./concurrency.js";
export { SERVER_METADATA, withoutServerMetadata } from "./metadata.js";
export { rolloutState } from "./rollout.js";

/**
 * The cluster of a kubeconfig context, memoized for the run in `ctx.clients` under `kube:<context>`.
 * Throws ContextNotFoundError when the kubeconfig has no such context (nothing is memoized then, so a context a
 * provisioning step adds later is found on the next call).
 */
export function cluster(ctx: Pick<ReadContext, "clients" | "options">, context: string): ClusterPort {
  const key = `kube:${context}`;
  const known = ctx.clients.get(key) as ClusterPort | undefined;
  if (known) return known;
  const created = createClusterClient(
    context,
    ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig },
  );
  ctx.clients.set(key, created);
  return created;
}
