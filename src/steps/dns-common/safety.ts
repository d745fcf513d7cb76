import { UsageError } from "../../engine/errors.js";
import type { Change } from "../../engine/types.js";
import type { DnsSpec } from "../../playbook/schema.js";
import { fqdn, recordInZone } from "../../providers/route53/names.js";
import { negativeTtl, type RecordSet, type Soa } from "../../providers/route53/port.js";
import type { Observed } from "./observe.js";

/**
 * What `plan` checks before it proposes any DNS change: the record is one whose TTL can be lowered (no alias),
 * nobody else owns it (external-dns), and what negative caching will do to a record type the cutover creates.
 */

/**
 * An alias (Route 53 AliasTarget) has no TTL of its own: resolvers cache it for the TTL of the target's records,
 * which clustershift cannot lower, so the TTL choreography would wait on nothing and the cutover would reach
 * clients only as fast as the alias target's TTL allows.
 */
export function refuseAlias(original: RecordSet, observed: Observed, dns: DnsSpec): void {
  if (!original.alias) return;
  throw new UsageError(
    `spec.dns.record: ${observed.name} ${original.type} is an alias record (to ${fqdn(original.alias.dnsName)}) ` +
      "and has no TTL of its own: resolvers cache it for its target's TTL, which clustershift cannot lower before the cutover. " +
      `Replace the alias with a simple ${dns.type} record of the addresses it answers today and a TTL, wait until ` +
      "the alias target's TTL has passed, then run `clustershift plan` again; or point the alias at the target by hand",
  );
}

/** What the zone's SOA says about negative caching, kept in the plan's data. */
export interface NegativeCaching {
  zone: string;
  /** The SOA record's own TTL and its MINIMUM field. */
  soaTtl: number;
  minimum: number;
  /** RFC 2308: resolvers keep "no such record" for the lower of the two. */
  ttl: number;
}

export async function readNegativeCaching(observed: Observed): Promise<NegativeCaching | undefined> {
  const soa: Soa | undefined = await observed.port.soa(observed.zone);
  if (!soa) return undefined;
  return { zone: observed.zone.name, soaTtl: soa.ttl, minimum: soa.minimum, ttl: negativeTtl(soa) };
}

/**
 * A plan line when the stage creates a record type the name did not have (an IPv6 target where there was an A
 * record, a host name where there was an address): resolvers that asked for that type before the cutover got
 * "no such record" and keep that answer for the negative-caching TTL, however low the record's own TTL is.
 */
export function negativeCachingNote(
  observed: Observed,
  before: readonly RecordSet[],
  after: readonly RecordSet[],
  caching: NegativeCaching | undefined,
): Change | undefined {
  const had = new Set(before.map((set) => set.type));
  const created = [...new Set(after.map((set) => set.type))].filter((type) => !had.has(type));
  if (created.length === 0) return undefined;
  const what = created.map((type) => `${observed.name} ${type}`).join(", ");
  const detail = caching
    ? `creates ${what}: resolvers that asked for it before keep "no such record" for up to ${caching.ttl}s ` +
      `(negative caching, RFC 2308: the lower of the SOA TTL ${caching.soaTtl}s and its MINIMUM ${caching.minimum}s); ` +
      "lower the SOA's TTL or MINIMUM a negative-caching period before the cutover to shorten it"
    : `creates ${what}: the zone ${observed.zone.name} shows no SOA, so how long resolvers keep "no such record" is unknown`;
  return { action: "no-op", address: `${observed.port.label} soa ${observed.zone.name}`, detail };
}

/** external-dns's TXT registry: `"heritage=external-dns,external-dns/owner=default,external-dns/resource=…"`. */
const HERITAGE = /heritage=external-dns(?:,|"|$)/;
const OWNER = /external-dns\/owner=([^,"]*)/;
/** external-dns's default `--txt-prefix`-free names and the prefix its docs use. */
const PREFIX = "external-dns-";

export interface ForeignOwner {
  controller: "external-dns";
  owner: string;
  /** The TXT record that says so: `a-shop.example.com.` */
  registry: string;
}

/**
 * The names where external-dns keeps the ownership TXT of `name` of `type`: the name itself (its old format),
 * `<type>-<name>` (its format since v0.12: the type prefixed to the first label), and both with the
 * `external-dns-` prefix of a `--txt-prefix` setup.
 */
export function registryNames(name: string, type: string, zone: string): string[] {
  const record = fqdn(name);
  const typed = `${type.toLowerCase()}-${record}`;
  return [record, typed, `${PREFIX}${record}`, `${PREFIX}${typed}`].filter((n) => recordInZone(n, zone));
}

/** Whether another controller (external-dns) owns the record, from its TXT registry records. */
export async function findForeignOwner(observed: Observed, dns: DnsSpec): Promise<ForeignOwner | undefined> {
  const types = [...new Set([dns.type, "CNAME"])];
  const names = [...new Set(types.flatMap((type) => registryNames(observed.name, type, observed.zone.name)))];
  for (const name of names) {
    const sets = await observed.port.listRecordSets(observed.zone, name);
    for (const set of sets.filter((s) => s.type === "TXT")) {
      const value = (set.values ?? []).find((v) => HERITAGE.test(v));
      if (value !== undefined) {
        return { controller: "external-dns", owner: OWNER.exec(value)?.[1] ?? "(none)", registry: set.name };
      }
    }
  }
  return undefined;
}

/**
 * Refuses a record another controller owns unless `dns.takeOver` names that controller: external-dns would put
 * its own value back at its next sync, undoing the cutover (or the rollback). With the take-over, a plan line
 * says what the operator must still do.
 */
export async function checkOwnership(observed: Observed, dns: DnsSpec): Promise<Change | undefined> {
  const owner = await findForeignOwner(observed, dns);
  if (!owner) return undefined;
  const who = `external-dns (owner "${owner.owner}", TXT ${owner.registry})`;
  if (dns.takeOver !== owner.controller) {
    throw new UsageError(
      `spec.dns.record: ${observed.name} is managed by ${who}, which would put its own value back at its next sync. ` +
        "Stop external-dns from managing it (remove the hostname annotation or the source it reads it from), or set " +
        "spec.dns.takeOver: external-dns to cut it over anyway",
    );
  }
  return {
    action: "no-op",
    address: `${observed.port.label} owner ${observed.name}`,
    detail: `managed by ${who}; taken over (spec.dns.takeOver): keep external-dns from syncing it until the migration is finished`,
  };
}
