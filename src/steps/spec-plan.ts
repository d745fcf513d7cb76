import type { Change, StepInstance, StepKind, StepPlan } from "../engine/types.js";

/** A plan without gates whose `data` is the instance's spec: all that its apply and verify need besides it. */
export function specPlan<Spec>(kind: StepKind, instance: StepInstance<Spec>, changes: Change[]): StepPlan {
  return { id: instance.id, kind, title: instance.title, changes, gates: [], data: instance.spec };
}

/** The spec a {@link specPlan} carries. */
export function specOf<Spec>(plan: StepPlan): Spec {
  return plan.data as Spec;
}
