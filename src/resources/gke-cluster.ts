import { isDeepStrictEqual } from "node:util";
import { DriftError, RuntimeError } from "../engine/errors.js";
import { targetOf, type GkeClusterTarget } from "../engine/targets.js";
import type { ReadContext } from "../engine/types.js";
import { gke } from "../providers/gke/index.js";
import { clusterName } from "../providers/gke/names.js";
import { OPERATION_TIMEOUT_MS, waitForGkeOperation } from "../providers/gke/operations.js";
import { poll, pollInterval } from "../providers/gke/poll.js";
import type { ClusterRef, ClusterSpec, GkeCluster } from "../providers/gke/port.js";
import { differingPaths, type Resource, type ResourceChange } from "./resource.js";

/** A GKE cluster's change: `before`/`after` are the settings clustershift owns (what the playbook sets). */
export type GkeClusterChange = ResourceChange<GkeClusterTarget, ClusterSpec>;

/** How long a cluster may stay PROVISIONING or RECONCILING before rollback gives up waiting to delete it. */
const SETTLE_TIMEOUT_MS = 30 * 60_000;

export function refOfTarget(target: GkeClusterTarget): ClusterRef {
  return { project: target.project, location: target.location, name: target.name };
}

export function clusterTarget(ref: ClusterRef): GkeClusterTarget {
  return { type: "gke.cluster", ...ref };
}

/**
 * The settings of `cluster` that the playbook sets, shaped as `wanted` asks for them: the release channel and
 * the labels only where the playbook names them (labels others added are not ours to compare).
 */
export function ownedSettings(cluster: GkeCluster, wanted?: ClusterSpec): Partial<ClusterSpec> {
  const labels = wanted?.labels
    ? Object.fromEntries(
        Object.keys(wanted.labels).flatMap((key) =>
          cluster.labels[key] === undefined ? [] : [[key, cluster.labels[key]]],
        ),
      )
    : undefined;
  return {
    ...(cluster.machineType === undefined ? {} : { machineType: cluster.machineType }),
    ...(cluster.nodeCount === undefined ? {} : { nodeCount: cluster.nodeCount }),
    ...(cluster.workloadPool === undefined ? {} : { workloadPool: cluster.workloadPool }),
    ...(wanted && !wanted.releaseChannel
      ? {}
      : cluster.releaseChannel
        ? { releaseChannel: cluster.releaseChannel as NonNullable<ClusterSpec["releaseChannel"]> }
        : {}),
    ...(labels === undefined ? {} : { labels }),
  };
}

/**
 * GKE clusters (`gcloud container clusters create/delete`). `write` creates one only while there still is no
 * cluster of that name (one that appeared since the plan is someone else's: DriftError, nothing sent), waits
 * for the create operation, and journals before it sends. clustershift never resizes or relabels a cluster, so
 * an update only holds the plan's settings against the live ones. `revert` of a create deletes the cluster only
 * with --destroy-provisioned (a cluster is expensive to make and may hold work by then); otherwise it says how.
 */
