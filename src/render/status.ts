import type { LockHolder } from "../engine/journal/store.js";
import { describePhase, type RunState } from "../engine/run-state.js";
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
  lines.push("", `${state.pending.length} journaled change(s) that rollback would undo.`);
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
    lock: holder ?? null,
    lastTime: state.lastTime ?? null,
  };
}
