/** A key of a mapping or an index of a list, from the document root. */
export type PathSegment = string | number;

/**
 * One validation finding, located by its spec path. `at: "key"` points at the key of the last segment
 * (unknown fields); otherwise at the value, or at the parent mapping when the value is missing.
 */
export interface PathIssue {
  path: PathSegment[];
  message: string;
  at?: "key";
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec.traffic.steps[2].weight`; map keys that are not identifiers as `labels[istio.io/rev]`, like Kubernetes. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number" || !IDENTIFIER.test(segment)) out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

const MAX_SHOWN = 64;

/** A value as the messages show it: strings quoted, numbers bare, collections elided. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 3)}...` : value);
  }
  if (Array.isArray(value)) return value.length === 0 ? "[]" : "[...]";
  if (value !== null && typeof value === "object") return Object.keys(value).length === 0 ? "{}" : "{...}";
  return String(value);
}

export const invalid = (value: unknown, detail: string): string =>
  `Invalid value: ${formatValue(value)}: ${detail}`;

export const required = (detail?: string): string =>
  detail ? `Required value: ${detail}` : "Required value";

export const unsupported = (value: unknown, supported: readonly unknown[]): string =>
  `Unsupported value: ${formatValue(value)}: supported values: ${supported.map(formatValue).join(", ")}`;

export function unknownField(name: string, known: readonly string[]): string {
  const suggestion = closest(name, known);
  return suggestion === undefined
    ? `unknown field ${JSON.stringify(name)}`
    : `unknown field ${JSON.stringify(name)}, did you mean ${JSON.stringify(suggestion)}?`;
}

/** The known name a misspelling most likely meant: case-insensitive edit distance of at most 2, less than the name's length. */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(2, name.length - 1);
  for (const candidate of known) {
    // The distance is at least the difference in length: most candidates need no table at all.
    if (Math.abs(candidate.length - lower.length) > bestDistance) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with adjacent transpositions counting one edit (`nmae` → `name`). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
