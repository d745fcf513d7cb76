import type { ReadContext } from "../../engine/types.js";
import { memoClient } from "../memo.js";
import { createClusterClient } from "./client.js";
import { ContextNotFoundError } from "./errors.js";
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
  return memoClient(ctx, clusterKey(context), (): ClusterPort =>
    createClusterClient(
      context,
      ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig },
    ),
  );
}

/** {@link cluster}, or undefined while the kubeconfig has no such context (an earlier step of the run writes it). */
export function clusterIfKnown(
  ctx: Pick<ReadContext, "clients" | "options">,
  context: string,
): ClusterPort | undefined {
  try {
    return cluster(ctx, context);
  } catch (error) {
    if (error instanceof ContextNotFoundError) return undefined;
    throw error;
  }
}

/** Drops the memoized client of `context`, whose kubeconfig entry changed: it may point at the old server. */
export function forgetCluster(ctx: Pick<ReadContext, "clients">, context: string): void {
  ctx.clients.delete(clusterKey(context));
}

function clusterKey(context: string): string {
  return `kube:${context}`;
}
