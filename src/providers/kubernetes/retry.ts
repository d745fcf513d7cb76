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
  if (header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * Exponential backoff with equal jitter (half fixed, half random) so that many clients hit by the same
 * outage do not retry in lockstep; a server's Retry-After is a floor.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterSeconds: number | undefined,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  const jittered = exponential / 2 + random() * (exponential / 2);
  if (retryAfterSeconds === undefined) return Math.round(jittered);
  return Math.round(Math.max(Math.min(retryAfterSeconds * 1000, policy.maxRetryAfterMs), jittered));
}
