import type { Change, ChangeEntry, ReadContext, WriteContext } from "../../engine/types.js";
import { targetOf } from "../../engine/targets.js";
import { tokenKubeconfigPatch, type KubeconfigPatch } from "../../providers/kubernetes/kubeconfig-file.js";
import { sandboxProvisioner, type SandboxCluster } from "../../providers/sandbox-provisioner/index.js";
import { applyContext, planContext } from "./kubeconfig-change.js";
import type { ProvisionInstance, ProvisionPlan } from "./spec.js";

type SandboxInstance = Extract<ProvisionInstance, { provider: "sandbox" }>;

export function sandboxAddress(name: string): string {
  return `sandbox.cluster ${name}`;
}

export async function planSandbox(instance: SandboxInstance, ctx: ReadContext): Promise<ProvisionPlan> {
  const address = sandboxAddress(instance.name);
  const cluster = await sandboxProvisioner(ctx).getCluster(instance.name);
  const planned = await planContext(
    ctx,
    instance.context,
    kubeconfigPatch(instance, cluster),
    cluster !== undefined,
    "token",
  );
  const changes: Change[] = [
    cluster
      ? { action: "no-op", address, detail: `exists at ${cluster.server}` }
      : {
          action: "create",
          address,
          after: { name: instance.name },
          detail: "a new cluster in the running sandbox",
        },
    planned.change,
  ];
  return { changes, kubeconfigBefore: planned.before };
}

export async function applySandbox(
  instance: SandboxInstance,
  changes: Change[],
  kubeconfigBefore: KubeconfigPatch | undefined,
  ctx: WriteContext,
): Promise<void> {
  const port = sandboxProvisioner(ctx);
  const address = sandboxAddress(instance.name);
  let cluster = await port.getCluster(instance.name);
  if (!cluster && changes.some((c) => c.address === address && c.action === "create")) {
    cluster = await ctx.change(
      {
        address,
        action: "create",
        after: { name: instance.name },
        target: { type: "sandbox.cluster", name: instance.name },
      },
      () => port.addCluster(instance.name),
    );
  }
  if (!cluster) throw new Error(`sandbox cluster ${instance.name} is missing after apply: this is a bug`);
  await applyContext(ctx, changes, kubeconfigBefore, instance.context, kubeconfigPatch(instance, cluster));
}

export async function verifySandbox(
  instance: SandboxInstance,
  ctx: ReadContext,
): Promise<string | undefined> {
  const cluster = await sandboxProvisioner(ctx).getCluster(instance.name);
  if (!cluster) return `sandbox cluster ${instance.name} is missing`;
  const { change } = await planContext(
    ctx,
    instance.context,
    kubeconfigPatch(instance, cluster),
    true,
    "token",
  );
  return change.action === "no-op"
    ? undefined
    : `kubeconfig context ${instance.context} does not point at the cluster`;
}

export async function rollbackSandboxCluster(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const { name } = targetOf(entry, "sandbox.cluster");
  if (!ctx.options.destroyProvisioned) {
    ctx.progress.info(
      `kept sandbox cluster ${name}, which this run added: rollback removes clusters only with --destroy-provisioned`,
    );
    return;
  }
  const removed = await sandboxProvisioner(ctx).removeCluster(name);
  ctx.progress.info(removed ? `removed sandbox cluster ${name}` : `sandbox cluster ${name} was already gone`);
}

function kubeconfigPatch(instance: SandboxInstance, cluster: SandboxCluster | undefined) {
  return tokenKubeconfigPatch(
    `sandbox-${instance.name}`,
    cluster?.server ?? "",
    cluster?.token ?? "",
    instance.context,
  );
}
