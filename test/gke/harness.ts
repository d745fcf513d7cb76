import type { ChangeEntry, Step, StepPlan, Verification, WriteContext } from "../../src/engine/types.js";
import { playbookSchema } from "../../src/playbook/schema.js";
import { istioCrdYaml } from "../support/fixtures.js";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";
import {
  GKE_PROVISION,
  playbookDocument,
  stepHarness,
  unjournaled,
  type StepHarness,
} from "../support/step-harness.js";

/**
 * One step driven without the engine, on the shared in-memory journal: plan, apply and verify each instance
 * as the executor does, and roll back newest first, one entry at a time, without journaling again.
 */
export class StepRunner<S> {
  private readonly harness: StepHarness;
  readonly ctx: WriteContext;

  constructor(
    private readonly step: Step<S>,
    playbook: unknown,
    options: {
      kubeconfig: string;
      destroyProvisioned?: boolean;
      gkeTiming?: { pollIntervalMs?: number; retryDelayMs?: number };
    },
  ) {
    this.harness = stepHarness({
      kubeconfig: options.kubeconfig,
      playbook: playbookSchema.parse(playbook),
      step: step.kind,
      kind: step.kind,
    });
    const base = this.harness.ctx;
    this.ctx = {
      ...base,
      options: {
        ...base.options,
        ...(options.destroyProvisioned ? { destroyProvisioned: true } : {}),
        ...(options.gkeTiming ? { gkeTiming: options.gkeTiming } : {}),
      },
    };
  }

  get entries(): ChangeEntry[] {
    return this.harness.entries;
  }

  get applied(): Set<number> {
    return this.harness.applied;
  }

  /** Progress lines: `wait ADDRESS: DETAIL`, `info MESSAGE`, `warn MESSAGE`. */
  get events(): string[] {
    return this.harness.progress.lines;
  }

  get clients(): Map<string, unknown> {
    return this.ctx.clients;
  }

  async plan(): Promise<StepPlan[]> {
    const plans: StepPlan[] = [];
    for (const instance of this.step.expand(this.ctx.playbook))
      plans.push(await this.step.plan(instance, this.ctx));
    return plans;
  }

  async apply(): Promise<{ plans: StepPlan[]; verifications: Verification[] }> {
    const plans = await this.plan();
    const verifications: Verification[] = [];
    for (const plan of plans) {
      await this.step.apply(plan, this.ctx);
      verifications.push(await this.step.verify(plan, this.ctx));
    }
    return { plans, verifications };
  }

  /** The journal stays, so a second call shows that rollback is idempotent. */
  async rollback(): Promise<void> {
    const undo = unjournaled(this.ctx);
    for (const entry of this.harness.rollbackEntries())
      await this.step.rollback([structuredClone(entry)], undo);
  }
}

/** A sandbox of only the source cluster, with Istio's CRDs, for a target the steps provision in it. */
export function sourceOnlySandbox(): Promise<TestSandbox> {
  return withSandbox({
    clusters: ["source"],
    istio: { crdYaml: istioCrdYaml() },
    readyDelayMs: 20,
    loadBalancerDelayMs: 50,
  });
}

/** A playbook whose target is provisioned on GKE with managed mesh; `target` overrides parts of it. */
export function gkePlaybook(target: Record<string, unknown> = {}): Record<string, unknown> {
  return playbookDocument("to-csm", {
    source: { context: "cluster-with-istio" },
    target: {
      context: "cluster-with-csm",
      provision: { ...GKE_PROVISION, mesh: { management: "automatic", revision: "asm-managed" } },
      ...target,
    },
  });
}
