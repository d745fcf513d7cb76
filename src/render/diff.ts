import { isDeepStrictEqual } from "node:util";
import { KNOWN_AFTER_APPLY } from "../engine/types.js";

/** One field of an update: changed in place, added, or removed. Paths read as `spec.http[1].route[0].weight`. */
export type FieldChange =
  | { op: "change"; path: string; before: unknown; after: unknown }
  | { op: "add"; path: string; after: unknown }
  | { op: "remove"; path: string; before: unknown };

/**
 * The fields that differ between `before` and `after`, unchanged ones left out. With `merge` (a server-side apply)
 * a field `after` does not set stays as it is, so it is not a removal: only what `after` sets can differ.
 */
export function fieldDiff(before: unknown, after: unknown, options: { merge?: boolean } = {}): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, "", options.merge === true, out);
  return out;
}

function walk(before: unknown, after: unknown, path: string, merge: boolean, out: FieldChange[]): void {
  if (isDeepStrictEqual(before, after)) return;
  if (after === undefined) {
    if (!merge) out.push({ op: "remove", path, before });
    return;
  }
  if (before === undefined) {
    if (!(merge && isEmpty(after))) out.push({ op: "add", path, after });
    return;
  }
  if (isRecord(before) && isRecord(after)) {
    for (const key of Object.keys(after)) walk(before[key], after[key], join(path, key), merge, out);
    for (const key of Object.keys(before))
      if (!(key in after)) walk(before[key], undefined, join(path, key), merge, out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && path.endsWith(".route")) {
    const [was, now] = [implicitWeight(before, after), implicitWeight(after, before)];
    if (was !== before || now !== after) return walk(was, now, path, merge, out);
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    // By position: a list the write replaces (Istio routes, ports) is compared item by item; a list that grew or
    // shrank shows its extra items as added or removed, whatever the merge (an apply replaces such lists whole).
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) walk(before[i], after[i], `${path}[${i}]`, merge, out);
    for (let i = common; i < after.length; i++)
      out.push({ op: "add", path: `${path}[${i}]`, after: after[i] });
    for (let i = common; i < before.length; i++)
      out.push({ op: "remove", path: `${path}[${i}]`, before: before[i] });
    return;
  }
  out.push({ op: "change", path, before, after });
}

/**
 * Istio sends all of a route's traffic to a lone destination without a weight: when the other side of the diff
 * splits the route by weight, that destination reads as weight 100, so a split shows as `weight: 100 → 90`.
 */
function implicitWeight(side: unknown[], other: unknown[]): unknown[] {
  const [only] = side;
  const weighted = other.some((item) => isRecord(item) && typeof item.weight === "number");
  if (side.length !== 1 || !isRecord(only) || !isRecord(only.destination) || "weight" in only || !weighted)
    return side;
  return [{ ...only, weight: 100 }];
}

/** `spec.ports`, and `metadata.labels["istio.io/rev"]` for keys that are not plain words. */
function join(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  if (value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

/** Longest value shown on a line; longer ones end in `…` (the JSON plan has them whole). */
export const VALUE_WIDTH = 60;

/**
 * A value as one short line: strings quoted, objects in a compact JSON-like form, anything past `width`
 * abbreviated. A value known only after apply reads `(known after apply)`, unquoted.
 */
export function formatValue(value: unknown, width = VALUE_WIDTH): string {
  if (value === KNOWN_AFTER_APPLY) return KNOWN_AFTER_APPLY;
  const text = destinationText(value) ?? compact(value);
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** An Istio route destination as it reads in a split: `host:port subset v2 weight 10`; undefined for anything else. */
function destinationText(value: unknown): string | undefined {
  if (!isRecord(value) || !isRecord(value.destination) || typeof value.destination.host !== "string") return;
  if (Object.keys(value).some((key) => key !== "destination" && key !== "weight")) return;
  const { host, port, subset, ...rest } = value.destination;
  if (Object.keys(rest).length > 0) return;
  const number = isRecord(port) && typeof port.number === "number" ? `:${port.number}` : "";
  const parts = [`${host}${number}`];
  if (typeof subset === "string") parts.push(`subset ${subset}`);
  if (typeof value.weight === "number") parts.push(`weight ${value.weight}`);
  return parts.join(" ");
}

function compact(value: unknown): string {
  if (value === KNOWN_AFTER_APPLY) return KNOWN_AFTER_APPLY;
  if (Array.isArray(value)) return `[${value.map(compact).join(", ")}]`;
  if (isRecord(value)) {
    const fields = Object.entries(value).map(([key, item]) => `${key}: ${compact(item)}`);
    return `{${fields.join(", ")}}`;
  }
  if (value === undefined) return "null";
  return JSON.stringify(value);
}

/**
 * Terraform's `after_unknown`: `true` where `after` holds a value known only after apply, `false` for known items
 * of a list (so positions hold), and objects holding only their keys that lead to an unknown.
 */
export function afterUnknown(after: unknown): unknown {
  if (after === KNOWN_AFTER_APPLY) return true;
  if (Array.isArray(after))
    return after.map((item) => {
      const unknown = afterUnknown(item);
      return hasUnknown(unknown) ? unknown : false;
    });
  if (isRecord(after)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(after)) {
      const unknown = afterUnknown(value);
      if (hasUnknown(unknown)) out[key] = unknown;
    }
    return out;
  }
  return false;
}

function hasUnknown(unknown: unknown): boolean {
  if (unknown === true) return true;
  if (Array.isArray(unknown)) return unknown.some(hasUnknown);
  return isRecord(unknown) && Object.keys(unknown).length > 0;
}

/** `after` with its unknown values left out (object keys dropped, list items `null`), as Terraform's JSON plan. */
export function withoutUnknowns(after: unknown): unknown {
  if (after === KNOWN_AFTER_APPLY) return null;
  if (Array.isArray(after)) return after.map(withoutUnknowns);
  if (isRecord(after)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(after))
      if (value !== KNOWN_AFTER_APPLY) out[key] = withoutUnknowns(value);
    return out;
  }
  return after;
}
