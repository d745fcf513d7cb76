import { durationMs, formatDuration } from "../../playbook/duration.js";
import type { GateRunner, GateSpec } from "../types.js";
import { sleep } from "../sleep.js";

/** `pause: 2m`: waits, counting down, then passes. */
export const pauseGate: GateRunner = {
  type: "pause",
  describe: (gate) => `pause ${durationOf(gate)}`,
  async run(gate, ctx) {
    const total = durationMs(durationOf(gate));
    const end = Date.now() + total;
    for (let left = total; left > 0; left = end - Date.now()) {
      ctx.progress.wait(`pause ${durationOf(gate)}`, `${formatDuration(left)} left`);
      await sleep(Math.min(1000, left), ctx.signal);
    }
    return { outcome: "passed", detail: `paused ${formatDuration(total)}` };
  },
};

function durationOf(gate: GateSpec): string {
  return typeof gate.duration === "string" ? gate.duration : "0s";
}
