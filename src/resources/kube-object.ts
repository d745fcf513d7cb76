import { isDeepStrictEqual } from "node:util";
import { DriftError, RuntimeError } from "../engine/errors.js";
import { targetKey, targetOf, type KubeObjectTarget } from "../engine/targets.js";
import type { ChangeEntry, ReadContext, WriteContext } from "../engine/types.js";
import { cluster, refOf, retryOnConflict, withoutServerMetadata } from "../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject, ObjectRef } from "../providers/kubernetes/port.js";
import { subsetDiff, summarizePaths } from "./diff.js";
import { differingPaths, type Resource, type ResourceChange } from "./resource.js";

/**
 * `merge`: an update sets the fields of `after` over the before-image and keeps the rest (what a server-side
 * apply of `after` would leave: another manager's labels on a namespace clustershift labels too), instead of
 * replacing the object with `after`. Either way the write is a PUT with the version read, so it is a
 * compare-and-swap.
 */
export type KubeObjectChange = ResourceChange<KubeObjectTarget, KubeObject> & { merge?: boolean };

/** `VirtualService onlineboutique/frontend-ingress`: the address of a change in plans and the journal. */
export function addressOf(object: Pick<KubeObject, "kind" | "metadata">): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** What rollback needs to find the object again, journaled as the change's `target`. */
export function journalTarget(context: string, object: KubeObject): KubeObjectTarget {
  return { type: "kube.object", context, ...refOf(object) };
}

/**
 * The object without what the server owns (resourceVersion, uid, managedFields, status…): what plans show and
 * compare, and the before-image a rollback puts back with `replace`.
 */
export const imageOf: (object: KubeObject) => KubeObject = withoutServerMetadata;

export function sameImage(a: KubeObject, b: KubeObject): boolean {
  return isDeepStrictEqual(imageOf(a), imageOf(b));
}

function refOfTarget(target: KubeObjectTarget): ObjectRef {
  const { type: _type, context: _context, ...ref } = target;
  return ref;
}

/** The change for writing `desired` over `live` (absent: none), with the before-image the compare-and-swap holds. */
export function kubeObjectChange(
  context: string,
  desired: KubeObject,
  live: KubeObject | undefined,
): KubeObjectChange {
  const common = { address: addressOf(desired), target: journalTarget(context, desired), after: desired };
  return live ? { ...common, action: "update", before: imageOf(live) } : { ...common, action: "create" };
}

/**
 * Kubernetes objects on the cluster of a context. `write` creates (409 AlreadyExists when something appeared
 * since the plan), replaces with the version it read (a PUT, not a server-side apply: that merges, so fields
 * clustershift does not set would stay and the object would not be what the plan showed), or deletes; each only
 * while the live object still equals the plan's before-image.
 */
export const kubeObjectResource: Resource<KubeObjectTarget, KubeObject> & {
  revertAll(entries: ChangeEntry[], ctx: WriteContext): Promise<void>;
} = {
  type: "kube.object",

  read(target: KubeObjectTarget, ctx: ReadContext) {
    return cluster(ctx, target.context).get(refOfTarget(target));
  },

  async write(change, ctx) {
    const port = cluster(ctx, change.target.context);
    const ref = refOfTarget(change.target);
    // Someone writing in between (a controller's status, a retried request of ours) makes the write a 409
    // Conflict: read again, decide again (done, drifted, or write over the version read now).
    await retryOnConflict(async () => {
      const live = await port.get(ref);
      if (isDone(change, live)) return;
      const drift = driftOf(change, live);
      if (drift !== undefined) {
        throw new DriftError(
          `${change.address} on context "${change.target.context}" changed since the plan: ${drift}. ` +
            "Nothing was written; run `clustershift plan` again to see the change against what is there now.",
        );
      }
      await ctx.change(journaled(change), () => carryOut(port, change, live));
    });
  },

  async revert(entry, ctx) {
    const target = targetOf(entry, "kube.object");
    const port = cluster(ctx, target.context);
    const ref = refOfTarget(target);
    const before = entry.action === "create" ? undefined : (entry.before as KubeObject | undefined);
    if (entry.action !== "create" && !before)
      throw new RuntimeError(
        `journal entry ${entry.seq} (${entry.address}) has no before-image: this is a bug`,
      );
    await retryOnConflict(async () => {
      const live = await port.get(ref);
      if (!before) {
        // Deleting what is gone (or going) is fine: the write-ahead entry may stand for a create never made.
        if (live && !live.metadata.deletionTimestamp) await port.delete(ref);
        return;
      }
      if (live && sameImage(live, before)) return;
      if (!live) await port.create(imageOf(before));
      else await port.replace(imageOf(before), { resourceVersion: live.metadata.resourceVersion ?? "" });
    });
  },

  /**
   * Undoes journaled changes, newest first. For each object only its oldest entry in `entries` matters (the
   * first before-image, or "it did not exist").
   */
  async revertAll(entries, ctx) {
    const oldest = new Map<string, ChangeEntry>();
    for (const entry of entries) oldest.set(targetKey(targetOf(entry, "kube.object")), entry);
    for (const entry of oldest.values()) await kubeObjectResource.revert(entry, ctx);
  },
};

/** A resumed run whose write went through before it stopped: the live object already holds `after`. */
function isDone(change: KubeObjectChange, live: KubeObject | undefined): boolean {
  if (change.action === "delete") return !live || live.metadata.deletionTimestamp !== undefined;
  if (!live || !change.after) return false;
  return subsetDiff(imageOf(change.after), imageOf(live)).length === 0;
}

/** What moved since the plan, in words; undefined when the live object is still the plan's before-image. */
function driftOf(change: KubeObjectChange, live: KubeObject | undefined): string | undefined {
  if (change.action === "create") return live ? "it was created by someone else meanwhile" : undefined;
  if (!live) return "it was deleted meanwhile";
  if (!change.before)
    throw new Error(`${change.address}: ${change.action} without a before-image: this is a bug`);
  const paths = differingPaths(imageOf(change.before), imageOf(live)).map(collapseFreeForm);
  return paths.length === 0 ? undefined : `${summarizePaths([...new Set(paths)])} differ from the plan's`;
}

/** `data.password` → `data`: keys of Secrets and ConfigMaps say too much, and the map's path says enough. */
function collapseFreeForm(path: string): string {
  const match = /^(data|stringData|binaryData)\b/.exec(path);
  return match ? match[1]! : path;
}

function journaled(change: KubeObjectChange) {
  return {
    address: change.address,
    action: change.action,
    target: change.target,
    ...(change.before === undefined ? {} : { before: imageOf(change.before) }),
    ...(change.after === undefined ? {} : { after: change.after }),
    ...(change.sensitive ? { sensitive: true } : {}),
  };
}

async function carryOut(
  port: ClusterPort,
  change: KubeObjectChange,
  live: KubeObject | undefined,
): Promise<void> {
  switch (change.action) {
    case "create":
      await port.create(required(change));
      return;
    case "update": {
      const after =
        change.merge && change.before
          ? (merged(change.before, required(change)) as KubeObject)
          : required(change);
      await port.replace(after, { resourceVersion: live?.metadata.resourceVersion ?? "" });
      return;
    }
    case "delete":
      await port.delete(refOfTarget(change.target));
      return;
  }
}

/** `over` set onto `base`: maps merge key by key, anything else (lists, scalars) is `over`'s. */
function merged(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) result[key] = merged(base[key], value);
  return result;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function required(change: KubeObjectChange): KubeObject {
  if (!change.after)
    throw new Error(`${change.address}: ${change.action} without an after-image: this is a bug`);
  return change.after;
}
