import { durationMs, formatDuration } from "../../playbook/duration.js";
import { journaledWait } from "../clock.js";
import type { GateContext, GateRunner, GateSpec } from "../types.js";

/** Journaled when a pause starts: `{gate, durationMs, startedAt?}` (startedAt: the server's time, clock.ts). */
export const PAUSE_NOTE = "pause-started";

/**
 * `pause: 2m`: waits, counting down, then passes. A run stopped in a pause and resumed waits what is left of it,
 * measured on the server's clock from the journaled start, never less; within a run, on the monotonic clock.
 */
export const pauseGate: GateRunner = {
  type: "pause",
  describe: (gate) => `pause ${durationOf(gate)}`,
  async run(gate, ctx) {
    const label = `pause ${durationOf(gate)}`;
    const total = durationMs(durationOf(gate));
    await journaledWait(ctx, {
      totalMs: total,
      earlier: earlierStart(ctx),
      record: (start) =>
        ctx.note(PAUSE_NOTE, {
          ...(ctx.gate === undefined ? {} : { gate: ctx.gate }),
          durationMs: total,
          ...start,
        }),
      onStart: (left, resumed) => {
        if (resumed)
          ctx.progress.wait(label, `resumed: ${formatDuration(left)} left of ${formatDuration(total)}`);
      },
      onTick: (left) => ctx.progress.wait(label, `${formatDuration(left)} left`),
    });
    return { outcome: "passed", detail: `paused ${formatDuration(total)}` };
  },
};

/**
 * The start an earlier run of this very gate journaled (same step and gate address; the latest, should it have
 * been started more than once). Without an address to match on there is none: the pause is waited in full.
 */
function earlierStart(ctx: GateContext): unknown {
  if (ctx.gate === undefined || ctx.step === undefined) return undefined;
  return ctx.journaledNotes?.findLast(
    (note) =>
      note.note === PAUSE_NOTE &&
      note.step === ctx.step &&
      (note.data as { gate?: unknown } | undefined)?.gate === ctx.gate,
  )?.data;
}

function durationOf(gate: GateSpec): string {
  return typeof gate.duration === "string" ? gate.duration : "0s";
}
