import { isDeepStrictEqual } from "node:util";
import { ACTION_SYMBOL, KNOWN_AFTER_APPLY, type Change, type StepPlan } from "./types.js";

/**
 * Differences between the plan the user approved and a fresh plan of the same step, one line each.
 * A change already carried out (approved create/update, now no-op) is not drift: that is a resumed run.
 * Values the approved plan marked KNOWN_AFTER_APPLY match anything.
 */
export function planDrift(approved: StepPlan, fresh: StepPlan): string[] {
  const approvedByAddress = new Map(approved.changes.map((change) => [change.address, change]));
  const lines: string[] = [];
  for (const change of fresh.changes) {
    if (change.action === "no-op" || change.action === "wait") continue;
    const before = approvedByAddress.get(change.address);
    if (!before) {
      lines.push(`${ACTION_SYMBOL[change.action]} ${change.address}: not in the approved plan`);
    } else if (before.action !== change.action) {
      lines.push(`${change.address}: approved ${before.action}, now ${change.action}`);
    } else if (!sameImages(before, change)) {
      lines.push(
        `${ACTION_SYMBOL[change.action]} ${change.address}: ${change.action} differs from the approved plan`,
      );
    }
  }
  return lines;
}

function sameImages(approved: Change, fresh: Change): boolean {
  const a = approved as { before?: unknown; after?: unknown };
  const f = fresh as { before?: unknown; after?: unknown };
  return matches(a.before, f.before) && matches(a.after, f.after);
}

function matches(approved: unknown, fresh: unknown): boolean {
  if (approved === KNOWN_AFTER_APPLY) return true;
  if (Array.isArray(approved) && Array.isArray(fresh)) {
    return approved.length === fresh.length && approved.every((value, i) => matches(value, fresh[i]));
  }
  if (isRecord(approved) && isRecord(fresh)) {
    const keys = new Set([...Object.keys(approved), ...Object.keys(fresh)]);
    return [...keys].every((key) => matches(approved[key], fresh[key]));
  }
  return isDeepStrictEqual(approved, fresh);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
