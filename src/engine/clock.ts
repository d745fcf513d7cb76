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
export function clockOf(ctx: Pick<ReadContext, "clients" | "options" | "playbook">): Clock {
  return memoClient(ctx, CLOCK_KEY, () => systemClock(ctx));
}

/** Injects `clock` as the run's clock: the seam for tests. */
export function useClock(clients: Map<string, unknown>, clock: Clock): void {
  clients.set(CLOCK_KEY, clock);
}

function systemClock(ctx: Pick<ReadContext, "clients" | "options" | "playbook">): Clock {
  const context = ctx.playbook.spec.source.context;
  return {
    monotonic: () => performance.now(),
    sleep,
    async serverNow() {
      // Loaded here: `validate` and `--help` load gates without the Kubernetes client.
      const { createClusterClient } = await import("../providers/kubernetes/client.js");
      try {
        // A client of its own, without the run's signal: a read that changes nothing, which the waiting side
        // abandons on a signal (journaledWait), and which a stopped-then-resumed run in one process can still make.
        const port = memoClient(ctx, `kube-time:${context}`, () =>
          createClusterClient(context, {
            ...(ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig }),
          }),
        );
        return { ...(await port.serverTime()), source: `kube-apiserver of context ${context}` };
      } catch {
        // No such context yet, or unreachable now: the wait still runs (monotonic); only a resume of it would
        // have to wait it all again, for want of a start it can trust.
        return undefined;
      }
    },
  };
}

/**
 * What a journaled wait has left: `deadline` is the latest its end can be (`until` of {@link deadlineOf}: the start
 * as the server told it, rounded up by its resolution, plus the wait) and `now` the server's time rounded down, so
 * it is at least what truly remains and at most two Date resolutions (2 s, plus the time the reading took) more.
 * It is never more than the whole wait, so a server clock gone back costs at most one whole wait again; without
 * both readings from the same server it is the whole wait.
 */
export function remainingMs(
  totalMs: number,
  deadline: JournaledDeadline | undefined,
  now: ServerInstant | undefined,
): number {
  if (!deadline || !now || deadline.clock !== now.source) return totalMs;
  return Math.min(totalMs, Math.max(0, deadline.until - now.ms));
}

/** What a journaled wait records: `{until, clock}`, ISO time on the server `clock`. */
export interface JournaledDeadline {
  until: number;
  clock: string;
}

/** The deadline of a wait of `totalMs` started at `start`, as journaled. */
export function deadlineOf(start: ServerInstant, totalMs: number): { until: string; clock: string } {
  return { until: new Date(start.ms + start.resolutionMs + totalMs).toISOString(), clock: start.source };
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
 * `record`), or undefined on its first start: then `record` journals `{until, clock}` ({@link deadlineOf}, when a
 * server tells its time) before the first tick. Resumed, it waits {@link remainingMs}; within the run, on the
 * monotonic clock. `onStart` learns how much is left (and whether it was resumed) before the wait begins.
 */
export async function journaledWait(
  ctx: WaitContext,
  options: {
    totalMs: number;
    earlier: unknown;
    record: (data: { until?: string; clock?: string }) => Promise<void>;
    onStart?: (leftMs: number, resumed: boolean) => void;
    onTick: (leftMs: number) => void;
  },
): Promise<void> {
  const clock = clockOf(ctx);
  // Counted from before the server is asked: the time the question takes is part of the wait.
  const begun = clock.monotonic();
  const now = await abandonedOnAbort(clock.serverNow(), ctx.signal);
  const resumed = options.earlier !== undefined;
  const deadline = resumed ? journaledDeadline(options.earlier) : undefined;
  const left = resumed ? remainingMs(options.totalMs, deadline, now) : options.totalMs;
  // A deadline the server timed is what a later resume counts from; a wait done in full again (for want of one)
  // starts afresh.
  if (!resumed || (!deadline && now)) await options.record(now ? deadlineOf(now, options.totalMs) : {});
  options.onStart?.(left, resumed);
  await waitUntilMonotonic(clock, begun + left, ctx.signal, options.onTick);
}

/** A journaled deadline, read back; undefined when the record holds none (older runs, no server then). */
export function journaledDeadline(data: unknown): JournaledDeadline | undefined {
  const { until, clock } = (data ?? {}) as { until?: unknown; clock?: unknown };
  const ms = typeof until === "string" ? Date.parse(until) : NaN;
  return typeof clock === "string" && !Number.isNaN(ms) ? { until: ms, clock } : undefined;
}

function abandonedOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
