import type { ReadContext } from "../../engine/types.js";
import { memoClient } from "../memo.js";
import { createGkeClient } from "./client.js";
import { createHubClient } from "./hub-client.js";
import type { GkePort, HubPort } from "./port.js";

/** Keys in `ctx.clients`; a test presets them with a client aimed at its fakes. */
export const GKE_CLIENT_KEY = "gke";
export const GKEHUB_CLIENT_KEY = "gkehub";

type ClientContext = Pick<ReadContext, "clients" | "signal">;

/** The run's GKE cluster manager client, created on first use; an interrupted run stops its calls and retries. */
export function gke(ctx: ClientContext): GkePort {
  return memoClient(ctx, GKE_CLIENT_KEY, () => createGkeClient({ signal: ctx.signal }));
}

/** The run's GKE Hub (fleet) client, created on first use; an interrupted run stops its calls and retries. */
export function gkeHub(ctx: ClientContext): HubPort {
  return memoClient(ctx, GKEHUB_CLIENT_KEY, () => createHubClient({ signal: ctx.signal }));
}

export type * from "./port.js";
export { clusterName } from "./names.js";
