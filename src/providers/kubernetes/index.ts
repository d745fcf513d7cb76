import type { ReadContext, WriteContext } from "../../engine/types.js";
import { memoClient } from "../memo.js";
import { createClusterClient } from "./client.js";
import { ContextNotFoundError } from "./errors.js";
import type { ClusterPort, ReadOnlyCluster } from "./port.js";

export type {
  ApiResource,
  ClusterPort,
  ClusterReader,
  KubeObject,
  ListOptions,
  ObjectRef,
  ReadOnlyCluster,
} from "./port.js";
export { ContextNotFoundError, KubeApiError, isApiStatus } from "./errors.js";
export { describe, refOf } from "./client.js";
export { CONFLICT_ATTEMPTS, retryOnConflict } from "./conflict.js";
export { mapLimit } from "./concurrency.js";
export { SERVER_METADATA, withoutServerMetadata } from "./metadata.js";
export { rolloutState } from "./rollout.js";

/**
 * The cluster of a kubeconfig context, memoized for the run in `ctx.clients` under `kube:<context>`.
 * Throws ContextNotFoundError when the kubeconfig has no such context (nothing is memoized then, so a context a
 * provisioning step adds later is found on the next call).
 */
export function cluster(ctx: WritingContext, context: string): ClusterPort;
export function cluster(ctx: ReadingContext, context: string): ReadOnlyCluster;
export function cluster(ctx: ClusterContext, context: string): ClusterPort;
export function cluster(ctx: ClusterContext, context: string): ClusterPort {
  return memoClient(ctx, clusterKey(context), (): ClusterPort =>
    createClusterClient(context, {
      ...(ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig }),
      // The run's signal: after SIGINT or SIGTERM no call of this client starts a new write.
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }),
  );
}

/** What {@link cluster} needs of a step's context; `signal` is absent only outside a run (the demo's seeding). */
export type ClusterContext = Pick<ReadContext, "clients" | "options"> & { signal?: AbortSignal };

/**
 * A step's `apply` or `rollback` (it journals through `change`): {@link cluster} hands it a writer. A context of
 * `plan`, `verify`, `status` or a gate ({@link ReadingContext}) gets a {@link ReadOnlyCluster}, whose type has no
 * write (and the client behind it refuses one at run time too: engine/readers.ts). Code outside a run (the
 * demo's seeding, a test's fixture) passes only `clients` and `options`, and writes.
 */
export type WritingContext = ClusterContext & Pick<WriteContext, "change">;
export type ReadingContext = ClusterContext & Pick<ReadContext, "playbook" | "progress">;

/** {@link cluster}, or undefined while the kubeconfig has no such context (an earlier step of the run writes it). */
export function clusterIfKnown(ctx: WritingContext, context: string): ClusterPort | undefined;
export function clusterIfKnown(ctx: ReadingContext, context: string): ReadOnlyCluster | undefined;
export function clusterIfKnown(ctx: ClusterContext, context: string): ClusterPort | undefined;
export function clusterIfKnown(ctx: ClusterContext, context: string): ClusterPort | undefined {
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
