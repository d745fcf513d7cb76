import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clockOf, type Clock, type ServerInstant, useClock } from "../../src/engine/clock.js";
import { pauseGate } from "../../src/engine/gates/pause.js";
import type { GateContext, NoteEntry } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SOURCE = "kube-apiserver of context source";

/**
 * A machine in a test: a monotonic clock of this process, sleeps that take no real time, and a server whose
 * clock (`serverMs`, shared by every process of the world) moves with them. The local wall clock (`Date`) is
 * jumped apart from both, as an NTP step or `date -s` would.
 */
class World {
  serverMs = Date.UTC(2026, 10, 28, 4, 0, 0, 437);
  /** The server's clock moves while no run is under way. */
  pass(ms: number): void {
    this.serverMs += ms;
  }
  process(onSleep: (slept: number) => void = () => {}): Clock & { slept: number } {
    let mono = 1_000 + Math.round(Math.random() * 1_000_000); // a new process: its own origin
    const clock = {
      slept: 0,
      monotonic: () => mono,
      sleep: (ms: number, signal?: AbortSignal): Promise<void> => {
        if (signal?.aborted) return Promise.reject(signal.reason as Error);
        mono += ms;
        this.serverMs += ms;
        clock.slept += ms;
        onSleep(clock.slept);
        return signal?.aborted ? Promise.reject(signal.reason as Error) : Promise.resolve();
      },
      serverNow: (): Promise<ServerInstant | undefined> =>
        Promise.resolve({ ms: Math.floor(this.serverMs / 1000) * 1000, resolutionMs: 1000, source: SOURCE }),
    };
    return clock;
  }
}

/** What the executor hands a gate: notes journaled under the step, the earlier runs' notes, the step and address. */
function gateContext(
  clients: Map<string, unknown>,
  journal: NoteEntry[],
  signal: AbortSignal,
  progress: string[],
  kubeconfig?: string,
): GateContext {
  return {
    playbook: { spec: { source: { context: "source" } } } as unknown as Playbook,
    options: {
      playbookFile: "shop.yaml",
      stateDir: ".clustershift",
      nonInteractive: true,
      ...(kubeconfig ? { kubeconfig } : {}),
    },
    progress: { wait: (_a, detail) => progress.push(detail), info: () => {}, warn: () => {} },
    signal,
    clients,
    journaledNotes: [...journal],
    step: "shift-traffic[1]",
    gate: "shift-traffic[1] pause",
    note: (note, data) => {
      journal.push({ type: "note", step: "shift-traffic[1]", note, data, seq: journal.length + 1, time: "" });
      return Promise.resolve();
    },
  };
}

