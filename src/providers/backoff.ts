/**
 * Exponential backoff with equal jitter (half fixed, half random), so that clients that failed together do not
 * come back together: the wait before retry number `retry` (0 for the first), unrounded, at most `maxMs`.
 */
export function jitteredBackoffMs(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** retry);
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** A Retry-After header, delay-seconds or an HTTP date, in milliseconds from `now`. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
