import { RuntimeError } from "../../engine/errors.js";
import { targetOf, type GkeClusterTarget, type SandboxClusterTarget } from "../../engine/targets.js";
import type { Change, ChangeEntry, ReadContext, WriteContext } from "../../engine/types.js";
import { gke } from "../../providers/gke/index.js";
import { clusterName } from "../../providers/gke/names.js";
import { OPERATION_TIMEOUT_MS, waitForGkeOperation } from "../../providers/gke/operations.js";
import { pollInterval } from "../../providers/gke/poll.js";
import type { ClusterRef } from "../../providers/gke/port.js";
import { memoClient } from "../../providers/memo.js";
import { createSandboxProvisioner } from "../../providers/sandbox-provisioner/client.js";
import type { SandboxProvisionerPort } from "../../providers/sandbox-provisioner/port.js";

/** The source cluster as `spec.decommission.cluster` names it. */
export type SourceCluster = { provider: "gke"; ref: ClusterRef } | { provider: "sandbox"; name: string };

export function sourceClusterAddress(cluster: SourceCluster): string {
  return cluster.provider === "gke"
    ? `gke.cluster ${clusterName(cluster.ref)}`
    : `sandbox.cluster ${cluster.name}`;
}

/**
 * The sandbox's control API, reached through the *target* context where the kubeconfig has it: every sandbox
 * cluster port serves it, and the source's own port closes with the cluster being deleted. Before the target
 * exists (a plan made before provision-cluster ran) the source context serves it.
 */
function provisioner(ctx: Pick<ReadContext, "clients" | "options" | "playbook">): SandboxProvisionerPort {
  const { source, target } = ctx.playbook.spec;
  let failure: unknown;
  for (const context of [target.context, source.context]) {
    try {
      return memoClient(ctx, `sandbox-provisioner:${context}`, () =>
        createSandboxProvisioner(context, ctx.options.kubeconfig),
      );
    } catch (error) {
      failure ??= error;
    }
  }
  throw failure;
}

/** Whether the cluster is there (and not already being deleted). */
async function exists(cluster: SourceCluster, ctx: ReadContext): Promise<boolean> {
  if (cluster.provider === "sandbox") return (await provisioner(ctx).getCluster(cluster.name)) !== undefined;
  const found = await gke(ctx).getCluster(cluster.ref);
  return found !== undefined && found.status !== "STOPPING";
}

export const IRREVERSIBLE =
  "IRREVERSIBLE: once the source cluster is gone, nothing of this run can be rolled back (rollback refuses)";

export async function planDelete(cluster: SourceCluster, ctx: ReadContext): Promise<Change> {
  const address = sourceClusterAddress(cluster);
  return (await exists(cluster, ctx))
    ? { action: "delete", address, before: describe(cluster), detail: IRREVERSIBLE }
    : { action: "no-op", address, detail: "already gone" };
}

export async function applyDelete(cluster: SourceCluster, change: Change, ctx: WriteContext): Promise<void> {
  if (change.action !== "delete") return;
  const address = sourceClusterAddress(cluster);
  await ctx.change(
    {
      address,
      action: "delete",
      before: describe(cluster),
      target: targetOfCluster(cluster),
    },
    async () => {
      if (cluster.provider === "sandbox") {
        await provisioner(ctx).removeCluster(cluster.name);
        return;
      }
      const port = gke(ctx);
      const operation = await port.deleteCluster(cluster.ref);
      if (operation) {
        await waitForGkeOperation(port, operation, {
          what: `delete cluster ${clusterName(cluster.ref)}`,
          timeoutMs: OPERATION_TIMEOUT_MS,
          signal: ctx.signal,
          onProgress: (d) => ctx.progress.wait(address, d),
          ...pollInterval(ctx),
        });
      }
    },
  );
}

export async function verifyDelete(cluster: SourceCluster, ctx: ReadContext): Promise<string | undefined> {
  return (await exists(cluster, ctx)) ? `${sourceClusterAddress(cluster)} still exists` : undefined;
}

/**
 * A deleted cluster cannot come back, and everything this run changed before (the traffic routes, the DNS
 * record, the replicas) only makes sense with it there. So this refuses the whole rollback before anything is
 * reverted: the engine hands rollback the newest change first, and the deletion is this run's last change.
 * A deletion that was journaled but never happened (the API refused it) leaves the cluster there: nothing to undo.
 */
export async function rollbackDelete(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const cluster = clusterOf(entry);
  if (await exists(cluster, ctx).catch(() => false)) {
    ctx.progress.info(`${entry.address} was not deleted (the deletion did not happen); nothing to undo`);
    return;
  }
  throw new RuntimeError(
    [
      `rollback refused: this run deleted the source cluster (${entry.address}, journaled ${entry.time}).`,
      "Nothing was reverted: the changes before the deletion (traffic routes, DNS, replicas) pointed at that",
      "cluster and cannot be restored without it. The migration is final; the target cluster serves the traffic.",
      "To move back, migrate again in the other direction with a new playbook.",
    ].join("\n"),
  );
}

function describe(cluster: SourceCluster): Record<string, string> {
  return cluster.provider === "gke"
    ? { provider: "gke", ...cluster.ref }
    : { provider: "sandbox", name: cluster.name };
}

function targetOfCluster(cluster: SourceCluster): GkeClusterTarget | SandboxClusterTarget {
  return cluster.provider === "gke"
    ? { type: "gke.cluster", ...cluster.ref }
    : { type: "sandbox.cluster", name: cluster.name };
}

function clusterOf(entry: ChangeEntry): SourceCluster {
  const target = targetOf(entry, "gke.cluster", "sandbox.cluster");
  return target.type === "gke.cluster"
    ? { provider: "gke", ref: { project: target.project, location: target.location, name: target.name } }
    : { provider: "sandbox", name: target.name };
}
