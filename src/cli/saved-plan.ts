import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { planDrift } from "../engine/drift.js";
import { UsageError } from "../engine/errors.js";
import type { RunPlan } from "../engine/planner.js";
import type { JournalEntry, StepPlan } from "../engine/types.js";
import { redactChange } from "../render/plan.js";

export const SAVED_PLAN_KIND = "ClusterShiftSavedPlan";

/**
 * 2: changes carry their `context` (plan format 2). A version-1 file differs only by lacking it, which apply never
 * reads (it re-plans and compares before/after images), so both are carried out; a newer one is refused.
 */
export const SAVED_PLAN_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

/**
 * `clustershift plan --out FILE`: the plan with what it was made from (the playbook's bytes by SHA-256, the journal
 * as far as it went) and the before-values it observed. Secret values never reach the file: sensitive images are
 * `(sensitive: N keys)`, here and when a fresh plan is compared with it.
 */
export interface SavedPlan {
  kind: typeof SAVED_PLAN_KIND;
  formatVersion: 1 | 2;
  playbook: { file: string; name: string; sha256: string };
  stateDir: string;
  /** Sequence number of the last journal entry when planned; 0 for none. */
  journalSeq: number;
  complete: boolean;
  steps: { id: string; done: boolean; plan: StepPlan }[];
}

export async function playbookDigest(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

export async function savePlan(
  out: string,
  plan: RunPlan,
  playbookFile: string,
  stateDir: string,
  entries: readonly JournalEntry[],
): Promise<void> {
  const saved: SavedPlan = {
    kind: SAVED_PLAN_KIND,
    formatVersion: SAVED_PLAN_VERSION,
    playbook: {
      file: resolve(playbookFile),
      name: plan.playbook,
      sha256: await playbookDigest(playbookFile),
    },
    stateDir: resolve(stateDir),
    journalSeq: entries.at(-1)?.seq ?? 0,
    complete: plan.complete,
    steps: plan.steps.map(({ plan: step, done }) => ({
      id: step.id,
      done: done === true,
      plan: redacted(step),
    })),
  };
  await writeFile(out, JSON.stringify(saved, null, 2) + "\n", { mode: 0o600 });
}

export async function loadSavedPlan(file: string): Promise<SavedPlan> {
  let saved: Partial<SavedPlan>;
  try {
    saved = JSON.parse(await readFile(file, "utf8")) as Partial<SavedPlan>;
  } catch (error) {
    throw new UsageError(`${file}: not a saved plan (${(error as Error).message})`);
  }
  if (saved.kind !== SAVED_PLAN_KIND || !saved.playbook || !saved.steps) {
    throw new UsageError(`${file}: not a saved plan of this clustershift (kind ${String(saved.kind)})`);
  }
  if (!READABLE_VERSIONS.includes(Number(saved.formatVersion))) {
    throw new UsageError(
      `${file}: a saved plan of format ${String(saved.formatVersion)}; this clustershift reads formats ` +
        `${READABLE_VERSIONS.join(" and ")}. Run \`clustershift plan --out FILE\` again with this version.`,
    );
  }
  return saved as SavedPlan;
}

/** Why `saved` no longer holds, one line each: the playbook, the journal or the world moved since. Empty: it holds. */
export async function savedPlanDrift(
  saved: SavedPlan,
  fresh: RunPlan,
  entries: readonly JournalEntry[],
): Promise<string[]> {
  const lines: string[] = [];
  const digest = await playbookDigest(saved.playbook.file).catch(() => "(unreadable)");
  if (digest !== saved.playbook.sha256)
    lines.push(`the playbook ${saved.playbook.file} changed since the plan`);
  const seq = entries.at(-1)?.seq ?? 0;
  if (seq !== saved.journalSeq)
    lines.push(`the journal moved since the plan (entry ${saved.journalSeq} then, ${seq} now)`);
  const savedById = new Map(saved.steps.map((step) => [step.id, step]));
  const freshIds = fresh.steps.map((step) => step.plan.id);
  if (freshIds.join(",") !== saved.steps.map((step) => step.id).join(","))
    lines.push(
      `the steps are now ${freshIds.join(", ")}; the plan had ${saved.steps.map((s) => s.id).join(", ")}`,
    );
  for (const { plan: step, done } of fresh.steps) {
    const before = savedById.get(step.id);
    if (!before) continue;
    if (before.done !== (done === true)) lines.push(`${step.id}: ${done ? "done now" : "no longer done"}`);
    const now = redacted(step);
    for (const line of planDrift(before.plan, now)) lines.push(`${step.id}: ${line}`);
    // Both ways: a change of the saved plan that the world no longer needs is drift as much as a new one.
    const planned = new Set(now.changes.filter((c) => c.action !== "no-op").map((c) => c.address));
    for (const change of before.plan.changes) {
      if (change.action !== "no-op" && change.action !== "wait" && !planned.has(change.address))
        lines.push(
          `${step.id}: ${change.address}: planned ${change.action}, no longer needed (changed since the plan)`,
        );
    }
    const gates = (plan: StepPlan) => plan.gates.map((gate) => gate.address).join(",");
    if (gates(before.plan) !== gates(now)) lines.push(`${step.id}: its gates changed`);
  }
  return lines;
}

function redacted(step: StepPlan): StepPlan {
  const { data: _data, ...rest } = step;
  return { ...rest, changes: step.changes.map(redactChange) };
}
