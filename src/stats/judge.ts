import { hodgesLehmann, mannWhitneyU } from "./mann-whitney.js";
import { normalSf } from "./normal.js";

/** Which change of the target against the source fails the metric. */
export type Direction = "increase" | "decrease" | "either";

export interface MetricConfig {
  name: string;
  direction: Direction;
  /** Smallest relative shift that fails: |HL shift| / |median(source)|, e.g. 0.1 for 10%. */
  effectSize: number;
  /** NaN samples: dropped, or counted as 0 (a rate of nothing). */
  nanPolicy: "remove" | "replace";
  /** A failure fails the whole judgement, whatever the score. */
  critical: boolean;
  group: string;
}

/** Kayenta's classifications: High and Low are significant shifts, Nodata too few samples to judge. */
export type Classification = "Pass" | "High" | "Low" | "Nodata";

export interface MetricVerdict {
  name: string;
  group: string;
  classification: Classification;
  /** High or Low in a direction that fails the metric. */
  failed: boolean;
  critical: boolean;
  reason: string;
  sourceCount: number;
  targetCount: number;
  /** Two-sided Mann-Whitney p-value; absent with Nodata. */
  p?: number;
  /** Hodges-Lehmann shift (target − source) and its interval at the look's nominal level. */
  shift?: { estimate: number; lower: number; upper: number };
  /** shift / |median(source)|. */
  relativeShift?: number;
}

export type Outcome = "Pass" | "Marginal" | "Fail" | "Nodata";

export interface Judgement {
  outcome: Outcome;
  /** 0-100: group scores (percent of metrics with data that pass) weighed by group. */
  score: number;
  metrics: MetricVerdict[];
  reason: string;
}

export interface JudgeOptions {
  /** The two-sided |z| a metric must reach at this look (the alpha-spending boundary). */
  boundary: number;
  minSamples: number;
  passScore: number;
  marginalScore: number;
  /** Group weights; a group not named weighs 1. */
  groupWeights: Record<string, number>;
}

/**
 * NetflixACAJudge's way, per metric: NaN policy, a minimum sample count (Nodata below it), a two-sided
 * Mann-Whitney test and the Hodges-Lehmann shift with its interval, both at the look's boundary. A metric is
 * High (Low) when the interval lies wholly above (below) 0 and the relative shift reaches `effectSize`; it fails
 * when that is the direction it guards. Groups score the percent of their metrics with data that pass; the
 * score weighs the groups. A failed critical metric fails the judgement. Pass needs `passScore`; below it and
 * at least `marginalScore` is Marginal; below that Fail. Nothing with data at all is Nodata.
 */
export function judge(
  source: Record<string, readonly number[]>,
  target: Record<string, readonly number[]>,
  metrics: readonly MetricConfig[],
  options: JudgeOptions,
): Judgement {
  const verdicts = metrics.map((metric) =>
    judgeMetric(source[metric.name] ?? [], target[metric.name] ?? [], metric, options),
  );
  const groups = new Map<string, { pass: number; counted: number }>();
  for (const verdict of verdicts) {
    if (verdict.classification === "Nodata") continue;
    const group = groups.get(verdict.group) ?? { pass: 0, counted: 0 };
    group.counted += 1;
    if (!verdict.failed) group.pass += 1;
    groups.set(verdict.group, group);
  }
  let weighted = 0;
  let weights = 0;
  for (const [name, { pass, counted }] of groups) {
    const weight = options.groupWeights[name] ?? 1;
    weighted += weight * ((100 * pass) / counted);
    weights += weight;
  }
  const score = weights > 0 ? weighted / weights : 0;
  const criticalFailed = verdicts.filter((v) => v.critical && v.failed);
  const criticalNodata = verdicts.filter((v) => v.critical && v.classification === "Nodata");
  if (criticalFailed.length > 0) {
    const names = criticalFailed.map((v) => v.name).join(", ");
    return { outcome: "Fail", score, metrics: verdicts, reason: `critical metric failed: ${names}` };
  }
  if (groups.size === 0 || criticalNodata.length > 0) {
    const which =
      criticalNodata.length > 0 ? `critical ${criticalNodata.map((v) => v.name).join(", ")}` : "every metric";
    return { outcome: "Nodata", score, metrics: verdicts, reason: `no data to judge for ${which}` };
  }
  const shown = Number(score.toFixed(1));
  if (score >= options.passScore)
    return { outcome: "Pass", score, metrics: verdicts, reason: `score ${shown} ≥ ${options.passScore}` };
  if (score >= options.marginalScore) {
    return {
      outcome: "Marginal",
      score,
      metrics: verdicts,
      reason: `score ${shown} < ${options.passScore} (pass), ≥ ${options.marginalScore} (marginal)`,
    };
  }
  return { outcome: "Fail", score, metrics: verdicts, reason: `score ${shown} < ${options.marginalScore}` };
}

export function judgeMetric(
  sourceRaw: readonly number[],
  targetRaw: readonly number[],
  metric: MetricConfig,
  options: Pick<JudgeOptions, "boundary" | "minSamples">,
): MetricVerdict {
  const clean = (values: readonly number[]) =>
    metric.nanPolicy === "replace"
      ? values.map((v) => (Number.isNaN(v) ? 0 : v)).filter(Number.isFinite)
      : values.filter(Number.isFinite);
  const source = clean(sourceRaw);
  const target = clean(targetRaw);
  const base = {
    name: metric.name,
    group: metric.group,
    critical: metric.critical,
    sourceCount: source.length,
    targetCount: target.length,
  };
  if (source.length < options.minSamples || target.length < options.minSamples) {
    return {
      ...base,
      classification: "Nodata",
      failed: false,
      reason: `${source.length} source and ${target.length} target samples, fewer than ${options.minSamples}`,
    };
  }
  const test = mannWhitneyU(source, target);
  const confidence = 1 - 2 * normalSf(options.boundary);
  const hl = hodgesLehmann(source, target, confidence);
  const scale = Math.abs(median(source));
  const relativeShift =
    scale > 0 ? hl.estimate / scale : hl.estimate === 0 ? 0 : Math.sign(hl.estimate) * Infinity;
  const shift = { estimate: hl.estimate, lower: hl.lower, upper: hl.upper };
  const large = Math.abs(relativeShift) >= metric.effectSize;
  let classification: Classification = "Pass";
  if (hl.lower > 0 && large && Math.abs(test.z) >= options.boundary) classification = "High";
  else if (hl.upper < 0 && large && Math.abs(test.z) >= options.boundary) classification = "Low";
  const failed =
    (classification === "High" && metric.direction !== "decrease") ||
    (classification === "Low" && metric.direction !== "increase");
  const percent = `${(relativeShift * 100).toFixed(1)}%`;
  const interval = `[${fmt(hl.lower)}, ${fmt(hl.upper)}]`;
  const reason =
    classification === "Pass"
      ? `shift ${fmt(hl.estimate)} (${percent}) ${interval}, |z| ${Math.abs(test.z).toFixed(2)} < ${options.boundary.toFixed(2)} or under the effect size ${metric.effectSize}`
      : `${classification === "High" ? "higher" : "lower"} by ${fmt(hl.estimate)} (${percent}) ${interval}, |z| ${Math.abs(test.z).toFixed(2)} ≥ ${options.boundary.toFixed(2)}${failed ? "" : `, allowed (direction ${metric.direction})`}`;
  return { ...base, classification, failed, reason, p: test.p, shift, relativeShift };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(4)));
}
