import { NO_CHANGES, type RunPlan } from "../engine/planner.js";
import { ACTION_SYMBOL, type Change, type StepPlan } from "../engine/types.js";
import { sensitiveSummary } from "./redact.js";

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  waits: number;
  gates: number;
  unchanged: number;
}

export function summarize(steps: readonly StepPlan[]): PlanSummary {
  const summary: PlanSummary = { create: 0, update: 0, delete: 0, waits: 0, gates: 0, unchanged: 0 };
  for (const step of steps) {
    for (const change of step.changes) {
      if (change.action === "wait") summary.waits += 1;
      else if (change.action === "no-op") summary.unchanged += 1;
      else summary[change.action] += 1;
    }
    summary.gates += step.gates.length;
  }
  return summary;
}

export function summaryLine(summary: PlanSummary): string {
  return `Plan: ${summary.create} to create, ${summary.update} to update, ${summary.delete} to delete, ${summary.waits} waits, ${summary.gates} gates.`;
}

/**
 * Terraform-like lines grouped by step: `+` create, `~` update, `-` delete, `=` wait, `?` gate. Steps the journal
 * shows done say `(done)` and propose nothing.
 */
export function renderPlanText(plan: RunPlan, source: string): string {
  const steps = plan.steps.map((s) => s.plan);
  const done = new Set(plan.steps.filter((s) => s.done).map((s) => s.plan.id));
  const lines = [`Plan for ${plan.playbook} (${source}):`, ""];
  if (steps.length === 0) lines.push("  No steps are enabled: the playbook has only source and target.", "");
  for (const step of steps) {
    if (done.has(step.id)) {
      lines.push(`${step.id}: ${step.title}  (done)`);
      for (const gate of step.gates) lines.push(`  ? ${gate.detail}  (on failure: ${gate.onFailure})`);
      lines.push("");
      continue;
    }
    lines.push(`${step.id}: ${step.title}`);
    for (const change of step.changes) {
      const detail = change.detail ? `  ${change.detail}` : change.action === "no-op" ? "  (no change)" : "";
      lines.push(`  ${ACTION_SYMBOL[change.action]} ${change.address}${detail}`);
    }
    for (const gate of step.gates) lines.push(`  ? ${gate.detail}  (on failure: ${gate.onFailure})`);
    if (step.changes.length === 0 && step.gates.length === 0) lines.push("    (nothing to do)");
    lines.push("");
  }
  if (plan.complete) {
    lines.push(NO_CHANGES);
    return lines.join("\n") + "\n";
  }
  if (done.size > 0) lines.push(`${done.size} of ${steps.length} steps done; the plan shows what remains.`);
  lines.push(summaryLine(summarize(steps)));
  return lines.join("\n") + "\n";
}

export const PLAN_FORMAT_VERSION = 1;

/** The plan as data for tools (`-o json`); sensitive images are replaced by `(sensitive: N keys)`. */
export function planJson(plan: RunPlan): object {
  const steps = plan.steps.map((s) => s.plan);
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    playbook: plan.playbook,
    complete: plan.complete,
    ...(plan.complete ? { message: NO_CHANGES } : {}),
    steps: plan.steps.map(({ plan: step, done }) => ({
      id: step.id,
      kind: step.kind,
      title: step.title,
      done: done === true,
      changes: step.changes.map(redactChange),
      gates: step.gates,
    })),
    summary: summarize(steps),
  };
}

export function redactChange(change: Change): Change {
  if (!("sensitive" in change) || !change.sensitive) return change;
  const copy = { ...change } as Record<string, unknown>;
  for (const key of ["before", "after"]) if (key in copy) copy[key] = sensitiveSummary(copy[key]);
  return copy as Change;
}
