import { STEP_FAILED_NOTE } from "../engine/events.js";
import type { LockHolder } from "../engine/journal/store.js";
import { describePhase, type RunState } from "../engine/run-state.js";
import { placeOf } from "../engine/targets.js";
import type { ChangeEntry, JournalEntry } from "../engine/types.js";
import type { Playbook } from "../playbook/schema.js";
import { plural } from "./words.js";

/** The error that stopped the run, as journaled (see STEP_FAILED_NOTE). */
export interface StepFailure {
  step: string;
  /** A gate that could not run (not one that failed: those journal their own outcome). */
  gate?: string;
  error: string;
  time: string;
}

/**
 * The failure the run stopped at, if it still stands: a later run, a finished step or gate, the run's end or a
 * rollback make it history.
 */
export function currentFailure(entries: readonly JournalEntry[]): StepFailure | undefined {
  let failure: StepFailure | undefined;
  for (const entry of entries) {
    if (entry.type === "note" && entry.note === STEP_FAILED_NOTE) {
      const data = (entry.data ?? {}) as { error?: unknown; gate?: unknown };
      failure = {
        step: entry.step,
        error: typeof data.error === "string" ? data.error : "(no message)",
        time: entry.time,
        ...(typeof data.gate === "string" ? { gate: data.gate } : {}),
      };
    } else if (
      entry.type === "run-started" ||
      entry.type === "run-finished" ||
      entry.type === "rollback-started" ||
      (entry.type === "step-finished" && failure?.step === entry.step && failure.gate === undefined) ||
      (entry.type === "gate" && failure?.step === entry.step && failure.gate === entry.address)
    ) {
      failure = undefined;
    }
  }
  return failure;
}

/** What `status` knows besides the state: the journaled failure, and how to name this run in a command. */
export interface StatusContext {
  failure?: StepFailure | undefined;
  /** `-f shop.yaml` (with `--state-dir DIR` when not the default): pasted after `clustershift apply`. */
  args?: string;
}

/**
 * Where the run stands, one line. Unlike the journal alone, status knows the lock: a run in progress with the lock
 * free is not running, it stopped (failed, or interrupted).
 */
export function statusHeadline(
  state: RunState,
  holder: LockHolder | undefined,
  failure?: StepFailure,
): string {
  const { phase } = state;
  if (holder === undefined && failure !== undefined) {
    return `failed at ${failure.step}${failure.gate === undefined ? "" : ` (gate ${failure.gate})`}`;
  }
  if (phase.phase === "in-progress") {
    const at = phase.step === undefined ? "before its first step" : `at ${phase.step}`;
    return holder
      ? `running ${at} (pid ${holder.pid} on ${holder.host})`
      : `stopped ${at}: interrupted, no run holds the lock`;
  }
  if (phase.phase === "rolling-back" && holder) return `rolling back (pid ${holder.pid} on ${holder.host})`;
  // The gate's address names its step already (`shift-traffic[2]/approval`).
  if (phase.phase === "waiting-for-approval") return `waiting for approval at ${phase.gate}`;
  return describePhase(state);
}

