/** A series selector of the text format: a metric name and exact label matchers (`name{a="x",b="y"}`). */
export interface ExpositionSelector {
  name: string;
  labels: Record<string, string>;
}

const SELECTOR = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?$/;
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** Parses `istio_requests_total{reporter="source"}`; undefined when it is not a name with exact matchers. */
export function parseSelector(text: string): ExpositionSelector | undefined {
  const match = SELECTOR.exec(text.trim());
  if (!match?.[1]) return undefined;
  const labels = parseLabels(match[2] ?? "");
  return labels ? { name: match[1], labels } : undefined;
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  MATCHER.lastIndex = 0;
  while (MATCHER.lastIndex < text.length) {
    const start = MATCHER.lastIndex;
    const match = MATCHER.exec(text);
    if (!match?.[1] || MATCHER.lastIndex === start)
      return text.slice(start).trim() === "" ? labels : undefined;
    labels[match[1]] = unescape(match[2] ?? "");
  }
  return labels;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/**
 * The sum of every sample of the Prometheus text exposition format (what `/metrics` and Envoy's
 * `/stats/prometheus` serve) that `selector` matches, and how many matched. Comments and other metrics are skipped.
 */
export function sumSamples(text: string, selector: ExpositionSelector): { sum: number; series: number } {
  let sum = 0;
  let series = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.search(/\s/);
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd < 0 || line.slice(0, nameEnd) !== selector.name) continue;
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) {
      const close = closingBrace(rest);
      if (close < 0) continue;
      labels = parseLabels(rest.slice(1, close)) ?? {};
      rest = rest.slice(close + 1);
    }
    if (!Object.entries(selector.labels).every(([k, v]) => labels[k] === v)) continue;
    const value = valueOf(rest.trim().split(/\s+/)[0] ?? "");
    if (value === undefined) continue;
    sum += value;
    series += 1;
  }
  return { sum, series };
}

/** The index of the `}` that ends the label set, skipping braces inside quoted values. */
function closingBrace(text: string): number {
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "}" && !quoted) return i;
  }
  return -1;
}

function valueOf(text: string): number | undefined {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  return text === "" || Number.isNaN(value) ? undefined : value;
}
