import { RuntimeError } from "../../engine/errors.js";
import type { Change, ReadContext, WriteContext } from "../../engine/types.js";
import { gke } from "../../providers/gke/index.js";
import { clusterName } from "../../providers/gke/names.js";
import { gkeKubeconfigPatch } from "../../providers/gke/kubeconfig.js";
import { poll, pollInterval } from "../../providers/gke/poll.js";
import type { ClusterRef, GkeCluster, GkePort } from "../../providers/gke/port.js";
import type { KubeconfigPatch } from "../../providers/kubernetes/kubeconfig-file.js";
import { formatDuration } from "../../playbook/duration.js";
import { clusterTarget, gkeClusterResource } from "../../resources/gke-cluster.js";
import { applyContext, planContext } from "./kubeconfig-change.js";
import {
  clusterAddress,
  clusterDrift,
  describeSpec,
  type ProvisionInstance,
  type ProvisionPlan,
} from "./spec.js";

type GkeInstance = Extract<ProvisionInstance, { provider: "gke" }>;

export const RUNNING_WAIT = "cluster RUNNING";
const RUNNING_TIMEOUT_MS = 30 * 60_000;
const AUTH = "exec gke-gcloud-auth-plugin";

export async function planGke(instance: GkeInstance, ctx: ReadContext): Promise<ProvisionPlan> {
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
  const planned = await planContext(ctx, context, kubeconfigPatch(ref, cluster, context), known, AUTH);
  changes.push(planned.change);
  return { changes, kubeconfigBefore: planned.before };
}

export async function applyGke(
  instance: GkeInstance,
  changes: Change[],
  kubeconfigBefore: KubeconfigPatch | undefined,
  ctx: WriteContext,
): Promise<void> {
  const { ref, cluster: spec, context } = instance;
  const address = clusterAddress(ref);
  if (changes.some((c) => c.address === address && c.action === "create")) {
    await gkeClusterResource.write(
      { address, action: "create", target: clusterTarget(ref), after: spec },
      ctx,
    );
  }
  const cluster = await waitRunning(gke(ctx), ref, ctx);
  await applyContext(ctx, changes, kubeconfigBefore, context, kubeconfigPatch(ref, cluster, context));
}

export async function verifyGke(instance: GkeInstance, ctx: ReadContext): Promise<string | undefined> {
  const cluster = await gke(ctx).getCluster(instance.ref);
  if (cluster?.status !== "RUNNING")
    return `cluster ${clusterName(instance.ref)} is ${cluster?.status ?? "missing"}`;
  const { change } = await planContext(
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
      ...pollInterval(ctx),
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
