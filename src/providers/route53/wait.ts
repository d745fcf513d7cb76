import { RuntimeError } from "../../engine/errors.js";
import { sleep } from "../../engine/sleep.js";
import { formatDuration } from "../../playbook/duration.js";
import type { ChangeInfo, ChangeStatus, WaitOptions } from "./port.js";

export interface PollTiming {
  intervalMs: number;
  timeoutMs: number;
}

/** Polls `status` until the change is INSYNC, reporting `waiting for INSYNC (12s)` on each PENDING answer. */
export async function pollUntilInSync(
  change: ChangeInfo,
  status: (id: string) => Promise<ChangeStatus>,
  timing: PollTiming,
  options: WaitOptions,
): Promise<void> {
  const started = Date.now();
  let current = change.status;
  while (current !== "INSYNC") {
    const elapsed = Date.now() - started;
    if (elapsed >= timing.timeoutMs) {
      throw new RuntimeError(
        `DNS change ${change.id} is still PENDING after ${formatDuration(elapsed)}; Route 53 normally syncs within a minute. ` +
          "Nothing is lost: run `clustershift apply` again to wait on, or `clustershift rollback` to go back.",
      );
    }
    options.onProgress(`waiting for INSYNC (${Math.round(elapsed / 1000)}s)`);
    await sleep(Math.min(timing.intervalMs, timing.timeoutMs - elapsed), options.signal);
    current = await status(change.id);
  }
}