export const gkeClusterResource: Resource<GkeClusterTarget, ClusterSpec> = {
  type: "gke.cluster",

  async read(target: GkeClusterTarget, ctx: ReadContext) {
    const cluster = await gke(ctx).getCluster(refOfTarget(target));
    return cluster && (ownedSettings(cluster) as ClusterSpec);
  },

  async write(change, ctx) {
    const port = gke(ctx);
    const ref = refOfTarget(change.target);
    const live = await port.getCluster(ref);
    const drift = driftOf(change, live);
    if (drift !== undefined) {
      throw new DriftError(
        `${change.address} changed since the plan: ${drift}. ` +
          "Nothing was written; run `clustershift plan` again to see the change against what is there now.",
      );
    }
    switch (change.action) {
      case "create": {
        const spec = required(change);
        await ctx.change(journaled(change), async () => {
          const operation = await port.createCluster(ref, spec);
          await waitForGkeOperation(
            port,
            operation,
            waitOptions(ctx, change.address, `create cluster ${clusterName(ref)}`),
          );
        });
        return;
      }
      case "update":
        // driftOf held the live settings to the plan's; the plan proposes an update only where they already match.
        if (isDeepStrictEqual(ownedSettings(live!, change.after), change.after)) return;
        throw new RuntimeError(
          `${change.address}: clustershift never resizes or relabels a cluster; make the playbook match it.`,
        );
      case "delete": {
        if (!live) return;
        await ctx.change(journaled(change), async () => {
          const operation = await port.deleteCluster(ref);
          if (operation)
            await waitForGkeOperation(
              port,
              operation,
              waitOptions(ctx, change.address, `delete cluster ${clusterName(ref)}`),
            );
        });
        return;
      }
    }
  },

  async revert(entry, ctx) {
    const target = targetOf(entry, "gke.cluster");
    const ref = refOfTarget(target);
    const name = clusterName(ref);
    if (entry.action !== "create") {
      throw new RuntimeError(
        `${entry.address}: a ${entry.action} of a GKE cluster cannot be undone by clustershift (a deleted cluster is gone with its nodes); ` +
          `recreate it with gcloud container clusters create ${ref.name} --location ${ref.location} --project ${ref.project}`,
      );
    }
    if (!ctx.options.destroyProvisioned) {
      ctx.progress.info(
        `kept cluster ${name}, which this run created: rollback deletes clusters only with --destroy-provisioned. ` +
          `To delete it yourself: gcloud container clusters delete ${ref.name} --location ${ref.location} --project ${ref.project}`,
      );
      return;
    }
    const port = gke(ctx);
    // GKE refuses to delete a cluster while another operation (its creation) runs on it.
    const settled = await poll(
      async () => {
        const cluster = await port.getCluster(ref);
        return cluster && ["PROVISIONING", "RECONCILING"].includes(cluster.status)
          ? { done: false, detail: `cluster ${cluster.status}, waiting to delete it` }
          : { done: true, value: cluster };
      },
      {
        what: `cluster ${name} to settle`,
        timeoutMs: SETTLE_TIMEOUT_MS,
        signal: ctx.signal,
        onProgress: (d) => ctx.progress.wait(entry.address, d),
        ...pollInterval(ctx),
      },
    );
    const operation = settled && settled.status !== "STOPPING" ? await port.deleteCluster(ref) : undefined;
    if (operation)
      await waitForGkeOperation(port, operation, waitOptions(ctx, entry.address, `delete cluster ${name}`));
    ctx.progress.info(settled ? `deleted cluster ${name}` : `cluster ${name} was already gone`);
  },
};

/** What moved since the plan, in words; undefined when the live cluster is still what the plan saw. */
function driftOf(change: GkeClusterChange, live: GkeCluster | undefined): string | undefined {
  if (change.action === "create")
    return live ? `a cluster of that name was created meanwhile (${live.status})` : undefined;
  if (!live) return "the cluster was deleted meanwhile";
  if (!change.before)
    throw new Error(`${change.address}: ${change.action} without a before-image: this is a bug`);
  const paths = differingPaths(change.before, ownedSettings(live, change.before));
  return paths.length === 0 ? undefined : `${paths.join(", ")} differ from the plan's`;
}

function journaled(change: GkeClusterChange) {
  return {
    address: change.address,
    action: change.action,
    target: change.target,
    ...(change.before === undefined ? {} : { before: change.before }),
    ...(change.after === undefined ? {} : { after: change.after }),
  };
}

function required(change: GkeClusterChange): ClusterSpec {
  if (!change.after)
    throw new Error(`${change.address}: ${change.action} without an after-image: this is a bug`);
  return change.after;
}

function waitOptions(ctx: ReadContext, address: string, what: string) {
  return {
    what,
    timeoutMs: OPERATION_TIMEOUT_MS,
    signal: ctx.signal,
    onProgress: (d: string) => ctx.progress.wait(address, d),
    ...pollInterval(ctx),
  };
}
