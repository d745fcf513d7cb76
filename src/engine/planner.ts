import { placeChanges } from "./change-context.js";
import { messageOf, UsageError } from "./errors.js";
import { preflightError, problemsOf } from "./preflight.js";
import type { Registry } from "./registry.js";
import { gatePassed, isStepDone, type RunState } from "./run-state.js";
import { planSchedule, type PlanSchedule } from "./schedule.js";
import type { ReadContext, Step, StepInstance, StepPlan } from "./types.js";

/** What a finished migration plans as, in text and (`complete: true`) in JSON, and what apply then says. */
export const NO_CHANGES = "No changes. The migration is complete.";

export interface PlannedStep {
  step: Step<unknown>;
  instance: StepInstance<unknown>;
  plan: StepPlan;
  /**
   * Applied and verified by this run, as its journal says: the plan holds no changes (none is proposed again,
   * let alone one that undoes it), only the gates that have not passed yet.
   */
  done?: boolean;
}

export interface RunPlan {
  playbook: string;
  steps: PlannedStep[];
  /** Every enabled step is done and every gate passed: the migration is complete, there is nothing to do. */
  complete: boolean;
  /** The kubeconfig contexts of the playbook's clusters, which plan output calls `source` and `target`. */
  contexts?: { source: string; target: string };
  /** The steps still to run as the executor will run them: what each needs, and the longest chain of waits. */
  schedule?: PlanSchedule;
}

/** The enabled step instances, in the registry's order (DESIGN.md's default order for the built-ins). */
export function expandSteps(registry: Registry, ctx: Pick<ReadContext, "playbook">) {
  return registry
    .stepKinds()
    .flatMap((step) => step.expand(ctx.playbook).map((instance) => ({ step, instance })));
}

/**
 * Asks every enabled step that is not done for its changes, computed from where the world stands now. Steps the
 * journal (`state`) shows done are not planned again: a step planned after the run moved on would propose to undo
 * what later steps did (a traffic weight of 10 after the run reached 100). Reads only.
 */
export async function planRun(registry: Registry, ctx: ReadContext, state?: RunState): Promise<RunPlan> {
  const expanded = expandSteps(registry, ctx);
  if (state?.finished !== undefined) refuseClosedJournal(ctx.playbook.metadata.name, state, expanded);
  const checks = registry.preflights();
  // Everything that can be checked before the first write is, and reported at once (STYLE.md: collect all the
  // diagnostics, then report): the references the playbook makes, each step's own checks, then access.
  const pendingKinds = new Set(
    expanded
      .filter(({ instance }) => !(state && isStepDone(state, instance.id)))
      .map(({ step }) => step.kind),
  );
  const problems = (
    await Promise.all(checks.map(async (check) => (await check.references?.(ctx, pendingKinds)) ?? []))
  ).flat();
  const steps: PlannedStep[] = [];
  for (const { step, instance } of expanded) {
    if (state && isStepDone(state, instance.id)) {
      steps.push({ step, instance, plan: await donePlan(step, instance, ctx, state), done: true });
      continue;
    }
    try {
      steps.push({ step, instance, plan: placeChanges(step.kind, await step.plan(instance, ctx)) });
    } catch (error) {
      if (ctx.signal.aborted || !(error instanceof UsageError || problems.length > 0)) throw error;
      if (error instanceof UsageError) problems.push(...problemsOf(error));
      // Another failure after a problem was found: listed with it, unless that problem is its cause.
      else if (!problems.some((p) => p.steps?.includes(step.kind)))
        problems.push({ message: `${instance.id}: ${messageOf(error)}` });
    }
  }
  const pending = steps.filter((s) => !s.done).map((s) => s.plan);
  problems.push(
    ...(await Promise.all(checks.map(async (check) => (await check.access?.(ctx, pending)) ?? []))).flat(),
  );
  if (problems.length > 0) throw await preflightError(ctx.options.playbookFile, problems);
  const complete = steps.length > 0 && steps.every((s) => s.done && s.plan.gates.length === 0);
  const { source, target } = ctx.playbook.spec;
  return {
    playbook: ctx.playbook.metadata.name,
    steps,
    complete,
    contexts: { source: source.context, target: target.context },
    schedule: planSchedule(registry, steps),
  };
}

/**
 * After `clustershift finish` the journal is closed: a playbook that gained a step (or lost a gate's pass) would
 * append to it, and that change could never be rolled back. Refused before any step is planned.
 */
function refuseClosedJournal(
  playbook: string,
  state: RunState,
  expanded: { instance: StepInstance<unknown> }[],
): void {
  const open = expanded.filter(({ instance }) => !isStepDone(state, instance.id)).map((s) => s.instance.id);
  if (open.length === 0) return;
  throw new UsageError(
    `\`clustershift finish\` closed the migration ${playbook} at ${state.finished ?? "?"}; the playbook now has ` +
      `steps it did not run (${open.join(", ")}), and a closed journal takes no more changes. ` +
      "Make them a new migration: a playbook with another metadata.name.",
  );
}

/** A done step: no changes; its gates that have not passed yet (an approval the run waits at), from a re-plan. */
async function donePlan(
  step: Step<unknown>,
  instance: StepInstance<unknown>,
  ctx: ReadContext,
  state: RunState,
): Promise<StepPlan> {
  const planned = state.steps.get(instance.id)?.plannedGates;
  const bare: StepPlan = { id: instance.id, kind: step.kind, title: instance.title, changes: [], gates: [] };
  // The journal names the gates the step was planned with: when all passed, no re-plan is needed to know it.
  if (planned?.every((address) => gatePassed(state, instance.id, address))) return bare;
  const fresh = await step.plan(instance, ctx);
  const open = fresh.gates.filter((gate) => !gatePassed(state, instance.id, gate.address));
  return { ...fresh, changes: [], gates: open };
}
