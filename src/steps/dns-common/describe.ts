import type { RecordSet } from "../../providers/route53/port.js";
import { describeRecordSets, sameRecordSet } from "../../providers/route53/records.js";
import { SOURCE_ID, TARGET_ID } from "./chain.js";

/** One line for the plan: `ttl 300→30`, `192.0.2.10 → 203.0.113.7`, `weights source 90→50, target 10→50 (203.0.113.7)`. */
export function describeTransition(before: readonly RecordSet[], after: readonly RecordSet[]): string {
  if (onlyTtlDiffers(before, after)) return `ttl ${ttlOf(before)}→${ttlOf(after)}`;
  const from = simple(before);
  const to = simple(after);
  if (from && to) {
    const typeChanges = from.type !== to.type;
    const parts = [`${show(from, typeChanges)} → ${show(to, typeChanges)}`];
    if (from.ttl !== to.ttl) parts.push(`ttl ${from.ttl ?? "alias"}→${to.ttl ?? "alias"}`);
    return parts.join(", ");
  }
  const target = after.find((set) => set.setIdentifier === TARGET_ID);
  const source = after.find((set) => set.setIdentifier === SOURCE_ID);
  if (target && source) {
    const was = (id: string) => before.find((set) => set.setIdentifier === id)?.weight;
    const weight = (id: string, now: number | undefined) =>
      was(id) === undefined ? `${now}` : `${was(id)}→${now}`;
    return `weights source ${weight(SOURCE_ID, source.weight)}, target ${weight(TARGET_ID, target.weight)} (${show(target, false)})`;
  }
  if (to) return `weighted → ${show(to, false)} for every answer`;
  return `${describeRecordSets(before)} → ${describeRecordSets(after)}`;
}

function simple(sets: readonly RecordSet[]): RecordSet | undefined {
  const [only, ...others] = sets;
  return only && others.length === 0 && only.setIdentifier === undefined ? only : undefined;
}

function show(set: RecordSet, withType: boolean): string {
  const what = set.alias ? `alias ${set.alias.dnsName}` : (set.values ?? []).join(",");
  return withType ? `${set.type} ${what}` : what;
}

function onlyTtlDiffers(before: readonly RecordSet[], after: readonly RecordSet[]): boolean {
  if (before.length !== after.length || ttlOf(before) === ttlOf(after)) return false;
  return before.every((set, i) => {
    const other = after[i];
    return other !== undefined && sameRecordSet({ ...set, ttl: 0 }, { ...other, ttl: 0 });
  });
}

function ttlOf(sets: readonly RecordSet[]): string {
  return [...new Set(sets.map((set) => set.ttl ?? "alias"))].join(",");
}
