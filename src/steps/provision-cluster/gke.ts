import { RuntimeError } from "../../engine/errors.js";
import type { Change, ChangeEntry, ReadContext, WriteContext } from "../../engine/types.js";
import { targetOf } from "../../engine/targets.js";
import { gke } from "../../providers/gke/index.js";
import { clusterName } from "../../providers/gke/names.js";
import { gkeKubeconfigPatch } from "../../providers/gke/kubeconfig.js";
import { OPERATION_TIMEOUT_MS, waitForGkeOperation } from "../../providers/gke/operations.js";
import { poll } from "../../providers/gke/poll.js";
import type { ClusterRef, GkeCluster, GkePort } from "../../providers/gke/port.js";
import { formatDuration } from "../../playbook/duration.js";
import { applyContext, contextAddress, planContext } from "./kubeconfig-change.js";
import { clusterAddress, clusterDrift, describeSpec, type ProvisionInstance } from "./spec.js";

type GkeInstance = Extract<ProvisionInstance, { provider: "gke" }>;

export const RUNNING_WAIT = "cluster RUNNING";
const RUNNING_TIMEOUT_MS = 30 * 60_000;
const AUTH = "exec gke-gcloud-auth-plugin";

export async function planGke(instance: GkeInstance, ctx: ReadContext): Promise<Change[]> {
  const { ref, cluster: spec, context } = instance;
  const address = clusterAddress(ref);
  const cluster = await gke(ctx).getCluster(ref);
  const changes: Change[] = [];
  if (!cluster) {
    changes.push({ action: "create", address, after: spec, detail: describeSpec(spec) });
  } else {
    const drift = clusterDrift(cluster, spec);
    if (drift.length > 0) {
      throw new RuntimeError(
        [
          `cluster ${clusterName(ref)} already exists and differs from spec.target.provision:`,
          ...drift.map((line) => `  ${line}`),
          "clustershift never recreates or resizes a cluster: make the playbook match it, or choose another name.",
        ].join("\n"),
      );
    }
    changes.push({ action: "no-op", address, detail: `exists, ${cluster.status}` });
  }
  if (cluster?.status !== "RUNNING") {
    changes.push({
      action: "wait",
      address: RUNNING_WAIT,
      detail: `${clusterName(ref)}, up to ${formatDuration(RUNNING_TIMEOUT_MS)}`,
    });
  }
  const known = cluster?.endpoint !== undefined;
  changes.push(await planContext(ctx, context, kubeconfigPatch(ref, cluster, context), known, AUTH));
  return changes;
}

export async function applyGke(instance: GkeInstance, changes: Change[], ctx: WriteContext): Promise<void> {
  const { ref, cluster: spec, context } = instance;
  const port = gke(ctx);
  const address = clusterAddress(ref);
  if (changes.some((c) => c.address === address && c.action === "create")) {
    await ctx.change(
      { address, action: "create", after: spec, target: { type: "gke.cluster", ...ref } },
      async () => {
        const operation = await port.createCluster(ref, spec);
        await waitForGkeOperation(
          port,
          operation,
          waitOptions(ctx, address, `create cluster ${clusterName(ref)}`),
        );
      },
    );
  }
  const cluster = await waitRunning(port, ref, ctx);
  if (changes.some((c) => c.address === contextAddress(context) && c.action !== "no-op")) {
    await applyContext(ctx, context, kubeconfigPatch(ref, cluster, context));
  }
}

export async function verifyGke(instance: GkeInstance, ctx: ReadContext): Promise<string | undefined> {
  const cluster = await gke(ctx).getCluster(instance.ref);
  if (cluster?.status !== "RUNNING")
    return `cluster ${clusterName(instance.ref)} is ${cluster?.status ?? "missing"}`;
  const change = await planContext(
    ctx,
    instance.context,
    kubeconfigPatch(instance.ref, cluster, instance.context),
    true,
    AUTH,
  );
  return change.action === "no-op"
    ? undefined
    : `kubeconfig context ${instance.context} does not point at the cluster`;
}

/** Deletes the cluster only with --destroy-provisioned; otherwise says how to. */
export async function rollbackGkeCluster(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const target = targetOf(entry, "gke.cluster");
  const ref = { project: target.project, location: target.location, name: target.name };
  const name = clusterName(ref);
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
      timeoutMs: RUNNING_TIMEOUT_MS,
      signal: ctx.signal,
      onProgress: (d) => ctx.progress.wait(entry.address, d),
    },
  );
  const operation = settled && settled.status !== "STOPPING" ? await port.deleteCluster(ref) : undefined;
  if (operation)
    await waitForGkeOperation(port, operation, waitOptions(ctx, entry.address, `delete cluster ${name}`));
  ctx.progress.info(settled ? `deleted cluster ${name}` : `cluster ${name} was already gone`);
}

async function waitRunning(port: GkePort, ref: ClusterRef, ctx: WriteContext): Promise<GkeCluster> {
  return poll(
    async () => {
      const cluster = await port.getCluster(ref);
      if (!cluster)
        throw new RuntimeError(`cluster ${clusterName(ref)} disappeared while waiting for it to run`);
      if (cluster.status === "RUNNING" && cluster.endpoint) return { done: true, value: cluster };
      if (cluster.status === "DEGRADED" && cluster.endpoint) {
        ctx.progress.warn(
          `cluster ${clusterName(ref)} is DEGRADED: ${cluster.statusMessage ?? "see the Cloud console"}`,
        );
        return { done: true, value: cluster };
      }
      if (cluster.status === "ERROR" || cluster.status === "STOPPING") {
        throw new RuntimeError(
          `cluster ${clusterName(ref)} is ${cluster.status}${cluster.statusMessage ? `: ${cluster.statusMessage}` : ""}`,
        );
      }
      return { done: false, detail: cluster.status };
    },
    {
      what: `cluster ${clusterName(ref)} RUNNING`,
      timeoutMs: RUNNING_TIMEOUT_MS,
      signal: ctx.signal,
      onProgress: (detail) => ctx.progress.wait(RUNNING_WAIT, detail),
    },
  );
}

function kubeconfigPatch(ref: ClusterRef, cluster: GkeCluster | undefined, context: string) {
  return gkeKubeconfigPatch(
    {
      ...ref,
      endpoint: cluster?.endpoint ?? "",
      ...(cluster?.caCertificate ? { caCertificate: cluster.caCertificate } : {}),
    },
    context,
  );
}

function waitOptions(ctx: ReadContext, address: string, what: string) {
  return {
    what,
    timeoutMs: OPERATION_TIMEOUT_MS,
    signal: ctx.signal,
    onProgress: (d: string) => ctx.progress.wait(address, d),
  };
}
