import { durationMs } from "../playbook/duration.js";
import { DURATION_PATTERN } from "../playbook/schema.js";
import type { RunOptions } from "../engine/types.js";

/**
 * `CLUSTERSHIFT_GKE_POLL_INTERVAL` and `CLUSTERSHIFT_GKE_RETRY_DELAY` (durations such as `20ms`): test hooks that
 * shorten the GKE providers' polling and retry backoff against local fakes. Read here, at the CLI, and handed to
 * the run as RunOptions.gkeTiming; the providers never read the environment for them. Junk is ignored (the
 * defaults stay), absent too.
 */
export function gkeTimingFromEnv(env: NodeJS.ProcessEnv): Pick<RunOptions, "gkeTiming"> {
  const ms = (text: string | undefined) =>
    text && DURATION_PATTERN.test(text) ? durationMs(text) : undefined;
  const pollIntervalMs = ms(env.CLUSTERSHIFT_GKE_POLL_INTERVAL);
  const retryDelayMs = ms(env.CLUSTERSHIFT_GKE_RETRY_DELAY);
  if (pollIntervalMs === undefined && retryDelayMs === undefined) return {};
  return {
    gkeTiming: {
      ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
      ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
    },
  };
}
