export { normalCdf, normalPdf, normalQuantile, normalSf } from "./normal.js";
export {
  hodgesLehmann,
  mannWhitneyU,
  rank,
  type LocationShift,
  type MannWhitneyResult,
} from "./mann-whitney.js";
export { spentAlpha, twoSidedBoundaries, type Spending } from "./spending.js";
export {
  judge,
  judgeMetric,
  type Classification,
  type Direction,
  type JudgeOptions,
  type Judgement,
  type MetricConfig,
  type MetricVerdict,
  type Outcome,
} from "./judge.js";
export { normalDraws, seededRandom } from "./random.js";

/** Information fractions of `count` equally spaced looks: 1/count, 2/count, …, 1. */
export function lookTimes(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + 1) / count);
}
