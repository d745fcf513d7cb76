/** Exit 2: the playbook or the command line is wrong; nothing was called. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** One line each, already formatted as `file:line:col: path: message`. */
    readonly lines: string[] = [message],
  ) {
    super(message);
  }
}

/** Exit 3: a gate failed; the run was rolled back or paused per `onFailure`. */
export class GateFailedError extends Error {
  override readonly name = "GateFailedError";
}

/** Exit 1: the fresh plan of a step differs from the plan that was approved. */
export class DriftError extends Error {
  override readonly name = "DriftError";
}

/** Exit 1: another process holds the run's lock. */
export class LockedError extends Error {
  override readonly name = "LockedError";
}

/** A failure the user can act on, with the API's own words kept in `cause`. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
}

/** Exit 130: the user stopped an interactive command (Ctrl-C); nothing was written. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
}

/**
 * Exit 130 (SIGINT, Ctrl-C) or 143 (SIGTERM): the process was asked to stop. It is the abort reason of the run's
 * signal: sleeps, gates, API calls and credential plugins stop with it, no new change starts, and a write already
 * on its way finishes and is journaled first, so `apply` resumes and `rollback` goes back from an intact journal.
 */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(
      `interrupted by ${signal}: no new change was started and the journal is intact; ` +
        "`clustershift apply` resumes, `clustershift rollback` goes back",
    );
  }
}

/** The words of any thrown value, for a one-line report. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CancelledError) return 130;
  // 128 + the signal's number, as a shell reports a process the signal ended.
  if (error instanceof InterruptedError) return error.signal === "SIGINT" ? 130 : 143;
  if (error instanceof UsageError) return 2;
  if (error instanceof GateFailedError) return 3;
  return 1;
}
