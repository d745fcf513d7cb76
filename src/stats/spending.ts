import { normalCdf, normalPdf, normalQuantile, normalSf } from "./normal.js";

/** Lan-DeMets spending functions; `none` tests every look at the full alpha (what inflates false alarms). */
export type Spending = "obrien-fleming" | "pocock" | "none";

/**
 * α(t): the part of the two-sided `alpha` spent by information fraction t ∈ [0, 1] (Lan and DeMets 1983),
 * both sides together. O'Brien-Fleming type: nearly nothing early and most at the end; Pocock type:
 * α·ln(1 + (e − 1)t), about evenly.
 */
export function spentAlpha(spending: Spending, alpha: number, t: number): number {
  if (t <= 0) return 0;
  if (t >= 1 || spending === "none") return alpha;
  if (spending === "pocock") return alpha * Math.log(1 + (Math.E - 1) * t);
  // Each side spends alpha/2 with the one-sided function 2 − 2Φ(z_{1−α/4}/√t), as ldbounds, gsDesign and
  // Jennison and Turnbull's tables do for a symmetric two-sided test.
  return 4 * normalSf(normalQuantile(1 - alpha / 4) / Math.sqrt(t));
}

/** Grid points over each continuation region; odd, for Simpson's rule. */
const GRID = 401;

/**
 * Two-sided group-sequential boundaries: the |z| at each look, at information fractions `times` (increasing,
 * the last 1), such that the chance of crossing first at look k under no difference is α(t_k) − α(t_{k−1}).
 * The cumulative z statistics of a rank test at nested samples behave as Brownian motion B(t)/√t, so the
 * chance is computed by the recursive numerical integration of Armitage, McPherson and Rowe (1969), as
 * Jennison and Turnbull (2000, ch. 19) lay it out: the density of B(t_k) on the continuation region, carried
 * from look to look by the normal density of the increment.
 */
export function twoSidedBoundaries(spending: Spending, alpha: number, times: readonly number[]): number[] {
  if (spending === "none") return times.map(() => normalQuantile(1 - alpha / 2));
  const bounds: number[] = [];
  let grid: number[] = [];
  let density: number[] = [];
  let previousT = 0;
  let spent = 0;
  for (const t of times) {
    const increment = spentAlpha(spending, alpha, t) - spent;
    spent += increment;
    if (bounds.length === 0) {
      const b = normalQuantile(1 - increment / 2);
      bounds.push(b);
      grid = linspace(-b * Math.sqrt(t), b * Math.sqrt(t));
      density = grid.map((s) => normalPdf(s / Math.sqrt(t)) / Math.sqrt(t));
    } else {
      const sd = Math.sqrt(t - previousT);
      const weights = simpson(grid);
      const mass = grid.map((_, i) => (weights[i] ?? 0) * (density[i] ?? 0));
      const crossing = (b: number) => {
        const edge = b * Math.sqrt(t);
        let sum = 0;
        grid.forEach((s, i) => {
          sum += (mass[i] ?? 0) * (normalCdf((-edge - s) / sd) + normalSf((edge - s) / sd));
        });
        return sum;
      };
      const b = increment <= 0 ? Infinity : solveDecreasing(crossing, increment);
      bounds.push(b);
      const edge = Number.isFinite(b) ? b * Math.sqrt(t) : 10 * Math.sqrt(t);
      const next = linspace(-edge, edge);
      density = next.map((s) => {
        let sum = 0;
        grid.forEach((u, i) => {
          sum += ((mass[i] ?? 0) * normalPdf((s - u) / sd)) / sd;
        });
        return sum;
      });
      grid = next;
    }
    previousT = t;
  }
  return bounds;
}

/** The b in [0, 40] where the decreasing `f` equals `target`, by bisection. */
function solveDecreasing(f: (b: number) => number, target: number): number {
  let low = 0;
  let high = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2;
    if (f(mid) > target) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

function linspace(from: number, to: number): number[] {
  const step = (to - from) / (GRID - 1);
  return Array.from({ length: GRID }, (_, i) => from + i * step);
}

function simpson(grid: readonly number[]): number[] {
  const h = ((grid[grid.length - 1] ?? 0) - (grid[0] ?? 0)) / (grid.length - 1);
  return grid.map((_, i) => {
    const end = i === 0 || i === grid.length - 1;
    return (h / 3) * (end ? 1 : i % 2 === 1 ? 4 : 2);
  });
}
