import { isIPv4, isIPv6 } from "node:net";
import { RuntimeError, UsageError } from "../../engine/errors.js";
import { KNOWN_AFTER_APPLY } from "../../engine/types.js";
import type { DnsSpec } from "../../playbook/schema.js";
import { fqdn } from "../../providers/route53/names.js";
import type { RecordSet } from "../../providers/route53/port.js";
import { sameRecordSet } from "../../providers/route53/records.js";
import { dnsStages } from "./stages.js";

/** Set identifiers of the weighted pair during a weighted shift. */
export const SOURCE_ID = "clustershift-source";
export const TARGET_ID = "clustershift-target";

/** The record type an address needs: A for IPv4, AAAA for IPv6, CNAME for a host name. */
export function addressType(address: string, dns: DnsSpec): string {
  if (address === KNOWN_AFTER_APPLY) return dns.type;
  if (isIPv4(address)) return "A";
  if (isIPv6(address)) return "AAAA";
  return "CNAME";
}

/** The simple record set that answers `address` for `name`. */
export function addressRecord(name: string, address: string, ttl: number, dns: DnsSpec): RecordSet {
  const type = addressType(address, dns);
  const value = type === "CNAME" && address !== KNOWN_AFTER_APPLY ? fqdn(address) : address;
  return { name, type, ttl, values: [value] };
}

export function pointsAt(record: RecordSet, address: string, dns: DnsSpec): boolean {
  if (address === KNOWN_AFTER_APPLY || record.alias) return false;
  return sameRecordSet(record, addressRecord(record.name, address, record.ttl ?? 0, dns));
}

/**
 * Every state of the record, from `original` (a simple record set) through each stage of
 * {@link dnsStages}: `states[0]` is the original, `states[i + 1]` the record after stage `i`.
 * Pure, so a plan made before any change and a re-plan halfway agree on every stage.
 *
 * At weight 100 the weighted pair collapses back into one simple record: the end state of a weighted
 * shift is the same as a plain cutover's, with no routing policy left behind.
 */
export function chainStates(original: RecordSet, dns: DnsSpec, target: string): RecordSet[][] {
  const stages = dnsStages(dns);
  if (pointsAt(original, target, dns)) return [[original], ...stages.map(() => [original])];

  const lowered = lowerTtl(original, dns.lowTtl);
  const ttl = lowered.ttl ?? dns.lowTtl;
  const cutover = addressRecord(original.name, target, ttl, dns);
  const states: RecordSet[][] = [[original]];
  let current: RecordSet[] = [original];
  for (const stage of stages) {
    switch (stage.kind) {
      case "lower-ttl":
        current = current.map((record) => lowerTtl(record, dns.lowTtl));
        break;
      case "switch":
        current = [cutover];
        break;
      case "weight":
        checkWeight(stage.weight, stage.index);
        current =
          stage.weight === 100
            ? [cutover]
            : [
                { ...lowered, setIdentifier: SOURCE_ID, weight: 100 - stage.weight },
                { ...weightedTarget(lowered, cutover), setIdentifier: TARGET_ID, weight: stage.weight },
              ];
        break;
      case "restore-ttl":
        current = current.map((record) =>
          record.alias || original.ttl === undefined ? record : { ...record, ttl: original.ttl },
        );
        break;
    }
    states.push(current);
  }
  return states;
}

function lowerTtl(record: RecordSet, lowTtl: number): RecordSet {
  return record.ttl !== undefined && !record.alias && record.ttl > lowTtl
    ? { ...record, ttl: lowTtl }
    : record;
}

/** Weighted sets of one name must share a type: an A record cannot be weighted against a CNAME. */
function weightedTarget(source: RecordSet, target: RecordSet): RecordSet {
  if (source.type !== target.type) {
    throw new RuntimeError(
      `dns.weights: the target address ${target.values?.join(",") ?? ""} needs a ${target.type} record, but ${source.name} is of type ${source.type}, ` +
        `and Route 53 weights only record sets of one type. Drop dns.weights for a plain cutover, or set dns.target to an address of type ${source.type}.`,
    );
  }
  return target;
}

function checkWeight(weight: number, index: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new UsageError(
      `spec.dns.weights[${index - 1}]: Invalid value: ${weight}: must be an integer from 0 to 100`,
    );
  }
}
