import { sleep } from "../../engine/sleep.js";
import { jitteredBackoffMs } from "../backoff.js";

export interface RetryOptions {
  /** Tries in all, the first included (default 6: five retries, about 30s of backoff at most). */
  attempts?: number;
  /** The first backoff; each retry doubles it (default 1s; RunOptions.gkeTiming shortens it against local fakes). */
  baseDelayMs?: number;
  /** Cap on any one wait, a server's Retry-After included (default 60 × `baseDelayMs`). */
  maxDelayMs?: number;
  /** An interrupted run does not wait out a backoff. */
  signal?: AbortSignal;
  /** Tests record the waits instead of sleeping them. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1); tests pin the jitter. */
  random?: () => number;
}

export type RetryPolicy = Required<Omit<RetryOptions, "signal">> & { signal?: AbortSignal };

/** What one try came to. */
export type Outcome<T> = { value: T } | { error: unknown };

/** Try again, after at least `retryAfterMs` when the server said so. */
export interface Transient {
  retryAfterMs?: number;
}

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_DELAY_MS;
  return {
    attempts: options.attempts ?? 6,
    baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? 60 * baseDelayMs,
    sleep: options.sleep ?? sleep,
    random: options.random ?? Math.random,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

const DEFAULT_DELAY_MS = 1000;

/**
 * Runs `once` again while `transient` says its outcome may pass on a later try and tries are left; the last
 * outcome is the answer (its value returned, its error thrown). `transient` sees every outcome, the last too.
 */
export async function withRetries<T>(
  once: () => Promise<T>,
  transient: (outcome: Outcome<T>) => Transient | undefined,
  policy: RetryPolicy,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await once().then(
      (value): Outcome<T> => ({ value }),
      (error: unknown): Outcome<T> => ({ error }),
    );
    const retry = transient(outcome);
    if (!retry || attempt >= policy.attempts) {
      if ("error" in outcome) throw outcome.error;
      return outcome.value;
    }
    await policy.sleep(backoffMs(attempt, retry.retryAfterMs, policy), policy.signal);
  }
}

/**
 * The wait after the `attempt`th try: {@link jitteredBackoffMs}, never shorter than the server's Retry-After,
 * never over the cap.
 */
export function backoffMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs" | "random">,
): number {
  const jittered = jitteredBackoffMs(attempt - 1, policy.baseDelayMs, policy.maxDelayMs, policy.random);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(retryAfterMs ?? 0, jittered)));
}

/** Transport failures worth another try: the request may not have been read, or its answer was lost. */
const CONNECTION_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  // undici (Node's fetch) for a connection the server closed without answering.
  "UND_ERR_SOCKET",
]);

/**
 * The code of a connection failure anywhere in `error`'s cause chain (`socket hang up` counts as ECONNRESET),
 * with the words of the link that has it: Node's fetch says only `fetch failed` at the top.
 */
export function connectionFailure(error: unknown): { code: string; message: string } | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    const text = typeof message === "string" ? message : "";
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return { code, message: text };
    if (/socket hang up/i.test(text)) return { code: "ECONNRESET", message: text };
    current = cause;
  }
  return undefined;
}
