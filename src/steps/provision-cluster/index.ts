import type { ChangeEntry, Step, WriteContext } from "../../engine/types.js";
import { targetOf } from "../../engine/targets.js";
import { gkeClusterResource } from "../../resources/gke-cluster.js";
import { kubeconfigContextResource } from "../../resources/kubeconfig-context.js";
import { specOf, specPlan } from "../spec-plan.js";
import { applyGke, planGke, verifyGke } from "./gke.js";
import { applySandbox, planSandbox, rollbackSandboxCluster, verifySandbox } from "./sandbox.js";
import { provisionInstance, type ProvisionInstance, type ProvisionPlanData } from "./spec.js";

export type { ProvisionInstance } from "./spec.js";

/**
 * Creates the target cluster (`gcloud container clusters create … --workload-pool`, or a new sandbox cluster)
 * and writes its kubeconfig context. An existing cluster that matches is adopted; one that differs stops the
 * plan. Rollback removes the context; it deletes the cluster only with --destroy-provisioned.
 */
export const provisionClusterStep: Step<ProvisionInstance> = {
  kind: "provision-cluster",
  needs: [],

  expand(playbook) {
    const instance = provisionInstance(playbook);
    if (!instance) return [];
    const what =
      instance.provider === "gke" ? `GKE cluster ${instance.ref.name}` : `sandbox cluster ${instance.name}`;
    return [
      { id: "provision-cluster", title: `Provision ${what} as context ${instance.context}`, spec: instance },
    ];
  },

  async plan(instance, ctx) {
    const spec = instance.spec;
    const { changes, kubeconfigBefore } =
      spec.provider === "gke" ? await planGke(spec, ctx) : await planSandbox(spec, ctx);
    const data: ProvisionPlanData = { ...spec, kubeconfigBefore };
    return { ...specPlan("provision-cluster", instance, changes), data };
  },

  async apply(plan, ctx) {
    const { kubeconfigBefore, ...spec } = specOf<ProvisionPlanData>(plan);
    if (spec.provider === "gke") await applyGke(spec, plan.changes, kubeconfigBefore, ctx);
    else await applySandbox(spec, plan.changes, kubeconfigBefore, ctx);
  },

  async verify(plan, ctx) {
    const spec = specOf<ProvisionInstance>(plan);
    const problem = spec.provider === "gke" ? await verifyGke(spec, ctx) : await verifySandbox(spec, ctx);
    return problem ? { outcome: "failed", detail: problem } : { outcome: "passed" };
  },

  async rollback(entries, ctx) {
    for (const entry of entries) await rollbackEntry(entry, ctx);
  },
};

async function rollbackEntry(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const target = targetOf(entry, "kubeconfig.context", "gke.cluster", "sandbox.cluster");
  switch (target.type) {
    case "kubeconfig.context":
      await kubeconfigContextResource.revert(entry, ctx);
      return;
    case "gke.cluster":
      await gkeClusterResource.revert(entry, ctx);
      return;
    case "sandbox.cluster":
      await rollbackSandboxCluster(entry, ctx);
      return;
  }
}
