import { durationMs } from "../../playbook/duration.js";
import type { AnalysisSpec, CompareMetricSpec, CompareSpec } from "../../playbook/schema.js";
import { prometheus } from "../../providers/prometheus/index.js";
import type { PrometheusPort } from "../../providers/prometheus/port.js";
import {
  judge,
  lookTimes,
  twoSidedBoundaries,
  type Judgement,
  type MetricConfig,
  type MetricVerdict,
} from "../../stats/index.js";
import { messageOf, RuntimeError } from "../errors.js";
import { sleep } from "../sleep.js";
import type { GateContext, GateOutcome } from "../types.js";

type MetricSpec = AnalysisSpec["metrics"][number];

const COMPARE_DEFAULTS: Omit<MetricConfig, "name"> = {
  direction: "either",
  effectSize: 0.1,
  nanPolicy: "remove",
  critical: false,
  group: "default",
};

export const COMPARE_SPEC_DEFAULTS: CompareSpec = {
  clusters: { source: "source", target: "target" },
  step: "10s",
  alpha: 0.05,
  spending: "obrien-fleming",
  minSamples: 10,
  groupWeights: {},
  passScore: 95,
  marginalScore: 75,
};

interface CompareMetric {
  config: MetricConfig;
  sourceQuery: string;
  targetQuery: string;
}

/** What one look found; journaled as a `comparison` note. */
export interface Comparison {
  look: number;
  count: number;
  /** The |z| a metric had to reach at this look (alpha spending). */
  boundary: number;
  outcome: Judgement["outcome"];
  score: number;
  reason: string;
  metrics: MetricVerdict[];
  /** Metrics whose samples could not be read, with why. */
  errors: Record<string, string>;
}

/** `analysis compare source vs target (alpha 0.05 obrien-fleming): latency increase ≥10%; 5 × 30s`. */
export function describeCompare(spec: AnalysisSpec): string {
  const compare = { ...COMPARE_SPEC_DEFAULTS, ...spec.compare };
  const metrics = spec.metrics.map((metric) => {
    const config = metricConfig(metric);
    return `${metric.name} ${config.direction} ≥${Math.round(config.effectSize * 100)}%${config.critical ? " critical" : ""}`;
  });
  return `analysis compare ${compare.clusters.source} vs ${compare.clusters.target} (alpha ${compare.alpha} ${compare.spending}): ${metrics.join("; ")}, ${spec.count} × ${spec.interval}`;
}

/**
 * Compares the target with the source on the same metrics, as Kayenta's NetflixACAJudge does, at `count`
 * looks `interval` apart: each look reads every metric's samples since the gate began (a range query per side,
 * one sample per `step`) and judges them all (src/stats). Each look tests at its Lan-DeMets boundary, so the
 * chance that any of the looks fails an unchanged target stays at `alpha` however many there are. A look that
 * fails (a critical metric, or a score under `marginalScore`) fails the gate at once; the last look must reach
 * `passScore`. No data never passes: a last look without any is a failure.
 */
