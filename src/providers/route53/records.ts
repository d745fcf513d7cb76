import { isDeepStrictEqual } from "node:util";
import { fqdn } from "./names.js";
import type { RecordSet } from "./port.js";

/** What Route 53 keys a record set by: a name holds one set per type and set identifier. */
export function recordKey(record: RecordSet): string {
  return `${fqdn(record.name)} ${record.type.toUpperCase()} ${record.setIdentifier ?? ""}`.trimEnd();
}

/**
 * The record set as Route 53 compares it: names normalized, value order and alias TTLs ignored. For
 * comparisons only; journaled images keep what the API returned.
 */
export function canonicalRecordSet(record: RecordSet): RecordSet {
  const type = record.type.toUpperCase();
  const out: RecordSet = { name: fqdn(record.name), type };
  if (record.setIdentifier !== undefined) out.setIdentifier = record.setIdentifier;
  if (record.weight !== undefined) out.weight = record.weight;
  if (record.alias) {
    out.alias = { ...record.alias, dnsName: fqdn(record.alias.dnsName) };
  } else {
    if (record.ttl !== undefined) out.ttl = record.ttl;
    if (record.values) out.values = record.values.map((value) => canonicalValue(type, value)).sort();
  }
  if (record.healthCheckId !== undefined) out.healthCheckId = record.healthCheckId;
  if (record.routing && Object.keys(record.routing).length > 0) out.routing = record.routing;
  return out;
}

function canonicalValue(type: string, value: string): string {
  return type === "CNAME" ? fqdn(value) : value.toLowerCase();
}

export function sameRecordSet(a: RecordSet, b: RecordSet): boolean {
  return isDeepStrictEqual(canonicalRecordSet(a), canonicalRecordSet(b));
}

/** Equal as sets of record sets, whatever their order. */
export function sameRecordSets(a: readonly RecordSet[], b: readonly RecordSet[]): boolean {
  if (a.length !== b.length) return false;
  const byKey = new Map(b.map((record) => [recordKey(record), record]));
  return a.every((record) => {
    const other = byKey.get(recordKey(record));
    return other !== undefined && sameRecordSet(record, other);
  });
}

/** `A 192.0.2.10 ttl 300`, `A clustershift-target weight 10 203.0.113.7 ttl 30`, `A alias lb.elb.amazonaws.com.` */
export function describeRecordSet(record: RecordSet): string {
  const parts = [record.type];
  if (record.setIdentifier !== undefined) parts.push(record.setIdentifier);
  if (record.weight !== undefined) parts.push(`weight ${record.weight}`);
  if (record.alias) parts.push(`alias ${record.alias.dnsName}`);
  else parts.push((record.values ?? []).join(","), `ttl ${record.ttl ?? "?"}`);
  return parts.join(" ");
}

export function describeRecordSets(records: readonly RecordSet[]): string {
  return records.length === 0 ? "(none)" : records.map(describeRecordSet).join("; ");
}
