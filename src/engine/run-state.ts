import { UsageError } from "./errors.js";
import { STEP_STOPPED_NOTE } from "./events.js";
import type { ChangeEntry, JournalEntry, NoteEntry, StepKind, Verification } from "./types.js";

export type GateState = "waiting" | "passed" | "failed" | "promoted";

export interface StepState {
  kind: StepKind;
  started: boolean;
  verification?: Verification;
  /** Addresses of the gates planned when the step started (absent in journals written before they were kept). */
  plannedGates?: string[];
  gates: Map<string, GateState>;
  /** The step that stopped the run while this one ran beside it (it did not fail); gone once it runs again. */
  stoppedBy?: string;
}

export type RunPhase =
  | { phase: "not-started" }
  | { phase: "in-progress"; step?: string }
  | { phase: "waiting-for-approval"; step: string; gate: string }
  | { phase: "paused"; step: string; gate: string; reason: string }
  | { phase: "completed" }
  | { phase: "rolling-back" }
  | { phase: "rolled-back"; kinds?: StepKind[] };

/** Where a run stands, folded from its journal. Pure. */
export interface RunState {
  phase: RunPhase;
  steps: Map<string, StepState>;
  /** Change records not yet reverted, oldest first. */
  pending: ChangeEntry[];
  /** Notes of steps not rolled back since, oldest first. */
  notes: NoteEntry[];
  applied: Set<number>;
  /** Contexts a rollback skipped, with their changes that are still pending. */
  skipped: Map<string, ChangeEntry[]>;
  /** Changes whose sensitive images were deleted from the state. */
  dropped: Set<number>;
  /**
   * The run was rolled back whole and nothing is left to undo: the journal is closed (only history), and the
   * before-images of Secrets and credentials are deleted.
   */
  closed: boolean;
  /**
   * When `clustershift finish` closed the completed migration (also `closed`): its changes stay journaled as
   * history, but rollback refuses them.
   */
  finished?: string;
  lastTime?: string;
}

export function foldJournal(entries: readonly JournalEntry[]): RunState {
  const steps = new Map<string, StepState>();
  const changes = new Map<number, ChangeEntry>();
  const applied = new Set<number>();
  const skippedRefs = new Map<string, Set<number>>();
  const dropped = new Set<number>();
  let notes: NoteEntry[] = [];
  let phase: RunPhase = { phase: "not-started" };
  let finished: string | undefined;

  for (const entry of entries) {
    switch (entry.type) {
      case "run-started":
        phase = { phase: "in-progress" };
        for (const step of steps.values()) delete step.stoppedBy;
        break;
      case "step-started":
        steps.set(entry.step, {
          kind: entry.kind,
          started: true,
          gates: steps.get(entry.step)?.gates ?? new Map<string, GateState>(),
          ...(entry.gates ? { plannedGates: entry.gates } : {}),
        });
        phase = { phase: "in-progress", step: entry.step };
        break;
      case "change":
        changes.set(entry.seq, entry);
        break;
      case "change-applied":
        applied.add(entry.ref);
        break;
      case "step-finished": {
        const step = steps.get(entry.step);
        if (step) step.verification = entry.verification;
        break;
      }
      case "gate": {
        const step = steps.get(entry.step);
        step?.gates.set(entry.address, entry.state);
        if (entry.state === "waiting")
          phase = { phase: "waiting-for-approval", step: entry.step, gate: entry.address };
        else if (phase.phase === "waiting-for-approval" || phase.phase === "paused")
          phase = { phase: "in-progress", step: entry.step };
        break;
      }
      case "run-paused":
        phase = { phase: "paused", step: entry.step, gate: entry.gate, reason: entry.reason };
        break;
      case "run-finished":
        phase = { phase: "completed" };
        break;
      case "rollback-started":
        phase = { phase: "rolling-back" };
        break;
      case "change-reverted":
        changes.delete(entry.ref);
        break;
      case "rollback-finished": {
        // A rolled-back step starts over when applied again: what it noted before no longer holds.
        const rolledBack = (step: string) => {
          const kind = steps.get(step)?.kind;
          return !entry.kinds || (kind !== undefined && entry.kinds.includes(kind));
        };
        notes = notes.filter((note) => !rolledBack(note.step));
        for (const [id, step] of steps) {
          if (!entry.kinds || entry.kinds.includes(step.kind)) steps.delete(id);
        }
        phase = entry.kinds ? { phase: "rolled-back", kinds: entry.kinds } : { phase: "rolled-back" };
        break;
      }
      case "note": {
        notes.push(entry);
        const step = entry.note === STEP_STOPPED_NOTE ? steps.get(entry.step) : undefined;
        const by = (entry.data as { by?: unknown } | undefined)?.by;
        if (step && typeof by === "string") step.stoppedBy = by;
        break;
      }
      case "rollback-skipped":
        skippedRefs.set(entry.context, new Set([...(skippedRefs.get(entry.context) ?? []), ...entry.refs]));
        break;
      case "sensitive-dropped":
        for (const ref of entry.refs) dropped.add(ref);
        break;
      case "journal-closed":
        // finish refuses unless every step is done: the run is complete even if its last record was lost.
        phase = { phase: "completed" };
        finished = entry.time;
        break;
    }
  }
  const last = entries.at(-1);
  const pending = [...changes.values()];
  const skipped = new Map<string, ChangeEntry[]>();
  for (const [context, refs] of skippedRefs) {
    const left = pending.filter((entry) => refs.has(entry.seq));
    if (left.length > 0) skipped.set(context, left);
  }
  const closed =
    finished !== undefined ||
    (phase.phase === "rolled-back" && phase.kinds === undefined && pending.length === 0);
  const state: RunState = { phase, steps, pending, notes, applied, skipped, dropped, closed };
  if (finished !== undefined) state.finished = finished;
  if (last) state.lastTime = last.time;
  return state;
}

