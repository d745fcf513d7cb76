/** Small helpers for the report's inline SVG charts: escaping, a time axis and number formatting. */

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** `20ms`, `1.5s`, `32s`, `4m05s`, `1h02m`: the CLI's own way of saying how long something took. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/** A linear time scale from the journal's first entry to its last, onto [left, left + width]. */
export interface TimeScale {
  x(time: number): number;
  start: number;
  end: number;
  left: number;
  width: number;
}

export function timeScale(start: number, end: number, left: number, width: number): TimeScale {
  // A journal of one instant still needs a scale: give it a second.
  const span = Math.max(end - start, 1000);
  return {
    x: (time) => round(left + ((time - start) / span) * width),
    start,
    end: start + span,
    left,
    width,
  };
}

const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/** Ticks of the time axis at a round step, at most `max` of them, as offsets from the start. */
export function timeTicks(scale: TimeScale, max = 8): { x: number; label: string }[] {
  const spanS = (scale.end - scale.start) / 1000;
  const step = TICK_STEPS_S.find((s) => spanS / s <= max) ?? 86400;
  const ticks = [];
  for (let s = 0; s <= spanS + 1e-9; s += step) {
    ticks.push({ x: scale.x(scale.start + s * 1000), label: s === 0 ? "0" : `+${formatDuration(s * 1000)}` });
  }
  return ticks;
}

export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Colours that read on white and apart from each other, for series and distinct values. */
export const PALETTE = [
  "#2563eb",
  "#d97706",
  "#059669",
  "#7c3aed",
  "#dc2626",
  "#0891b2",
  "#65a30d",
  "#db2777",
];