export function renderStatus(
  playbook: Playbook,
  state: RunState,
  location: string,
  holder: LockHolder | undefined,
  context: StatusContext = {},
): string {
  const failure = holder === undefined ? context.failure : undefined;
  const lines = [`${playbook.metadata.name}: ${statusHeadline(state, holder, failure)}`];
  if (failure) lines.push(`error: ${failure.error.replaceAll("\n", "\n  ")}`);
  lines.push(`journal: ${location}`);
  lines.push(
    holder ? `lock: held by pid ${holder.pid} on ${holder.host} since ${holder.since}` : "lock: free",
  );
  if (state.lastTime) lines.push(`last entry: ${state.lastTime}`);
  if (state.steps.size > 0) lines.push("", "steps:");
  for (const [id, step] of state.steps) {
    const outcome = step.verification
      ? step.verification.outcome
      : failure?.step === id
        ? "failed"
        : step.stoppedBy !== undefined
          ? `stopped because ${step.stoppedBy} stopped the run`
          : "started, not finished";
    lines.push(`  ${id}: ${outcome}`);
    // Under its step: `? pause`, not the step's name again (the address is `shift-traffic[1]/pause`).
    for (const [gate, gateState] of step.gates)
      lines.push(`    ? ${gate.startsWith(`${id}/`) ? gate.slice(id.length + 1) : gate}: ${gateState}`);
  }
  lines.push(
    "",
    state.finished
      ? `${plural(state.pending.length, "journaled change")}, kept as history: rollback no longer undoes them.`
      : `${plural(state.pending.length, "journaled change")} that rollback would undo.`,
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
      `journal closed: the rollback finished and nothing is left to undo; ${plural(state.dropped.size, "before-image")} of Secrets and credentials deleted from the state.`,
    );
  }
  const stopped = !holder && (failure !== undefined || state.phase.phase === "in-progress");
  const args = context.args ?? "-f PLAYBOOK";
  if (!holder && state.phase.phase === "waiting-for-approval") {
    lines.push(
      "",
      "Two ways forward:",
      `  ${"approve, then go on:".padEnd(27)} clustershift promote ${args} && clustershift apply ${args}`,
      `  ${"or undo what the run did:".padEnd(27)} clustershift rollback ${args}`,
    );
  }
  if (stopped) {
    const resume = failure ? "fix the cause, then resume:" : "resume where it stopped:";
    lines.push(
      "",
      "Two ways forward:",
      `  ${resume.padEnd(27)} clustershift apply ${args}`,
      `  ${"or undo what the run did:".padEnd(27)} clustershift rollback ${args}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** What undoing `entry` does, as a plan symbol: a create is deleted, an update restored, a delete re-created. */
const UNDO = { create: "-", update: "~", delete: "+" } as const;
/** Journal targets of the clusters provision-cluster makes. */
const PROVISIONED = new Set(["gke.cluster", "sandbox.cluster"]);

/**
 * What `rollback` will undo, newest first, grouped by step and then by cluster (or DNS zone, cloud resource),
 * before it asks; changes on `skip` contexts are listed apart, as left alone.
 */
export function renderRollbackPreview(
  playbook: string,
  pending: readonly ChangeEntry[],
  skip: readonly string[] = [],
  destroyProvisioned = false,
): string {
  const skipped = (entry: ChangeEntry) => {
    const context = placeOf(entry).context;
    return context !== undefined && skip.includes(context);
  };
  const undo = [...pending].reverse().filter((entry) => !skipped(entry));
  const lines = [`Rollback of ${playbook}: ${plural(undo.length, "change")} to undo, newest first:`, ""];
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
      for (const entry of entries) {
        // provision-cluster keeps the cluster it made unless told to delete it (rollbackSandboxCluster, GKE alike).
        const kept =
          !destroyProvisioned && entry.action === "create" && PROVISIONED.has(entry.target?.type ?? "");
        lines.push(
          kept
            ? `    = ${entry.address}  (kept: deleted only with --destroy-provisioned)`
            : `    ${UNDO[entry.action]} ${entry.address}`,
        );
      }
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
      lines.push(
        `Skipped: ${plural(count, "change")} on context ${context} stay as they are, and journaled.`,
      );
  }
  return lines.join("\n") + "\n";
}

/**
 * What a rollback without --destroy-provisioned leaves of the clusters this run made, one line each with how to
 * delete it: the journal counts their creation as undone, so a second rollback would not come back to them.
 */
export function keptClusterLines(pending: readonly ChangeEntry[], skip: readonly string[] = []): string[] {
  return pending
    .filter((entry) => entry.action === "create")
    .filter((entry) => !skip.includes(placeOf(entry).context ?? ""))
    .flatMap((entry) => {
      const target = entry.target;
      if (target?.type === "sandbox.cluster")
        return [
          `sandbox cluster ${target.name}: it lives in the sandbox's memory, so stopping the sandbox deletes it`,
        ];
      if (target?.type === "gke.cluster")
        return [
          `GKE cluster ${target.name}: gcloud container clusters delete ${target.name} --location ${target.location} --project ${target.project}`,
        ];
      return [];
    });
}

export function statusJson(
  playbook: Playbook,
  state: RunState,
  holder: LockHolder | undefined,
  failure?: StepFailure,
): object {
  const stopped = holder === undefined ? failure : undefined;
  return {
    formatVersion: 1,
    playbook: playbook.metadata.name,
    phase: state.phase,
    summary: statusHeadline(state, holder, stopped),
    failure: stopped ?? null,
    steps: [...state.steps].map(([id, step]) => ({
      id,
      kind: step.kind,
      verification: step.verification ?? null,
      gates: Object.fromEntries(step.gates),
      ...(step.stoppedBy === undefined ? {} : { stoppedBy: step.stoppedBy }),
    })),
    pendingChanges: state.pending.length,
    skipped: Object.fromEntries([...state.skipped].map(([context, left]) => [context, left.length])),
    closed: state.closed,
    finished: state.finished ?? null,
    lock: holder ?? null,
    lastTime: state.lastTime ?? null,
  };
}
