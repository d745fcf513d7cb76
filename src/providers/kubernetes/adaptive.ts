/** What a client met from its server's limits: for the bench and the end-of-run summary. */
export interface ThrottleStats {
  /** Answers 429 Too Many Requests. */
  throttled: number;
  /** Tries after the first, for any reason (429, 5xx, dropped connections). */
  retries: number;
  /** The lowest in-flight limit the client came down to. */
  lowestLimit: number;
  /** The limit now. */
  limit: number;
}

/** The stats of every client this process made: clients a run makes for itself are not at hand otherwise. */
const everyLimit = new Set<ThrottleStats>();

/** 429s and retries of every client of this process so far, and the lowest in-flight limit any came down to. */
export function throttleTotals(): Omit<ThrottleStats, "limit"> {
  const totals = { throttled: 0, retries: 0, lowestLimit: Infinity };
  for (const stats of everyLimit) {
    totals.throttled += stats.throttled;
    totals.retries += stats.retries;
    totals.lowestLimit = Math.min(totals.lowestLimit, stats.lowestLimit);
  }
  return totals;
}

/**
 * How many requests a client keeps in flight to one API server, adapting to what the server says rather than a
 * fixed client-side rate (client-go's QPS 5 / burst 10): additive increase, multiplicative decrease, as TCP does.
 * It starts at `max`; a 429 (API priority and fairness rejecting, or the max-in-flight filter) halves it, once per
 * round of requests (the 429s of requests sent before the last decrease say nothing new); every `limit` successes
 * in a row raise it by one, back up to `max`. Requests over the limit wait their turn in order.
 */
export class AdaptiveLimit {
  private limit: number;
  private inFlight = 0;
  private successes = 0;
  /** Bumped at each decrease; a request remembers the one it was sent in. */
  private generation = 0;
  private readonly waiting: (() => void)[] = [];
  readonly stats: ThrottleStats;

  constructor(private readonly max: number) {
    this.limit = max;
    this.stats = { throttled: 0, retries: 0, lowestLimit: max, limit: max };
    everyLimit.add(this.stats);
  }

  /** Waits for a slot; resolves with a token for {@link release}. Rejects with the signal's reason when aborted. */
  async acquire(signal?: AbortSignal): Promise<number> {
    while (this.inFlight >= this.limit) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = this.waiting.indexOf(wake);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal?.reason as Error);
        };
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        this.waiting.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.inFlight++;
    return this.generation;
  }

  /** Gives the slot back, saying how the request went: `throttled` for a 429. */
  release(token: number, outcome: "ok" | "throttled" | "other"): void {
    this.inFlight--;
    if (outcome === "throttled") {
      this.stats.throttled++;
      this.successes = 0;
      if (token === this.generation) {
        this.generation++;
        this.limit = Math.max(1, Math.floor(this.limit / 2));
        this.stats.lowestLimit = Math.min(this.stats.lowestLimit, this.limit);
      }
    } else if (outcome === "ok" && this.limit < this.max && ++this.successes >= this.limit) {
      this.successes = 0;
      this.limit++;
    }
    this.stats.limit = this.limit;
    // Woken waiters look at the limit again when they run: waking one too many costs a re-wait, never a slot.
    for (let free = this.limit - this.inFlight; free > 0 && this.waiting.length > 0; free--)
      this.waiting.shift()?.();
  }
}
