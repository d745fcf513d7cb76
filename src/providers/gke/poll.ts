import { RuntimeError } from "../../engine/errors.js";
import { sleep } from "../../engine/sleep.js";
import { formatDuration } from "../../playbook/duration.js";

/** What one look at a long-running thing found: finished with a value, or still going (with a detail to show). */
export type PollResult<T> = { done: true; value: T } | { done: false; detail: string };

export interface PollOptions {
  /** Shown in the timeout message: `cluster projects/p/locations/z/clusters/c RUNNING`. */
  what: string;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (detail: string) => void;
  /** Default 5s; the caller's RunOptions.gkeTiming shortens it against local fakes ({@link pollInterval}). */
  intervalMs?: number;
}

/** A reminder that a long wait is still alive, even when its detail does not change. */
const HEARTBEAT_MS = 30_000;

/**
 * Polls `look` until it reports done, reporting progress when the detail changes (and every 30s).
 * `look` throws to end the wait with an error (a failed operation, a FAILED state).
 */
export async function poll<T>(look: () => Promise<PollResult<T>>, options: PollOptions): Promise<T> {
  const started = Date.now();
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  let reported: { detail: string; at: number } | undefined;
  for (;;) {
    const result = await look();
    if (result.done) return result.value;
    const now = Date.now();
    const elapsed = now - started;
    if (reported?.detail !== result.detail || now - reported.at >= HEARTBEAT_MS) {
      options.onProgress(elapsed >= 1000 ? `${result.detail} (${formatDuration(elapsed)})` : result.detail);
      reported = { detail: result.detail, at: now };
    }
    if (elapsed >= options.timeoutMs) {
      throw new RuntimeError(
        `timed out after ${formatDuration(elapsed)} waiting for ${options.what}; last seen: ${result.detail}. ` +
          "Run apply again to keep waiting: it resumes where it stopped.",
      );
    }
    await sleep(Math.min(interval, Math.max(0, options.timeoutMs - elapsed)), options.signal);
  }
}

const DEFAULT_INTERVAL_MS = 5000;

/** `{intervalMs}` of a poll as the run's caller set it (RunOptions.gkeTiming), or nothing: the default. */
export function pollInterval(ctx: { readonly options: { gkeTiming?: { pollIntervalMs?: number } } }): {
  intervalMs?: number;
} {
  const ms = ctx.options.gkeTiming?.pollIntervalMs;
  return ms === undefined ? {} : { intervalMs: ms };
}
