import { RuntimeError, messageOf } from "../../engine/errors.js";
import type { ReadContext } from "../../engine/types.js";
import { durationMs, formatDuration } from "../../playbook/duration.js";
import type { DecommissionSpec, Playbook } from "../../playbook/schema.js";
import { parseSelector, sumSamples, type ExpositionSelector } from "../../providers/prometheus/exposition.js";
import { prometheus } from "../../providers/prometheus/index.js";
import { sleep } from "../../engine/sleep.js";

export const QUIET_ADDRESS = "source ingress quiet";

/** Where the source gateway's request rate comes from: a PromQL query, or a counter scraped directly. */
export type RateSource =
  | { kind: "prometheus"; url: string; query: string }
  | { kind: "scrape"; url: string; selector: ExpositionSelector; metric: string };

/**
 * The request-rate source a playbook asks for. Without a query, the source gateway's own Istio metrics: Envoy in
 * an ingress gateway reports its requests with `reporter="source"` and itself as `source_workload`, and its
 * counter stays when traffic stops, so an idle gateway reads 0 rather than no series.
 */
export function rateSource(spec: DecommissionSpec, playbook: Playbook): RateSource {
  const { traffic } = spec;
  if ((traffic.prometheus === undefined) === (traffic.scrape === undefined)) {
    throw new RuntimeError(
      "spec.decommission.traffic needs exactly one of `prometheus` (a Prometheus URL) or `scrape` (a metrics URL such as the gateway's :15090/stats/prometheus)",
    );
  }
  if (traffic.scrape !== undefined) {
    const selector = parseSelector(traffic.metric);
    if (!selector) {
      throw new RuntimeError(
        `spec.decommission.traffic.metric ${JSON.stringify(traffic.metric)} must be a counter name with exact label matchers, e.g. istio_requests_total{reporter="source"}`,
      );
    }
    return { kind: "scrape", url: traffic.scrape, selector, metric: traffic.metric };
  }
  const ingress = playbook.spec.source.ingress;
  if (traffic.query === undefined && !ingress) {
    throw new RuntimeError(
      "spec.decommission.traffic.query is required when spec.source.ingress does not name the source gateway",
    );
  }
  const query =
    traffic.query ??
    `sum(rate(istio_requests_total{reporter="source",source_workload_namespace="${ingress?.namespace}",source_workload="${ingress?.service}"}[1m]))`;
  return { kind: "prometheus", url: traffic.prometheus ?? "", query };
}

export function describeQuiet(spec: DecommissionSpec, source: RateSource): string {
  const what = source.kind === "prometheus" ? source.query : `rate of ${source.metric} at ${source.url}`;
  return `${what} < ${spec.traffic.threshold}/s for ${spec.traffic.window}, up to ${spec.traffic.timeout}`;
}

/** Reads the rate once; undefined with a reason when there is no number to judge (never taken as quiet). */
type Reader = () => Promise<{ rate: number } | { rate: undefined; why: string }>;

function reader(source: RateSource, ctx: ReadContext): Reader {
  if (source.kind === "prometheus") {
    const client = prometheus(ctx, source.url);
    return async () => {
      let samples;
      try {
        samples = await client.query(source.query, ctx.signal);
      } catch (error) {
        return { rate: undefined, why: messageOf(error) };
      }
      // A query that matches nothing is a wrong query as often as an idle gateway: it never counts as quiet.
      if (samples.length === 0)
        return { rate: undefined, why: "no series (does the query match the source gateway?)" };
      if (samples.length > 1)
        return { rate: undefined, why: `${samples.length} series; the query must return one (sum it)` };
      const value = samples[0]?.value ?? NaN;
      return Number.isFinite(value) ? { rate: value } : { rate: undefined, why: `${value}` };
    };
  }
  let previous: { at: number; total: number } | undefined;
  return async () => {
    let text: string;
    try {
      const response = await fetch(source.url, {
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
      });
      if (!response.ok) return { rate: undefined, why: `${source.url} answered HTTP ${response.status}` };
      text = await response.text();
    } catch (error) {
      return { rate: undefined, why: `${source.url} did not answer: ${messageOf(error)}` };
    }
    const { sum, series } = sumSamples(text, source.selector);
    if (series === 0) return { rate: undefined, why: `no ${source.metric} series at ${source.url}` };
    const now = Date.now();
    const last = previous;
    previous = { at: now, total: sum };
    if (!last || now <= last.at) return { rate: undefined, why: "first reading of the counter" };
    // A counter that went down was reset (the gateway restarted): what it counts now is all new.
    const delta = sum >= last.total ? sum - last.total : sum;
    return { rate: (delta * 1000) / (now - last.at) };
  };
}

/**
 * Resolves once the source's request rate stayed below the threshold for the whole window, reading it every
 * window/5 (1 s to 15 s); a reading at or above it, or without a number, starts the window again. Throws when
 * the timeout passes first: nothing has been changed then.
 */
export async function waitQuiet(
  spec: DecommissionSpec,
  source: RateSource,
  ctx: ReadContext,
): Promise<string> {
  const { threshold } = spec.traffic;
  const windowMs = durationMs(spec.traffic.window);
  const timeoutMs = durationMs(spec.traffic.timeout);
  const everyMs = Math.min(15_000, Math.max(1_000, Math.floor(windowMs / 5)));
  const read = reader(source, ctx);
  const started = Date.now();
  let quietSince: number | undefined;
  let last = "no reading yet";
  for (;;) {
    const reading = await read();
    const now = Date.now();
    if (reading.rate !== undefined && reading.rate < threshold) {
      quietSince ??= now;
      last = `${formatRate(reading.rate)} req/s`;
      const quietMs = now - quietSince;
      if (quietMs >= windowMs) return `${last}, below ${threshold}/s for ${formatDuration(quietMs)}`;
      ctx.progress.wait(
        QUIET_ADDRESS,
        `${last}, quiet for ${formatDuration(quietMs)} of ${spec.traffic.window}`,
      );
    } else {
      quietSince = undefined;
      last =
        reading.rate === undefined
          ? `no rate: ${reading.why}`
          : `${formatRate(reading.rate)} req/s, not below ${threshold}/s`;
      ctx.progress.wait(QUIET_ADDRESS, last);
    }
    if (now - started >= timeoutMs) {
      throw new RuntimeError(
        `the source ingress still receives traffic (or its rate cannot be read): ${last} after ${spec.traffic.timeout}; ` +
          "nothing was scaled or deleted. Find who still sends to the source (clients caching the old DNS answer, " +
          "hard-coded addresses), then run `clustershift apply` again.",
      );
    }
    await sleep(
      Math.min(everyMs, Math.max(0, quietSince === undefined ? everyMs : windowMs - (now - quietSince))),
      ctx.signal,
    );
  }
}

function formatRate(rate: number): string {
  return String(Number(rate.toPrecision(3)));
}
