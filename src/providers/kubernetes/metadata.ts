import type { KubeObject } from "./port.js";

/** Metadata the server owns: sent back, it would pin a stale version or be rejected. */
export const SERVER_METADATA: readonly string[] = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
];

/**
 * A copy without what the server owns (server metadata, status): what a client sends back, what plans show and
 * compare, and the before-image a rollback puts back. The metadata is a new object, safe to change.
 */
export function withoutServerMetadata(object: KubeObject): KubeObject {
  const { apiVersion, kind, status: _status, metadata, ...rest } = object;
  const kept = Object.fromEntries(Object.entries(metadata).filter(([key]) => !SERVER_METADATA.includes(key)));
  return { apiVersion, kind, metadata: kept as KubeObject["metadata"], ...rest };
}
