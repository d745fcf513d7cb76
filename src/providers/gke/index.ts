import type { ReadContext } from "../../engine/types.js";
import { memoClient } from "../memo.js";
import { createGkeClient } from "./client.js";
import { createHubClient } from "./hub-client.js";
import type { GkePort, HubPort } from "./port.js";

/** Keys in `ctx.clients`; a test presets them with a client aimed at its fakes. */
export const GKE_CLIENT_KEY = "gke";
export const GKEHUB_CLIENT_KEY = "gkehub";

type ClientContext = Pick<ReadContext, "clients" | "signal" | "options">;

/** The signal and the retry backoff the run's caller chose (RunOptions.gkeTiming) for a client of the run. */
function clientOptions(ctx: ClientContext) {
  const delay = ctx.options.gkeTiming?.retryDelayMs;
  return { signal: ctx.signal, ...(delay === undefined ? {} : { retry: { baseDelayMs: delay } }) };
}

/** The run's GKE cluster manager client, created on first use; an interrupted run stops its calls and retries. */
export function gke(ctx: ClientContext): GkePort {
  return memoClient(ctx, GKE_CLIENT_KEY, () => createGkeClient(clientOptions(ctx)));
}

/** The run's GKE Hub (fleet) client, created on first use; an interrupted run stops its calls and retries. */
export function gkeHub(ctx: ClientContext): HubPort {
  return memoClient(ctx, GKEHUB_CLIENT_KEY, () => createHubClient(clientOptions(ctx)));
}

export { pollInterval } from "./poll.js";

export type * from "./port.js";
export { clusterName } from "./names.js";
