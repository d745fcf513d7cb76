import { durationMs } from "../../playbook/duration.js";
import type { AnalysisSpec } from "../../playbook/schema.js";
import { prometheus } from "../../providers/prometheus/index.js";
import { messageOf, RuntimeError } from "../errors.js";
import { sleep } from "../sleep.js";
import type { GateContext, GateOutcome, GateRunner, GateSpec } from "../types.js";
import { describeCompare, runCompare } from "./analysis-compare.js";
import { evaluateCondition, formatCondition, parseCondition, type Condition } from "../../core/conditions.js";

export type MeasurementPhase = "successful" | "failed" | "inconclusive";

/** What one measurement found; journaled as a `measurement` note. */
export interface Measurement {
  metric: string;
  /** 1-based, of `count`. */
  index: number;
  count: number;
  /** null: the query returned no sample (or failed); NaN and ±Inf are kept as strings, JSON has no numbers for them. */
  value: number | string | null;
  phase: MeasurementPhase;
  detail: string;
}

interface Metric {
  name: string;
  query: string;
  success?: Condition;
  failure?: Condition;
}

/**
 * Prometheus analysis with Argo Rollouts semantics: `count` measurements of every metric, `interval` apart (the
 * first at once). A measurement fails when the failure condition holds, or (without one) when the success
 * condition does not; it is inconclusive when neither decides, and always when there is no number to judge (no
 * series, NaN, several series, a query error): no data never passes. The gate fails as soon as a metric has more
 * failures than `failureLimit`, or more inconclusive measurements than `inconclusiveLimit` (the run's `onFailure`
 * then rolls back or pauses); it passes after `count` measurements otherwise. With `compare`, the target is
 * judged against the source instead (analysis-compare.ts).
 */
export const analysisGate: GateRunner = {
  type: "analysis",
  describe(gate) {
    const spec = analysisOf(gate);
    if (spec.compare) return describeCompare(spec);
    const metrics = spec.metrics.map((metric) => {
      const conditions = [
        metric.successCondition && `${metric.successCondition.trim()}`,
        metric.failureCondition && `fails ${metric.failureCondition.trim()}`,
      ].filter(Boolean);
      return conditions.length ? `${metric.name} ${conditions.join(", ")}` : metric.name;
    });
    return `analysis ${metrics.join("; ")}, ${spec.count} × ${spec.interval}`;
  },
  async run(gate, ctx) {
    const spec = analysisOf(gate);
    if (spec.compare) return runCompare(spec, ctx);
    const metrics = spec.metrics.map(compileMetric);
    const client = prometheus(ctx, spec.prometheus);
    const tally = new Map(metrics.map((m) => [m.name, { successful: 0, failed: 0, inconclusive: 0 }]));
    for (let index = 1; index <= spec.count; index++) {
      if (index > 1) await sleep(durationMs(spec.interval), ctx.signal);
      for (const metric of metrics) {
        const measurement = await measure(metric, index, spec.count, (expr) =>
          client.query(expr, ctx.signal),
        );
        // A query stopped by SIGTERM is no measurement: counted as inconclusive it could fail the gate and roll back.
        ctx.signal.throwIfAborted();
        await report(measurement, ctx);
        const counts = tally.get(metric.name) ?? { successful: 0, failed: 0, inconclusive: 0 };
        counts[measurement.phase] += 1;
        if (counts.failed > spec.failureLimit) {
          return failed(
            `${metric.name}: ${counts.failed} failed measurement(s), limit ${spec.failureLimit}; last ${measurement.detail}`,
          );
        }
        if (counts.inconclusive > spec.inconclusiveLimit) {
          return failed(
            `${metric.name}: inconclusive, ${counts.inconclusive} measurement(s) without a verdict, limit ${spec.inconclusiveLimit}; last ${measurement.detail}`,
          );
        }
      }
    }
    const summary = [...tally]
      .map(([name, c]) => `${name} ${c.successful}/${spec.count} successful`)
      .join(", ");
    return { outcome: "passed", detail: summary };
  },
};

function failed(detail: string): GateOutcome {
  return { outcome: "failed", detail };
}

