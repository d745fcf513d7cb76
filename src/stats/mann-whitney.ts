import { normalQuantile, normalSf } from "./normal.js";

export interface MannWhitneyResult {
  /** U of the first sample, as scipy's `mannwhitneyu(x, y).statistic`: pairs where x wins, ties counting half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: "exact" | "asymptotic";
  /**
   * The normal score of the second sample's U (tie-corrected, without continuity correction): positive when
   * the second sample tends to be larger. 0 when every value is tied.
   */
  z: number;
}

/** Exact below this total sample size, when nothing is tied (the exact null distribution assumes no ties). */
const EXACT_MAX_TOTAL = 40;

/**
 * Two-sided Mann-Whitney U test of `x` against `y`. `auto` is exact for small samples without ties and the
 * normal approximation otherwise, with the tie correction of the variance and the continuity correction,
 * exactly as scipy.stats.mannwhitneyu computes it (`method="exact"` / `"asymptotic"`, `use_continuity=True`).
 */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  method: "auto" | "exact" | "asymptotic" = "auto",
): MannWhitneyResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new Error("mannWhitneyU needs two non-empty samples");
  const { ranks, tieTerm } = rank([...x, ...y]);
  let rankSumX = 0;
  for (let i = 0; i < n; i++) rankSumX += ranks[i] ?? 0;
  const u = rankSumX - (n * (n + 1)) / 2;
  const uY = n * m - u;
  const mean = (n * m) / 2;
  const total = n + m;
  const variance = ((n * m) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  const sd = Math.sqrt(Math.max(variance, 0));
  const z = sd > 0 ? (uY - mean) / sd : 0;
  const exact = method === "exact" || (method === "auto" && tieTerm === 0 && total <= EXACT_MAX_TOTAL);
  if (exact) {
    const upper = Math.max(u, uY);
    return { u, p: Math.min(1, 2 * exactSf(Math.round(upper), n, m)), method: "exact", z };
  }
  if (sd === 0) return { u, p: 1, method: "asymptotic", z };
  const zUpper = (Math.max(u, uY) - mean - 0.5) / sd;
  return { u, p: Math.min(1, 2 * normalSf(zUpper)), method: "asymptotic", z };
}

/** Midranks (1-based) of `values` and Σ(t³ − t) over groups of t tied values. */
export function rank(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length).fill(0);
  let tieTerm = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end]?.value === order[start]?.value) end++;
    const midrank = (start + end + 1) / 2;
    for (let i = start; i < end; i++) ranks[order[i]?.index ?? 0] = midrank;
    const t = end - start;
    tieTerm += t * t * t - t;
    start = end;
  }
  return { ranks, tieTerm };
}

/** P(U ≥ k) under the null for sizes n and m without ties, from the recursion of Mann and Whitney (1947). */
function exactSf(k: number, n: number, m: number): number {
  const pmf = exactPmf(n, m);
  let sum = 0;
  for (let u = Math.max(0, k); u < pmf.length; u++) sum += pmf[u] ?? 0;
  return Math.min(1, sum);
}

const pmfCache = new Map<string, number[]>();

/** P(U = u) for u = 0…nm: p(n,m,u) = n/(n+m)·p(n−1,m,u−m) + m/(n+m)·p(n,m−1,u). */
function exactPmf(n: number, m: number): number[] {
  const key = `${n},${m}`;
  const cached = pmfCache.get(key);
  if (cached) return cached;
  let result: number[];
  if (n === 0 || m === 0) result = [1];
  else {
    const a = exactPmf(n - 1, m);
    const b = exactPmf(n, m - 1);
    result = new Array<number>(n * m + 1).fill(0);
    for (let u = 0; u <= n * m; u++) {
      result[u] = (n / (n + m)) * (a[u - m] ?? 0) + (m / (n + m)) * (b[u] ?? 0);
    }
  }
  pmfCache.set(key, result);
  return result;
}

export interface LocationShift {
  /** Hodges-Lehmann estimate: the median of every difference y − x. */
  estimate: number;
  /** Moses' distribution-free confidence interval of the shift at `confidence`. */
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * The Hodges-Lehmann estimate of how far `y` is shifted from `x`, with the confidence interval of Moses
 * (Hollander and Wolfe, Nonparametric Statistical Methods, §4.3): the sorted pairwise differences D₁ ≤ … ≤ D_N,
 * N = nm, give [D_(k+1), D_(N−k)] with k = ⌊N/2 − z·σ_U⌋, the normal approximation of the U quantile.
 */
export function hodgesLehmann(x: readonly number[], y: readonly number[], confidence = 0.95): LocationShift {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new Error("hodgesLehmann needs two non-empty samples");
  const differences = new Float64Array(n * m);
  let i = 0;
  for (const b of y) for (const a of x) differences[i++] = b - a;
  differences.sort();
  const count = differences.length;
  const middle = count >> 1;
  const estimate =
    count % 2 === 1
      ? (differences[middle] ?? NaN)
      : ((differences[middle - 1] ?? NaN) + (differences[middle] ?? NaN)) / 2;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const sd = Math.sqrt((n * m * (n + m + 1)) / 12);
  const k = Math.min(Math.max(0, Math.floor(count / 2 - z * sd)), Math.floor((count - 1) / 2));
  return {
    estimate,
    lower: differences[k] ?? NaN,
    upper: differences[count - 1 - k] ?? NaN,
    confidence,
  };
}
