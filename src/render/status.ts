import type { LockHolder } from "../engine/journal/store.js";
import { describePhase, type RunState } from "../engine/run-state.js";
import { placeOf } from "../engine/targets.js";
import type { ChangeEntry } from "../engine/types.js";
import type { Playbook } from "../playbook/schema.js";

export function renderStatus(
  playbook: Playbook,
  state: RunState,
  location: string,
  holder: LockHolder | undefined,
): string {
  const lines = [`${playbook.metadata.name}: ${describePhase(state)}`, `journal: ${location}`];
  lines.push(
    holder ? `lock: held by pid ${holder.pid} on ${holder.host} since ${holder.since}` : "lock: free",
  );
  if (state.lastTime) lines.push(`last entry: ${state.lastTime}`);
  if (state.steps.size > 0) lines.push("", "steps:");
  for (const [id, step] of state.steps) {
    const outcome = step.verification ? step.verification.outcome : "started, not finished";
    lines.push(`  ${id}: ${outcome}`);
    for (const [gate, gateState] of step.gates) lines.push(`    ? ${gate}: ${gateState}`);
  }
  lines.push(
    "",
    state.finished
      ? `${state.pending.length} journaled change(s), kept as history: rollback no longer undoes them.`
      : `${state.pending.length} journaled change(s) that rollback would undo.`,
  );
  for (const [context, left] of state.skipped) {
    lines.push(
      `${left.length} of them on context ${context}, skipped by a rollback (--skip-context): left as they are.`,
    );
  }
  if (state.finished) {
    lines.push(
      `journal closed by \`clustershift finish\` at ${state.finished}: the migration is final and rollback is no longer possible; ${state.dropped.size} before-image(s) of Secrets and credentials deleted from the state.`,
    );
  } else if (state.closed) {
    lines.push(
      `journal closed: the rollback finished and nothing is left to undo; ${state.dropped.size} before-image(s) of Secrets and credentials deleted from the state.`,
    );
  }
  return lines.join("\n") + "\n";
}

/** What undoing `entry` does, as a plan symbol: a create is deleted, an update restored, a delete re-created. */
const UNDO = { create: "-", update: "~", delete: "+" } as const;

/**
 * What `rollback` will undo, newest first, grouped by step and then by cluster (or DNS zone, cloud resource),
 * before it asks; changes on `skip` contexts are listed apart, as left alone.
 */
export function renderRollbackPreview(
  playbook: string,
  pending: readonly ChangeEntry[],
  skip: readonly string[] = [],
): string {
  const skipped = (entry: ChangeEntry) => {
    const context = placeOf(entry).context;
    return context !== undefined && skip.includes(context);
  };
  const undo = [...pending].reverse().filter((entry) => !skipped(entry));
  const lines = [`Rollback of ${playbook}: ${undo.length} change(s) to undo, newest first:`, ""];
  const steps = new Map<string, Map<string, ChangeEntry[]>>();
  for (const entry of undo) {
    const places = steps.get(entry.step) ?? new Map<string, ChangeEntry[]>();
    steps.set(entry.step, places);
    const label = placeOf(entry).label;
    places.set(label, [...(places.get(label) ?? []), entry]);
  }
  for (const [step, places] of steps) {
    lines.push(step);
    for (const [label, entries] of places) {
      lines.push(`  ${label}`);
      for (const entry of entries) lines.push(`    ${UNDO[entry.action]} ${entry.address}`);
    }
  }
  if (undo.length > 0)
    lines.push(
      "",
      "(- deletes what the run created, ~ restores a before-image, + re-creates what it deleted)",
    );
  const left = pending.filter(skipped);
  for (const context of skip) {
    const count = left.filter((entry) => placeOf(entry).context === context).length;
    if (count > 0)
      lines.push(`Skipped: ${count} change(s) on context ${context} stay as they are, and journaled.`);
  }
  return lines.join("\n") + "\n";
}

export function statusJson(playbook: Playbook, state: RunState, holder: LockHolder | undefined): object {
  return {
    formatVersion: 1,
    playbook: playbook.metadata.name,
    phase: state.phase,
    summary: describePhase(state),
    steps: [...state.steps].map(([id, step]) => ({
      id,
      kind: step.kind,
      verification: step.verification ?? null,
      gates: Object.fromEntries(step.gates),
    })),
    pendingChanges: state.pending.length,
    skipped: Object.fromEntries([...state.skipped].map(([context, left]) => [context, left.length])),
    closed: state.closed,
    finished: state.finished ?? null,
    lock: holder ?? null,
    lastTime: state.lastTime ?? null,
  };
}