export async function runCompare(spec: AnalysisSpec, ctx: GateContext): Promise<GateOutcome> {
  const compare = { ...COMPARE_SPEC_DEFAULTS, ...spec.compare };
  const metrics = spec.metrics.map((metric) => compileMetric(metric, compare));
  const client = prometheus(ctx, spec.prometheus);
  const boundaries = twoSidedBoundaries(compare.spending, compare.alpha, lookTimes(spec.count));
  const stepSeconds = durationMs(compare.step) / 1000;
  const start = Date.now() / 1000;
  let last: Comparison | undefined;
  for (let look = 1; look <= spec.count; look++) {
    await sleep(durationMs(spec.interval), ctx.signal);
    const range = { start, end: Date.now() / 1000, stepSeconds };
    const source: Record<string, number[]> = {};
    const target: Record<string, number[]> = {};
    const errors: Record<string, string> = {};
    for (const metric of metrics) {
      const name = metric.config.name;
      try {
        source[name] = await samples(client, metric.sourceQuery, range, ctx.signal);
        target[name] = await samples(client, metric.targetQuery, range, ctx.signal);
      } catch (error) {
        // A query stopped by SIGTERM is no measurement: the interrupt ends the gate, never a verdict.
        ctx.signal.throwIfAborted();
        errors[name] = messageOf(error);
        source[name] = [];
        target[name] = [];
      }
    }
    const boundary = boundaries[look - 1] ?? Infinity;
    const judgement = judge(
      source,
      target,
      metrics.map((m) => m.config),
      {
        boundary,
        minSamples: compare.minSamples,
        passScore: compare.passScore,
        marginalScore: compare.marginalScore,
        groupWeights: compare.groupWeights,
      },
    );
    last = {
      look,
      count: spec.count,
      boundary,
      outcome: judgement.outcome,
      score: judgement.score,
      reason: judgement.reason,
      metrics: judgement.metrics,
      errors,
    };
    await report(last, ctx);
    if (judgement.outcome === "Fail") return { outcome: "failed", detail: summary(last) };
  }
  if (!last) throw new RuntimeError("analysis compare ran no look: this is a bug");
  if (last.outcome === "Pass") return { outcome: "passed", detail: summary(last) };
  const why = last.outcome === "Marginal" ? "marginal" : "inconclusive";
  return { outcome: "failed", detail: `${why}: ${summary(last)}` };
}

/** The values of the one series a range query returns; several series or none is an error, not data. */
async function samples(
  client: PrometheusPort,
  query: string,
  range: { start: number; end: number; stepSeconds: number },
  signal: AbortSignal,
): Promise<number[]> {
  if (!client.queryRange) throw new RuntimeError(`Prometheus client for ${client.url} has no range queries`);
  const series = await client.queryRange(query, range, signal);
  if (series.length > 1) throw new Error(`${series.length} series for ${query}; the query must return one`);
  return series[0]?.points.map((p) => p.value) ?? [];
}

function compileMetric(metric: MetricSpec, compare: CompareSpec): CompareMetric {
  const placeholder = metric.query.includes("{cluster}");
  const sourceQuery = metric.compare?.sourceQuery;
  if (!placeholder && sourceQuery === undefined) {
    throw new RuntimeError(
      `analysis metric ${metric.name}: a compared metric needs {cluster} in its query, or compare.sourceQuery`,
    );
  }
  const fill = (query: string, cluster: string) => query.replaceAll("{cluster}", cluster);
  return {
    config: metricConfig(metric),
    sourceQuery: sourceQuery ?? fill(metric.query, compare.clusters.source),
    targetQuery: fill(metric.query, compare.clusters.target),
  };
}

function metricConfig(metric: MetricSpec): MetricConfig {
  const given: Partial<CompareMetricSpec> = metric.compare ?? {};
  return {
    name: metric.name,
    direction: given.direction ?? COMPARE_DEFAULTS.direction,
    effectSize: given.effectSize ?? COMPARE_DEFAULTS.effectSize,
    nanPolicy: given.nanPolicy ?? COMPARE_DEFAULTS.nanPolicy,
    critical: given.critical ?? COMPARE_DEFAULTS.critical,
    group: given.group ?? COMPARE_DEFAULTS.group,
  };
}

function summary(comparison: Comparison): string {
  const metrics = comparison.metrics.map((m) => {
    const error = comparison.errors[m.name];
    return `${m.name} ${m.classification}${m.failed ? " (fails)" : ""}: ${error ?? m.reason}`;
  });
  return `look ${comparison.look}/${comparison.count}, ${comparison.outcome}, ${comparison.reason}; ${metrics.join("; ")}`;
}

async function report(comparison: Comparison, ctx: GateContext): Promise<void> {
  const line = `analysis compare ${summary(comparison)}`;
  if (comparison.outcome === "Fail") ctx.progress.warn(line);
  else ctx.progress.info(line);
  await ctx.note("comparison", comparison);
}
