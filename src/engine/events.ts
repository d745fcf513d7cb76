import type { ChangeAction, Verification } from "./types.js";

/**
 * The journal note of a step (or its gate) that stopped the run with an error: `{error, gate?}`. `status` names it
 * with the ways forward; a later `step-finished` of the step, a new run or a rollback makes it history.
 */
export const STEP_FAILED_NOTE = "step-failed";

/**
 * The journal note of a step that did not fail but was stopped because another branch of the run stopped it
 * (`{by, gate?}`): `status` and the report say so instead of a failure; a resumed run carries the step on.
 */
export const STEP_STOPPED_NOTE = "step-stopped";

/** What a run tells its renderer (task tree, plain lines, NDJSON). */
export type RunEvent =
  | { type: "run-started"; playbook: string; steps: { id: string; title: string }[] }
  | { type: "step-started"; step: string; title: string }
  | { type: "step-skipped"; step: string; title: string; reason: string }
  | { type: "step-finished"; step: string; verification: Verification; elapsedMs: number }
  | { type: "step-failed"; step: string; error: string; elapsedMs: number }
  /** Stopped, not failed: `by` (another branch of the run) stopped the run. */
  | { type: "step-stopped"; step: string; by: string; elapsedMs: number }
  | { type: "change-applied"; step: string; address: string; action: ChangeAction }
  | { type: "change-reverted"; step: string; address: string; action: ChangeAction }
  | { type: "wait-progress"; step: string; address: string; detail: string }
  | { type: "gate-waiting"; step: string; address: string; detail: string }
  | { type: "gate-passed"; step: string; address: string; detail: string }
  | { type: "gate-failed"; step: string; address: string; detail: string }
  | { type: "info"; step?: string; message: string }
  | { type: "warn"; step?: string; message: string }
  /** `steps`: what the rollback undoes, newest first, with how many changes of each (absent: not known). */
  | { type: "rollback-started"; reason: string; steps?: { step: string; changes: number }[] }
  | { type: "rollback-finished"; reverted: number }
  | {
      type: "run-finished";
      outcome: "completed" | "waiting-for-approval" | "paused" | "rolled-back" | "failed";
      message: string;
    };

export interface EventSink {
  emit(event: RunEvent): void;
  /** Stops spinners and flushes; called once at the end. */
  close(): void;
}