/** Applied and verified (or not verifiable): a resumed run skips it. */
export function isStepDone(state: RunState, id: string): boolean {
  const outcome = state.steps.get(id)?.verification?.outcome;
  return outcome === "passed" || outcome === "not-supported";
}

export function gatePassed(state: RunState, stepId: string, address: string): boolean {
  const gate = state.steps.get(stepId)?.gates.get(address);
  return gate === "passed" || gate === "promoted";
}

/** One line for users: where the run stands. */
export function describePhase(state: RunState): string {
  const { phase } = state;
  switch (phase.phase) {
    case "not-started":
      return "not started";
    case "in-progress":
      return phase.step
        ? `in progress at ${phase.step} (running, or interrupted: see the lock)`
        : "in progress";
    case "waiting-for-approval":
      return `waiting for approval at ${phase.step} (${phase.gate})`;
    case "paused":
      return `paused at ${phase.step}: ${phase.reason}`;
    case "completed":
      return state.finished ? "completed and finished; the journal is closed" : "completed";
    case "rolling-back":
      return "rolling back (interrupted: run `clustershift rollback` to finish)";
    case "rolled-back": {
      if (phase.kinds) return `rolled back (${phase.kinds.join(", ")})`;
      const skipped = [...state.skipped].map(([context, left]) => `${left.length} on context ${context}`);
      if (skipped.length > 0)
        return `rolled back except the skipped change(s): ${skipped.join(", ")} (run \`clustershift rollback\` again once reachable)`;
      return state.closed ? "rolled back; the journal is closed" : "rolled back";
    }
  }
}

/**
 * Rollback after `clustershift finish` is refused whole: the Secrets' and credentials' before-images are deleted,
 * so a rollback could restore only part of the world while saying it restored it; finish said the migration is
 * final. Going back is a new migration, from the target to the source.
 */
export function refuseIfFinished(playbook: string, state: RunState): void {
  if (state.finished === undefined) return;
  throw new UsageError(
    `rollback refused: \`clustershift finish\` closed the migration ${playbook} at ${state.finished}; its changes ` +
      "are final and the before-images of Secrets and credentials are deleted, so nothing can be rolled back. " +
      "To go back, migrate again the other way: a playbook from the target to the source.",
  );
}
