import { z } from "zod";
import type { PathIssue, PathSegment } from "./messages.js";
import { invalid, required, unknownField, unsupported } from "./messages.js";

type RawIssue = z.core.$ZodRawIssue;

/**
 * Validates `data` against `schema` and words every issue the Kubernetes way. A per-parse error map only
 * records which schema raised each issue; messages a schema sets itself (`.regex(re, {message})`) win over
 * it and become the detail of an `Invalid value`.
 */
export function schemaIssues<T extends z.ZodType>(
  schema: T,
  data: unknown,
): { ok: true; value: z.output<T> } | { ok: false; issues: PathIssue[] } {
  const raws: RawIssue[] = [];
  // zod finalizes issues (and calls this map) when `error.issues` is first read, before `describe` runs.
  const result = schema.safeParse(data, {
    error: (raw) => {
      raws.push(raw);
      return `${MARK}${raws.length - 1}`;
    },
  });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: result.error.issues.flatMap((issue) => describe(issue, raws, data)) };
}

const MARK = "\u0000";

function describe(issue: z.core.$ZodIssue, raws: RawIssue[], data: unknown): PathIssue[] {
  const path = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
  const raw = issue.message.startsWith(MARK) ? raws[Number(issue.message.slice(1))] : undefined;
  const custom = raw === undefined ? issue.message : undefined;
  const found = lookup(data, path);

  if (issue.code === "unrecognized_keys") {
    const known = Object.keys(shapeOf(raw?.schema));
    return issue.keys.map((key) => ({ path: [...path, key], message: unknownField(key, known), at: "key" }));
  }
  if (!found.present || isEmptied(issue)) return [{ path, message: required(custom) }];
  const value = found.value;
  if (custom !== undefined) return [{ path, message: invalid(value, custom) }];
  return [{ path, message: describeDefault(issue, raw, value) }];
}

/** An empty string or list where one character or item is the minimum reads as missing, as in Kubernetes. */
function isEmptied(issue: z.core.$ZodIssue): boolean {
  return (
    issue.code === "too_small" &&
    (issue.origin === "string" || issue.origin === "array") &&
    Number(issue.minimum) === 1
  );
}

function describeDefault(issue: z.core.$ZodIssue, raw: RawIssue | undefined, value: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      return invalid(value, `must be ${TYPE_NAMES[issue.expected] ?? `of type ${issue.expected}`}`);
    case "invalid_value":
      return unsupported(value, issue.values);
    case "invalid_union":
      return issue.discriminator !== undefined && "options" in issue && issue.options
        ? unsupported(value, issue.options)
        : invalid(value, "matches none of the allowed forms");
    case "too_small":
    case "too_big":
      return describeSize(issue, raw, value);
    case "invalid_format":
      return invalid(value, issue.format === "url" ? "must be a URL" : `must be a valid ${issue.format}`);
    case "not_multiple_of":
      return invalid(value, `must be a multiple of ${issue.divisor}`);
    case "unrecognized_keys":
    case "invalid_key":
    case "invalid_element":
    case "custom":
      return invalid(value, raw ? zodMessage(raw) : issue.message);
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function describeSize(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  raw: RawIssue | undefined,
  value: unknown,
): string {
  if (issue.origin === "number" || issue.origin === "int") {
    // Both bounds, so a range reads as one: `must be between 0 and 100`.
    const number = (raw?.schema ?? {}) as { minValue?: number | null; maxValue?: number | null };
    const min = bounded(issue.code === "too_small" ? Number(issue.minimum) : number.minValue);
    const max = bounded(issue.code === "too_big" ? Number(issue.maximum) : number.maxValue);
    if (min !== undefined && max !== undefined) return invalid(value, `must be between ${min} and ${max}`);
    if (min !== undefined) return invalid(value, `must be greater than or equal to ${min}`);
    return invalid(value, `must be less than or equal to ${max}`);
  }
  if (issue.code === "too_small") {
    return invalid(
      value,
      `must have at least ${issue.minimum} ${issue.origin === "string" ? "characters" : "items"}`,
    );
  }
  return issue.origin === "string"
    ? `Too long: may not be more than ${issue.maximum} characters`
    : `Too many: ${Array.isArray(value) ? value.length : "?"}: must have at most ${issue.maximum} items`;
}

/** `z.int()` bounds itself by the safe integers: those are no limit a user should read about. */
function bounded(limit: number | null | undefined): number | undefined {
  return limit === undefined ||
    limit === null ||
    !Number.isFinite(limit) ||
    Math.abs(limit) >= Number.MAX_SAFE_INTEGER
    ? undefined
    : limit;
}

function zodMessage(raw: RawIssue): string {
  const message = z.config().localeError?.(raw);
  return (typeof message === "string" ? message : message?.message) ?? "is not valid";
}

function shapeOf(schema: z.core.$ZodType | undefined): Record<string, unknown> {
  const def = schema?._zod.def as { shape?: Record<string, unknown> } | undefined;
  return def?.shape ?? {};
}

/** Whether the document has a value at `path` (a key present with null counts), and that value. */
export function lookup(data: unknown, path: readonly PathSegment[]): { present: boolean; value: unknown } {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, segment)) {
      return { present: false, value: undefined };
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return { present: current !== undefined, value: current };
}
