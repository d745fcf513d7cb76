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

/**
 * Whether `live` holds everything a write sent (`sent`): what the server shows after a write of ours whose reply
 * was lost, and that a retry then found in place (409 AlreadyExists on a create, 409 Conflict on a
 * compare-and-swap replace). The server adds metadata and defaults; it must not have changed or dropped a sent
 * value, except for empty maps and lists, which it may omit. `metadata.resourceVersion` is left out: a replace
 * sends the old one.
 */
export function holdsWrite(live: unknown, sent: unknown): boolean {
  if (!isRecord(sent) || !isRecord(sent.metadata)) return contains(live, sent);
  const { resourceVersion: _rv, ...metadata } = sent.metadata;
  return contains(live, { ...sent, metadata });
}

function contains(live: unknown, sent: unknown): boolean {
  if (isEmpty(sent)) return live === undefined || live === null || isEmpty(live);
  if (Array.isArray(sent)) {
    return (
      Array.isArray(live) && live.length === sent.length && sent.every((item, i) => contains(live[i], item))
    );
  }
  if (isRecord(sent)) {
    return isRecord(live) && Object.entries(sent).every(([key, value]) => contains(live[key], value));
  }
  return live === sent;
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    (Array.isArray(value) && value.length === 0) ||
    (isRecord(value) && Object.keys(value).length === 0)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
