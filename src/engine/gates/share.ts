import { durationMs } from "../../playbook/duration.js";
import { prometheus } from "../../providers/prometheus/index.js";
import { messageOf } from "../errors.js";
import { sleep } from "../sleep.js";
import type { GateContext, GateRunner } from "../types.js";

/** The gate as the plan carries it: the step's weight and both queries, written out. */
export interface ShareGate {
  type: "share";
  /** Percent of requests the step sends to the target. */
  weight: number;
  prometheus: string;
  /** Percentage points. */
  tolerance: number;
  interval: string;
  timeout: string;
  /** Requests per second to the target (the ServiceEntry host). */
  remoteQuery: string;
  /** Requests per second of the shifted routes, to the target and the source's own services. */
  totalQuery: string;
}

/** One reading: the share in percent, or why there is none. */
type Reading = { share: number; remote: number; total: number } | { share: undefined; why: string };

/** Why a share lags, said where the user looks: the configured weight is per request, not per connection. */
const LAG_CAUSE =
  "connections that do not follow weight changes keep their old destination (long-lived HTTP/2 or gRPC " +
  "connections held by a client-side proxy, TCP routes), or the rate window still holds requests from before " +
  "the change";

/**
 * The share of the source gateway's requests that reaches the target, read from Prometheus after a weight step:
 * `remoteQuery / totalQuery`. While it differs from the weight by more than `tolerance` points, or cannot be read
 * (no series, no requests, a failed query), the reading is inconclusive and the gate reads again every `interval`;
 * it passes at the first reading within tolerance and fails when `timeout` passes first, saying what it saw last
 * and why a share lags. A configured weight that traffic does not follow would make every later gate judge the
 * wrong mix.
 */
export const shareGate: GateRunner = {
  type: "share",
  describe(gate) {
    const spec = gate as unknown as ShareGate;
    return `observed share at the target within ${spec.tolerance} points of ${spec.weight}%, read every ${spec.interval} from ${spec.prometheus}, up to ${spec.timeout}`;
  },
  async run(gate, ctx) {
    const spec = gate as unknown as ShareGate;
    const timeoutMs = durationMs(spec.timeout);
    const intervalMs = durationMs(spec.interval);
    const started = performance.now();
    let last = "no reading yet";
    for (let index = 1; ; index++) {
      const reading = await read(spec, ctx);
      const lag = reading.share === undefined ? undefined : Math.abs(reading.share - spec.weight);
      last =
        reading.share === undefined
          ? `no share: ${reading.why}`
          : `${formatPercent(reading.share)} at the target (${formatRate(reading.remote)} of ${formatRate(reading.total)} req/s), configured ${spec.weight}%`;
      await ctx.note("share", {
        index,
        weight: spec.weight,
        ...(reading.share === undefined
          ? { share: null, why: reading.why }
          : { share: reading.share, remote: reading.remote, total: reading.total }),
      });
      if (lag !== undefined && lag <= spec.tolerance) {
        const detail = `${last}, within ${spec.tolerance} points`;
        ctx.progress.info(`observed share: ${detail}`);
        return { outcome: "passed", detail };
      }
      const elapsedMs = performance.now() - started;
      if (elapsedMs >= timeoutMs) {
        const detail =
          lag === undefined
            ? `the share at the target could not be observed within ${spec.timeout}: ${last}`
            : `the share at the target lagged the weight for ${spec.timeout}: ${last}, ${formatPoints(lag)} off ` +
              `(tolerance ${spec.tolerance}); ${LAG_CAUSE}`;
        ctx.progress.warn(`observed share: ${detail}`);
        return { outcome: "failed", detail };
      }
      ctx.progress.wait(
        ctx.gate ?? "observed share",
        lag === undefined
          ? `inconclusive: ${last}`
          : `inconclusive: ${last}, ${formatPoints(lag)} off (tolerance ${spec.tolerance}); ${LAG_CAUSE}`,
      );
      await sleep(Math.min(intervalMs, timeoutMs - elapsedMs), ctx.signal);
    }
  },
};

async function read(spec: ShareGate, ctx: GateContext): Promise<Reading> {
  const client = prometheus(ctx, spec.prometheus);
  let remote: number | undefined;
  let total: number | undefined;
  try {
    [remote, total] = await Promise.all(
      [spec.remoteQuery, spec.totalQuery].map(async (query) => {
        const samples = await client.query(query, ctx.signal);
        if (samples.length > 1) throw new Error(`${query} returned ${samples.length} series; sum them`);
        // A rate nobody reported yet is no request at all: `sum` of no series is no series, not 0.
        return samples[0]?.value;
      }),
    );
  } catch (error) {
    ctx.signal.throwIfAborted();
    return { share: undefined, why: messageOf(error) };
  }
  if (total === undefined || !Number.isFinite(total) || total <= 0) {
    return { share: undefined, why: "no requests through the shifted routes in the rate window" };
  }
  const toTarget = remote !== undefined && Number.isFinite(remote) ? remote : 0;
  return { share: Math.min(100, (100 * toTarget) / total), remote: toTarget, total };
}

function formatPercent(share: number): string {
  return `${share.toFixed(1)}%`;
}

function formatPoints(points: number): string {
  return `${points.toFixed(1)} point${points.toFixed(1) === "1.0" ? "" : "s"}`;
}

function formatRate(rate: number): string {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(2);
}
