import { afterEach, describe, expect, it, vi } from "vitest";
import { type Clock, type ServerInstant, useClock } from "../../src/engine/clock.js";
import { DnsRun, dnsPlaybook, useDnsSandbox } from "../dns/harness.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const { kubeconfig, seedZone } = useDnsSandbox("clockttl");

/** This process's monotonic clock and sleeps that take no real time; the server's clock moves with them. */
function processClock(world: { serverMs: number }, crashAfterMs = Infinity): Clock & { slept: number } {
  let mono = 1_000 + Math.round(Math.random() * 1_000_000);
  const clock = {
    slept: 0,
    monotonic: () => mono,
    sleep: (ms: number, signal?: AbortSignal): Promise<void> => {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      mono += ms;
      world.serverMs += ms;
      clock.slept += ms;
      // The process dies there (as after a SIGKILL): the journal is all the next run has.
      return clock.slept >= crashAfterMs ? Promise.reject(new Error("killed")) : Promise.resolve();
    },
    serverNow: (): Promise<ServerInstant | undefined> =>
      Promise.resolve({
        ms: Math.floor(world.serverMs / 1000) * 1000,
        resolutionMs: 1000,
        source: "kube-apiserver of context source",
      }),
  };
  return clock;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the old-TTL wait on the sandbox, resumed after a simulated clock jump", () => {
  it.each([
    ["+1h", HOUR],
    ["-1h", -HOUR],
  ])(
    "Given lower-dns-ttl stopped 30 min into a 2h old-TTL wait and resumed 10 min later, When the local clock jumped %s meanwhile, Then it waits what remains (80 min, at most 2 s more, never less)",
    async (label, jump) => {
      // Date keeps running (the sandbox DNS goes INSYNC by it) until the jump below moves it.
      vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
      const seeded = seedZone(7200);
      const run = new DnsRun(
        dnsPlaybook({ provider: "sandbox", zone: seeded.zone, record: seeded.record, target: "203.0.113.7" }),
        undefined,
        { kubeconfig: kubeconfig() },
      );
      const world = { serverMs: Date.UTC(2026, 10, 28, 4, 0, 0, 250) };
      const first = processClock(world, 30 * MINUTE);
      useClock(run.clients, first);
      await expect(run.applyAll(undefined, "lower-dns-ttl")).rejects.toThrow("killed");
      expect(first.slept).toBe(30 * MINUTE);

      world.serverMs += 10 * MINUTE;
      vi.setSystemTime(Date.now() + jump);
      const second = processClock(world);
      useClock(run.clients, second);
      const [lowered] = await run.applyAll(undefined, "lower-dns-ttl");

      console.log(
        `local clock ${label}: the resumed 2h old-TTL wait took ${second.slept} ms; 4800000 ms remained`,
      );
      // The step's verification is not judged here: the sandbox DNS runs in this process, so its name servers see
      // the jumped Date too (a rehearsal's clock jumps with the machine's); the wait is what this test is about.
      expect(lowered?.id).toBe("lower-dns-ttl");
      expect(second.slept).toBeGreaterThanOrEqual(80 * MINUTE);
      expect(second.slept).toBeLessThanOrEqual(80 * MINUTE + 2000);
      expect(run.entries).toHaveLength(1);
    },
    60_000,
  );
});