async function measure(
  metric: Metric,
  index: number,
  count: number,
  query: (expr: string) => Promise<{ value: number }[]>,
): Promise<Measurement> {
  const base = { metric: metric.name, index, count };
  let samples: { value: number }[];
  try {
    samples = await query(metric.query);
  } catch (error) {
    return {
      ...base,
      value: null,
      phase: "inconclusive",
      detail: messageOf(error),
    };
  }
  const [sample] = samples;
  if (!sample)
    return { ...base, value: null, phase: "inconclusive", detail: "no data (the query returned no series)" };
  if (samples.length > 1) {
    return {
      ...base,
      value: null,
      phase: "inconclusive",
      detail: `${samples.length} series; the query must return one`,
    };
  }
  const value = sample.value;
  const shown = Number.isFinite(value) ? value : String(value);
  if (Number.isNaN(value))
    return { ...base, value: shown, phase: "inconclusive", detail: "NaN (no requests in the window?)" };
  return { ...base, value: shown, ...verdict(metric, value) };
}

/** Argo Rollouts' EvaluateResult: the failure condition wins; a missing condition is the other's negation. */
function verdict(metric: Metric, value: number): { phase: MeasurementPhase; detail: string } {
  const success = metric.success ? evaluateCondition(metric.success, value) : undefined;
  const failure = metric.failure ? evaluateCondition(metric.failure, value) : undefined;
  const shown = formatNumber(value);
  if (failure ?? success === false) {
    const why = failure
      ? `meets failure condition ${fmt(metric.failure)}`
      : `does not meet ${fmt(metric.success)}`;
    return { phase: "failed", detail: `${shown} ${why}` };
  }
  if (success ?? failure === false) {
    const why = success
      ? `meets ${fmt(metric.success)}`
      : `does not meet failure condition ${fmt(metric.failure)}`;
    return { phase: "successful", detail: `${shown} ${why}` };
  }
  if (!metric.success && !metric.failure) return { phase: "successful", detail: `${shown} (no condition)` };
  return {
    phase: "inconclusive",
    detail: `${shown} meets neither ${fmt(metric.success)} nor failure condition ${fmt(metric.failure)}`,
  };
}

async function report(measurement: Measurement, ctx: GateContext): Promise<void> {
  const { metric, index, count, phase, detail } = measurement;
  const line = `analysis ${metric} ${index}/${count}: ${detail} → ${phase}`;
  if (phase === "successful") ctx.progress.info(line);
  else ctx.progress.warn(line);
  await ctx.note("measurement", measurement);
}

function compileMetric(metric: AnalysisSpec["metrics"][number]): Metric {
  const compiled: Metric = { name: metric.name, query: metric.query };
  if (metric.successCondition !== undefined)
    compiled.success = conditionOf(metric.name, "successCondition", metric.successCondition);
  if (metric.failureCondition !== undefined)
    compiled.failure = conditionOf(metric.name, "failureCondition", metric.failureCondition);
  return compiled;
}

function conditionOf(metric: string, field: string, text: string): Condition {
  const condition = parseCondition(text);
  if (!condition) {
    throw new RuntimeError(
      `analysis metric ${metric}: ${field} ${JSON.stringify(text)} is not a condition such as ">= 0.99"`,
    );
  }
  return condition;
}

/** The gate as the playbook gave it (validated there); defaults again here so a hand-built gate works too. */
function analysisOf(gate: GateSpec): AnalysisSpec {
  const spec = gate as unknown as Partial<AnalysisSpec>;
  if (typeof spec.prometheus !== "string" || !Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    throw new RuntimeError("analysis gate needs `prometheus` (a URL) and at least one metric: this is a bug");
  }
  return {
    prometheus: spec.prometheus,
    interval: spec.interval ?? "30s",
    count: spec.count ?? 5,
    failureLimit: spec.failureLimit ?? 0,
    inconclusiveLimit: spec.inconclusiveLimit ?? 0,
    metrics: spec.metrics,
    ...(spec.compare ? { compare: spec.compare } : {}),
  };
}

function fmt(condition: Condition | undefined): string {
  return condition ? formatCondition(condition) : "";
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
}