/** Runs `pause: duration` until `stopAfterMs` of it went by in this process (then stops it, as Ctrl-C does). */
async function runPause(
  duration: string,
  journal: NoteEntry[],
  clock: Clock | undefined,
  progress: string[],
  options: { stop?: AbortController; kubeconfig?: string } = {},
): Promise<void> {
  const clients = new Map<string, unknown>();
  if (clock) useClock(clients, clock);
  const stop = options.stop ?? new AbortController();
  const ctx = gateContext(clients, journal, stop.signal, progress, options.kubeconfig);
  await pauseGate.run({ type: "pause", duration }, ctx);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a 2-hour pause resumed after a simulated clock jump", () => {
  it.each([
    ["+1h", HOUR],
    ["-1h", -HOUR],
  ])(
    "Given a 2h pause stopped after 30 min and resumed 10 min later, When the local clock jumped %s meanwhile, Then the resumed pause waits what remains (80 min, at most 2 s more, never less)",
    async (_label, jump) => {
      vi.useFakeTimers({ toFake: ["Date"] });
      const world = new World();
      const journal: NoteEntry[] = [];
      const stop = new AbortController();
      const first = world.process((slept) => {
        if (slept >= 30 * MINUTE) stop.abort(new Error("stopped"));
      });
      await expect(runPause("2h", journal, first, [], { stop })).rejects.toThrow("stopped");
      expect(first.slept).toBe(30 * MINUTE);
      expect(journal.map((n) => [n.note, Object.keys(n.data as object)])).toEqual([
        ["pause-started", ["gate", "durationMs", "until", "clock"]],
      ]);

      world.pass(10 * MINUTE);
      vi.setSystemTime(Date.now() + jump);
      const second = world.process();
      const progress: string[] = [];
      await runPause("2h", journal, second, progress);

      const remains = 2 * HOUR - 40 * MINUTE;
      console.log(
        `local clock ${_label}: the resumed 2h pause waited ${second.slept} ms; ${remains} ms remained`,
      );
      expect(second.slept).toBeGreaterThanOrEqual(remains);
      expect(second.slept).toBeLessThanOrEqual(remains + 2000);
      expect(progress[0]).toMatch(/^resumed: 1h20m left of 2h$/);
      // Only the first start is journaled: a second resume counts from it too.
      expect(journal).toHaveLength(1);
    },
  );

  it("Given a 2h pause stopped after 30 min, When the server's own clock went back an hour before the resume, Then the resumed pause waits no more than the whole 2h", async () => {
    const world = new World();
    const journal: NoteEntry[] = [];
    const stop = new AbortController();
    const first = world.process((slept) => {
      if (slept >= 30 * MINUTE) stop.abort(new Error("stopped"));
    });
    await expect(runPause("2h", journal, first, [], { stop })).rejects.toThrow("stopped");
    world.pass(-HOUR);
    const second = world.process();
    await runPause("2h", journal, second, []);
    expect(second.slept).toBe(2 * HOUR);
  });

  it("Given a 2h pause whose start no server could time, When resumed, Then it waits the whole 2h again and journals a start that a server timed", async () => {
    const world = new World();
    const journal: NoteEntry[] = [];
    const stop = new AbortController();
    const blind = world.process((slept) => {
      if (slept >= 30 * MINUTE) stop.abort(new Error("stopped"));
    });
    blind.serverNow = () => Promise.resolve(undefined);
    await expect(runPause("2h", journal, blind, [], { stop })).rejects.toThrow("stopped");
    const second = world.process();
    await runPause("2h", journal, second, []);
    expect(second.slept).toBe(2 * HOUR);
    expect(journal.map((n) => Object.keys(n.data as object))).toEqual([
      ["gate", "durationMs"],
      ["gate", "durationMs", "until", "clock"],
    ]);
  });
});

describe.each(SUBSTRATES)("a pause timed by the API server's clock on %s", (substrate) => {
  const clusters = useClusters(substrate, { istio: false });

  it.each([
    ["+1h", HOUR],
    ["-1h", -HOUR],
  ])(
    `Given a 6s pause stopped after 2s on ${substrate}, When this process's clock jumped %s before the resume, Then the resumed pause ends no sooner than 6s after the first start and sleeps no more than what remained plus 2s`,
    async (label, jump) => {
      const { kubeconfigPath } = clusters();
      const journal: NoteEntry[] = [];
      const probe = new Map<string, unknown>();
      // The product's own clock (the server's Date header), with its sleeps counted.
      const real = clockOf(gateContext(probe, [], new AbortController().signal, [], kubeconfigPath));
      const counted = (stop?: AbortController, after = Infinity) => {
        const clock = { ...real, slept: 0 };
        clock.sleep = async (ms, signal) => {
          await real.sleep(ms, signal);
          clock.slept += ms;
          if (clock.slept >= after) stop?.abort(new Error("stopped"));
          signal?.throwIfAborted();
        };
        return clock;
      };
      const stop = new AbortController();
      const startedBefore = performance.now();
      await expect(
        runPause("6s", journal, counted(stop, 2000), [], { stop, kubeconfig: kubeconfigPath }),
      ).rejects.toThrow("stopped");
      const stoppedAt = performance.now();
      expect(journal).toHaveLength(1);

      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + jump);
      const second = counted();
      const resumedAt = performance.now();
      await runPause("6s", journal, second, [], { kubeconfig: kubeconfigPath });
      const ended = performance.now();
      vi.useRealTimers();

      console.log(
        `${substrate}, local clock ${label}: resumed pause slept ${Math.round(second.slept)} ms after ${Math.round(resumedAt - startedBefore)} ms of 6000`,
      );
      // Never less: it ends no sooner than the whole pause after the first run began (a wait cannot end early
      // by running slowly).
      expect(ended - startedBefore).toBeGreaterThanOrEqual(6000);
      // At most what remained at the resume plus the 2 s of Date-header rounding. The first start was journaled
      // before the first run slept its 2 s, so at most 4 s remained at the stop, less the time until the resume.
      const remainedAtMost = 4000 - (resumedAt - stoppedAt);
      expect(second.slept).toBeLessThanOrEqual(remainedAtMost + 2000);
    },
    60_000,
  );
});
