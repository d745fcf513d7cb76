import { jitteredBackoffMs, retryAfterMs } from "../backoff.js";

/** How hard the client tries before giving up on a call the server may answer next time. */
export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** A Retry-After beyond this is cut down: a sandbox or proxy asking for minutes would stall the run. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseMs: 100, maxMs: 5_000, maxRetryAfterMs: 30_000 };

/** 429 and 5xx mean "not now"; 501 and other 4xx mean the request itself is wrong and a retry would be too. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

export function isRetryableNetworkError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
  return typeof message === "string" && /socket hang up|other side closed/i.test(message);
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  const ms = retryAfterMs(header, now);
  return ms === undefined ? undefined : ms / 1000;
}

/** {@link jitteredBackoffMs} after the `attempt`th failure (0 for the first); a server's Retry-After is a floor. */
export function retryDelayMs(
  attempt: number,
  retryAfterSeconds: number | undefined,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const jittered = jitteredBackoffMs(attempt, policy.baseMs, policy.maxMs, random);
  if (retryAfterSeconds === undefined) return Math.round(jittered);
  return Math.round(Math.max(Math.min(retryAfterSeconds * 1000, policy.maxRetryAfterMs), jittered));
}
