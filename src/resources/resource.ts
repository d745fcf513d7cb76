import type { Target } from "../engine/targets.js";
import type { ChangeEntry, ReadContext, WriteContext } from "../engine/types.js";

/**
 * One change to carry out, as the plan showed it: `before` is the value the plan observed (absent for a create),
 * `after` the value to write (absent for a delete).
 */
export interface ResourceChange<T extends Target, V> {
  address: string;
  action: "create" | "update" | "delete";
  target: T;
  before?: V;
  after?: V;
  sensitive?: boolean;
}

/**
 * Everything clustershift writes goes through one of these, one per target type (Terraform's provider/resource
 * split): `write` is a compare-and-swap on the change's `before` (live value moved since the plan: DriftError
 * naming what changed, nothing written), journals before it writes, and is a no-op when the live value already
 * is `after` (a resumed run); `revert` puts a journal entry's before-image back and is safe to repeat.
 */
export interface Resource<T extends Target, V> {
  readonly type: T["type"];
  read(target: T, ctx: ReadContext): Promise<V | undefined>;
  write(change: ResourceChange<T, V>, ctx: WriteContext): Promise<void>;
  revert(entry: ChangeEntry, ctx: WriteContext): Promise<void>;
}

/** Dotted paths where `a` and `b` differ, for drift messages (`spec.http[0].route`, `metadata.labels.app`). */
export function differingPaths(a: unknown, b: unknown, path = ""): string[] {
  if (Object.is(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [path || "(value)"];
    return a.flatMap((value, i) => differingPaths(value, b[i], `${path}[${i}]`));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => differingPaths(a[key], b[key], path ? `${path}.${key}` : key));
  }
  return [path || "(value)"];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
