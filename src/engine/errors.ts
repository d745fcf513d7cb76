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

/**
 * What to do about the machine's refusals, which Node words only as `EROFS: read-only file system, open '…'`
 * (the path says which disk). The journal is written ahead of every change, so it is intact in each case.
 */
const ENVIRONMENT_ADVICE: Record<string, string> = {
  ENOSPC:
    "the disk is full: free space on it, or give --state-dir a directory on another disk, and run the command again",
  EDQUOT:
    "the disk quota is used up: free space, or give --state-dir a directory elsewhere, and run the command again",
  EROFS:
    "the file system is read-only: give --state-dir (or CLUSTERSHIFT_STATE_DIR) a directory on a writable disk",
  EACCES:
    "permission denied: make that directory writable for this user, or give --state-dir a directory that is",
  EPERM: "not permitted: make that directory writable for this user, or give --state-dir a directory that is",
  EMFILE: "too many open files: raise the limit (ulimit -n) and run the command again",
  ENFILE: "too many open files on this machine: close some programs and run the command again",
  // Node's recursive mkdir says ENOENT where a parent cannot be made: on a read-only file system, say.
  ENOENT:
    "a directory on that path is missing or cannot be made (a read-only file system?): give --state-dir a directory that exists and is writable",
  ENOTDIR: "a part of that path is a file, not a directory: give --state-dir a directory",
};

/** The words of any thrown value, for a one-line report; the machine's refusals say what to do about them. */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const advice = code === undefined ? undefined : ENVIRONMENT_ADVICE[code];
  if (advice === undefined || error.message.includes(advice))
    return error.message || `${error.name} (${code})`;
  return `${error.message || code}: ${advice}`;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof CancelledError) return 130;
  // 128 + the signal's number, as a shell reports a process the signal ended.
  if (error instanceof InterruptedError) return error.signal === "SIGINT" ? 130 : 143;
  if (error instanceof UsageError) return 2;
  if (error instanceof GateFailedError) return 3;
  return 1;
}
