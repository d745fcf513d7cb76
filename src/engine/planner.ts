import type { Registry } from "./registry.js";
import type { ReadContext, Step, StepInstance, StepPlan } from "./types.js";

export interface PlannedStep {
  step: Step<unknown>;
  instance: StepInstance<unknown>;
  plan: StepPlan;
}

export interface RunPlan {
  playbook: string;
  steps: PlannedStep[];
}

/** The enabled step instances, in the registry's order (DESIGN.md's default order for the built-ins). */
export function expandSteps(registry: Registry, ctx: Pick<ReadContext, "playbook">) {
  return registry
    .stepKinds()
    .flatMap((step) => step.expand(ctx.playbook).map((instance) => ({ step, instance })));
}

/** Asks every enabled step for its changes. Reads only. */
export async function planRun(registry: Registry, ctx: ReadContext): Promise<RunPlan> {
  const steps: PlannedStep[] = [];
  for (const { step, instance } of expandSteps(registry, ctx)) {
    steps.push({ step, instance, plan: await step.plan(instance, ctx) });
  }
  return { playbook: ctx.playbook.metadata.name, steps };
}
