import { isIPv4, isIPv6 } from "node:net";
import { fqdn, recordInZone } from "../../providers/route53/names.js";
import type { RecordChange, RecordSet, Zone } from "../../providers/route53/port.js";
import { recordKey, sameRecordSet } from "../../providers/route53/records.js";

/** The zone refused a batch; Route 53 calls this InvalidChangeBatch and lists every reason. */
export class InvalidChangeBatch extends Error {
  override readonly name = "InvalidChangeBatch";
  constructor(readonly reasons: string[]) {
    super(reasons.join("; "));
  }
}

const MAX_TTL = 2_147_483_647;

/**
 * Applies `changes` in order, all or nothing, with Route 53's rules: CREATE fails when the set exists,
 * DELETE must match the current set exactly, UPSERT replaces; a CNAME excludes other sets of its name, and
 * simple and routing-policy sets of one name and type do not mix. Returns the zone's new record sets.
 */
export function applyBatch(
  zone: Zone,
  records: readonly RecordSet[],
  changes: readonly RecordChange[],
): RecordSet[] {
  const reasons = changes.flatMap(({ record }) => invalidRecord(zone, record));
  if (changes.length === 0) reasons.push("a change batch needs at least one change");
  if (reasons.length > 0) throw new InvalidChangeBatch(reasons);

  const sets = new Map(records.map((record) => [recordKey(record), record]));
  for (const { action, record } of changes) {
    const key = recordKey(record);
    const current = sets.get(key);
    const what = `[name='${fqdn(record.name)}', type='${record.type}'${record.setIdentifier === undefined ? "" : `, set-identifier='${record.setIdentifier}'`}]`;
    switch (action) {
      case "CREATE":
        if (current) reasons.push(`Tried to create resource record set ${what} but it already exists`);
        else sets.set(key, normalized(record));
        break;
      case "DELETE":
        if (!current) reasons.push(`Tried to delete resource record set ${what} but it was not found`);
        else if (!sameRecordSet(current, record)) {
          reasons.push(
            `Tried to delete resource record set ${what} but the values provided do not match the current values`,
          );
        } else sets.delete(key);
        break;
      case "UPSERT":
        sets.set(key, normalized(record));
        break;
    }
  }
  const result = [...sets.values()].sort(byKey);
  reasons.push(...conflicts(zone, result));
  if (reasons.length > 0) throw new InvalidChangeBatch(reasons);
  return result;
}

function normalized(record: RecordSet): RecordSet {
  return { ...record, name: fqdn(record.name), type: record.type.toUpperCase() };
}

function byKey(a: RecordSet, b: RecordSet): number {
  return recordKey(a).localeCompare(recordKey(b));
}

function invalidRecord(zone: Zone, record: RecordSet): string[] {
  const reasons: string[] = [];
  const name = fqdn(record.name);
  if (!recordInZone(name, zone.name))
    reasons.push(`RRSet with DNS name ${name} is not permitted in zone ${zone.name}`);
  const hasValues = record.values !== undefined || record.ttl !== undefined;
  if (record.alias !== undefined && hasValues) reasons.push(`${name}: an alias has no TTL and no values`);
  if (record.alias === undefined) {
    if (!Number.isInteger(record.ttl) || (record.ttl ?? -1) < 0 || (record.ttl ?? 0) > MAX_TTL) {
      reasons.push(`${name}: TTL must be an integer from 0 to ${MAX_TTL}`);
    }
    if (!record.values || record.values.length === 0)
      reasons.push(`${name}: a record set needs at least one value`);
    for (const value of record.values ?? []) {
      if (record.type === "A" && !isIPv4(value)) reasons.push(`ARRDATAIllegalIPv4Address (${value})`);
      if (record.type === "AAAA" && !isIPv6(value)) reasons.push(`AAAARRDATAIllegalIPv6Address (${value})`);
    }
  }
  if (record.weight !== undefined && record.setIdentifier === undefined) {
    reasons.push(`${name}: a weighted record set needs a set identifier`);
  }
  if (record.setIdentifier !== undefined && record.weight === undefined && record.routing === undefined) {
    reasons.push(`${name}: a set identifier needs a routing policy such as a weight`);
  }
  if (
    record.weight !== undefined &&
    (!Number.isInteger(record.weight) || record.weight < 0 || record.weight > 255)
  ) {
    reasons.push(`${name}: weight must be an integer from 0 to 255`);
  }
  return reasons;
}

function conflicts(zone: Zone, records: readonly RecordSet[]): string[] {
  const reasons: string[] = [];
  for (const [name, sets] of groupBy(records, (record) => record.name)) {
    if (sets.some((r) => r.type === "CNAME") && sets.some((r) => r.type !== "CNAME")) {
      reasons.push(
        `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`,
      );
    }
    for (const [type, ofType] of groupBy(sets, (record) => record.type)) {
      if (ofType.some((r) => r.setIdentifier === undefined) && ofType.length > 1) {
        reasons.push(
          `RRSet with DNS name ${name}, type ${type} mixes a simple record set with routing-policy record sets`,
        );
      }
    }
  }
  return reasons;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
