import type { Registry } from "./registry.js";
import type { Step, StepKind, StepPlan } from "./types.js";
import { durationMs } from "../playbook/duration.js";

/** One step instance of a run and the instances it waits for (done, gates passed) before it starts. */
export interface ScheduledStep {
  id: string;
  kind: StepKind;
  /** Step ids, earlier in the run's order. */
  needs: string[];
}

/**
 * The run's steps as a graph: each instance needs the instances of the kinds its step declares (`Step.needs`), a
 * kind absent from the playbook standing for what it needs in turn, and the instance of its own kind before it
 * (`shift-traffic[2]` after `shift-traffic[1]`). A step that declares nothing needs every step before it: a
 * plugin's step runs where it always ran. Needs point backwards only, so the graph has no cycle and the run's order
 * is one of its orders.
 */
export function scheduleOf(
  registry: Pick<Registry, "stepKinds">,
  steps: readonly { step: Pick<Step, "kind" | "needs">; instance: { id: string } }[],
): ScheduledStep[] {
  const declared = new Map<StepKind, readonly StepKind[] | undefined>(
    registry.stepKinds().map((step) => [step.kind, step.needs]),
  );
  const scheduled: ScheduledStep[] = [];
  for (const { step, instance } of steps) {
    const earlier = scheduled.map((s) => s.id);
    const previous = scheduled.at(-1);
    const ids = new Set<string>();
    if (step.needs === undefined) earlier.forEach((id) => ids.add(id));
    else for (const id of resolveKinds(step.needs, scheduled, declared, new Set([step.kind]))) ids.add(id);
    if (previous?.kind === step.kind) ids.add(previous.id);
    scheduled.push({ id: instance.id, kind: step.kind, needs: earlier.filter((id) => ids.has(id)) });
  }
  return scheduled;
}

function resolveKinds(
  kinds: readonly StepKind[],
  earlier: readonly ScheduledStep[],
  declared: ReadonlyMap<StepKind, readonly StepKind[] | undefined>,
  seen: Set<StepKind>,
): string[] {
  const ids: string[] = [];
  for (const kind of kinds) {
    if (seen.has(kind)) continue;
    seen.add(kind);
    const present = earlier.filter((s) => s.kind === kind);
    if (present.length > 0) ids.push(...present.map((s) => s.id));
    else if (!declared.has(kind)) continue;
    else {
      const needs = declared.get(kind);
      // An absent kind that declares nothing stood after everything before it.
      if (needs === undefined) ids.push(...earlier.map((s) => s.id));
      else ids.push(...resolveKinds(needs, earlier, declared, seen));
    }
  }
  return ids;
}

/** A step's waits the plan can put a number on: `wait` changes that say how long, and `pause` gates. */
export function expectedWaitMs(plan: Pick<StepPlan, "changes" | "gates">): number | undefined {
  let total: number | undefined;
  for (const change of plan.changes) {
    if (change.action === "wait" && change.expectedMs !== undefined) total = (total ?? 0) + change.expectedMs;
  }
  for (const gate of plan.gates) {
    if (gate.gate.type !== "pause" || typeof gate.gate.duration !== "string") continue;
    total = (total ?? 0) + durationMs(gate.gate.duration);
  }
  return total;
}

export interface CriticalPath {
  /** The chain of step ids whose waits add up to the longest, first to last. */
  steps: string[];
  /** Their expected waits added up: how long the run takes at least. */
  ms: number;
  /** Every step's expected waits added up: how long the run took, one step after another. */
  sumMs: number;
}

