import { performance } from "node:perf_hooks";
import { memoClient } from "../providers/memo.js";
import type { ReadContext } from "./types.js";
import { sleep } from "./sleep.js";

/**
 * Time for waits, in one place. Two clocks, neither of them this machine's wall clock (`Date.now()`), which an
 * NTP step, a suspended VM or an operator's `date -s` moves by hours:
 * - within a process, a monotonic clock (`performance.now()`; Node's timers run on the same monotonic loop time),
 *   which no change of the wall clock moves;
 * - across processes (a wait resumed after a stop, on this machine or another), the time of the source cluster's
 *   API server, from the `Date` header of a fresh read. Why that one: every run reads the source cluster (the
 *   DNS provider's time exists only for DNS steps, and the sandbox's DNS has none of its own), its clock is the one
 *   the control plane and its Leases live by (NTP-synced on any real cluster), and it is a different machine from
 *   the one whose clock jumped. Its resolution is one second, which the arithmetic below rounds the safe way.
 *
 * On the sandbox the "server" is the sandbox process on this machine: a rehearsal, whose clock jumps with this one.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes back, and means nothing in another process. */
  monotonic(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A server's time now, or undefined when none can tell it (no cluster known yet, a fake in tests). */
  serverNow(): Promise<ServerInstant | undefined>;
}

/** A moment as a server told it: the true time was within [ms, ms + resolutionMs) when it answered. */
export interface ServerInstant {
  ms: number;
  resolutionMs: number;
  /** Which server: a wait journaled on one is resumed only against the same one. */
  source: string;
}

const CLOCK_KEY = "clock";

/** The run's clock, memoized in `ctx.clients` (a test presets its own under `clock`). */
export function clockOf(ctx: Pick<ReadContext, "clients" | "options" | "playbook" | "signal">): Clock {
  return memoClient(ctx, CLOCK_KEY, () => systemClock(ctx));
}

/** Injects `clock` as the run's clock: the seam for tests. */
export function useClock(clients: Map<string, unknown>, clock: Clock): void {
  clients.set(CLOCK_KEY, clock);
}

function systemClock(ctx: Pick<ReadContext, "clients" | "options" | "playbook" | "signal">): Clock {
  const context = ctx.playbook.spec.source.context;
  return {
    monotonic: () => performance.now(),
    sleep,
    async serverNow() {
      // Loaded here: `validate` and `--help` load gates without the Kubernetes client.
      const { clusterIfKnown } = await import("../providers/kubernetes/index.js");
      const port = clusterIfKnown(ctx, context);
      if (!port?.serverTime) return undefined;
      try {
        return { ...(await port.serverTime()), source: `kube-apiserver of context ${context}` };
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        // Unreachable now: the wait still runs (monotonic); only a resume would have to wait it all again.
        return undefined;
      }
    },
  };
}

/**
 * What a journaled wait has left, from the server time it started (`startedAt`) and the server time now: at least
 * what truly remains (both readings are rounded the safe way: the start up by its resolution, now down), at most
 * 2 s (two Date resolutions) more than that, and never more than the whole wait when the server's clock went back
 * or the start was read from another server. Without both readings it is the whole wait: nothing shows less.
 */
export function remainingMs(
  totalMs: number,
  startedAt: ServerInstant | undefined,
  now: ServerInstant | undefined,
): number {
  if (!startedAt || !now || startedAt.source !== now.source) return totalMs;
  const latestEnd = startedAt.ms + startedAt.resolutionMs + totalMs;
  return Math.min(totalMs, Math.max(0, latestEnd - now.ms));
}

/**
 * Waits until `clock.monotonic()` reaches `end`, in slices of at most `tickMs` so that `onTick` can show the
 * countdown; a wall clock jump neither ends it early nor makes it longer.
 */
export async function waitUntilMonotonic(
  clock: Clock,
  end: number,
  signal: AbortSignal,
  onTick: (leftMs: number) => void,
  tickMs = 1000,
): Promise<void> {
  for (let left = end - clock.monotonic(); left > 0; left = end - clock.monotonic()) {
    onTick(left);
    await clock.sleep(Math.min(tickMs, left), signal);
  }
}

/** What a journaled wait needs of the run. */
export type WaitContext = Pick<ReadContext, "clients" | "options" | "playbook" | "signal">;

/**
 * A wait of `totalMs` that survives a resume. `earlier` is the data an earlier run of this wait journaled (through
 * `record`), or undefined on its first start: then `record` journals `{startedAt}` (the server's time, when one
 * tells it) before the first tick. Resumed, it waits {@link remainingMs}; within the run, on the monotonic clock.
 * `onStart` learns how much is left (and whether it was resumed) before the wait begins.
 */
export async function journaledWait(
  ctx: WaitContext,
  options: {
    totalMs: number;
    earlier: unknown;
    record: (data: { startedAt?: ServerInstant }) => Promise<void>;
    onStart?: (leftMs: number, resumed: boolean) => void;
    onTick: (leftMs: number) => void;
  },
): Promise<void> {
  const clock = clockOf(ctx);
  // Counted from before the server is asked: the time the question takes is part of the wait.
  const begun = clock.monotonic();
  const now = await clock.serverNow();
  const resumed = options.earlier !== undefined;
  const started = resumed ? instantOf(options.earlier) : undefined;
  const left = resumed ? remainingMs(options.totalMs, started, now) : options.totalMs;
  // A start the server timed is what a later resume counts from; one waited in full again (for want of a server
  // time before) starts afresh.
  if (!resumed || (!started && now)) await options.record(now ? { startedAt: now } : {});
  options.onStart?.(left, resumed);
  await waitUntilMonotonic(clock, begun + left, ctx.signal, options.onTick);
}

/** A journaled server instant, read back; undefined when the record holds none (older runs, no server). */
export function instantOf(data: unknown): ServerInstant | undefined {
  const value = (data as { startedAt?: unknown } | undefined)?.startedAt;
  if (typeof value !== "object" || value === null) return undefined;
  const { ms, resolutionMs, source } = value as Record<string, unknown>;
  return typeof ms === "number" && typeof resolutionMs === "number" && typeof source === "string"
    ? { ms, resolutionMs, source }
    : undefined;
}