/** The longest chain of expected waits through the graph (steps without a known wait count as none). */
export function criticalPath(
  schedule: readonly ScheduledStep[],
  waitMs: ReadonlyMap<string, number | undefined>,
): CriticalPath {
  const finish = new Map<string, { ms: number; via?: string }>();
  let sumMs = 0;
  for (const step of schedule) {
    const own = waitMs.get(step.id) ?? 0;
    sumMs += own;
    let start = 0;
    let via: string | undefined;
    for (const need of step.needs) {
      const at = finish.get(need)?.ms ?? 0;
      // Ties go to the latest need: the chain it names then runs through the steps in between.
      if (via === undefined || at >= start) [start, via] = [at, need];
    }
    finish.set(step.id, { ms: start + own, ...(via === undefined ? {} : { via }) });
  }
  let last: string | undefined;
  let ms = 0;
  for (const [id, at] of finish) {
    // The latest step that ends last: the path runs to the end of the run, through steps without waits too.
    if (last === undefined || at.ms >= ms) [last, ms] = [id, at.ms];
  }
  const steps: string[] = [];
  for (let id = last; id !== undefined; id = finish.get(id)?.via) steps.unshift(id);
  return { steps, ms, sumMs };
}

/** What `plan` shows of the schedule: the steps still to run, what each waits for, and the longest chain of waits. */
export interface PlanSchedule {
  /** In the run's order; `needs` names only steps still to run (the done ones are behind the run already). */
  steps: { id: string; needs: string[]; expectedMs?: number }[];
  criticalPath: { steps: string[]; expectedMs: number };
  /** Every step's expected waits added up: how long the run would wait, one step after another. */
  sumMs: number;
}

/**
 * The schedule of a planned run. A step done with no gate left is left out; one done whose gate still holds the run
 * (an approval) stays, its waits being those gates. The graph is computed over every step first, so that a need on
 * a done step resolves as it does in the run (to that step, then dropped as met), not to what stood before it.
 */
export function planSchedule(
  registry: Pick<Registry, "stepKinds">,
  planned: readonly {
    step: Pick<Step, "kind" | "needs">;
    instance: { id: string };
    plan: Pick<StepPlan, "changes" | "gates">;
    done?: boolean;
  }[],
): PlanSchedule {
  const left = new Set(
    planned.filter((s) => !(s.done === true && s.plan.gates.length === 0)).map((s) => s.instance.id),
  );
  const waits = new Map(planned.map((s) => [s.instance.id, expectedWaitMs(s.plan)]));
  const schedule = scheduleOf(registry, planned)
    .filter((s) => left.has(s.id))
    .map((s) => ({ ...s, needs: s.needs.filter((id) => left.has(id)) }));
  const path = criticalPath(schedule, waits);
  return {
    steps: schedule.map(({ id, needs }) => {
      const expectedMs = waits.get(id);
      return { id, needs, ...(expectedMs === undefined ? {} : { expectedMs }) };
    }),
    criticalPath: { steps: path.steps, expectedMs: path.ms },
    sumMs: path.sumMs,
  };
}

/**
 * The steps of the schedule beside its critical path, as chains (each step joins the first chain whose last step
 * it needs, directly or through others; else it starts one): what runs side by side with the path. Empty when the
 * steps run one after another, each needing the one before it.
 */
export function branchesBeside(schedule: Pick<PlanSchedule, "steps" | "criticalPath">): string[][] {
  const reach = reachOf(schedule.steps);
  const onPath = new Set(schedule.criticalPath.steps);
  const chains: string[][] = [];
  for (const { id } of schedule.steps) {
    if (onPath.has(id)) continue;
    const chain = chains.find((c) => reach.get(id)?.has(c.at(-1) ?? ""));
    if (chain) chain.push(id);
    else chains.push([id]);
  }
  return chains;
}

/** Whether some step can run beside another: one that does not need (even through others) the step before it. */
export function hasBranches(steps: PlanSchedule["steps"]): boolean {
  const reach = reachOf(steps);
  return steps.some((s, i) => i > 0 && !reach.get(s.id)?.has(steps[i - 1]?.id ?? ""));
}

/** Per step, every step it needs, directly or through others. */
function reachOf(steps: PlanSchedule["steps"]): Map<string, Set<string>> {
  const reach = new Map<string, Set<string>>();
  for (const { id, needs } of steps) {
    const all = new Set<string>();
    for (const need of needs) {
      all.add(need);
      for (const further of reach.get(need) ?? []) all.add(further);
    }
    reach.set(id, all);
  }
  return reach;
}
