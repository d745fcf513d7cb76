/**
 * What the DNS steps need of a DNS service with Route 53 semantics: Route 53 itself, or the sandbox DNS.
 * SDK types stay inside the clients; these are plain JSON values, journaled as before/after images.
 */

export interface AliasTarget {
  hostedZoneId: string;
  dnsName: string;
  evaluateTargetHealth: boolean;
}

/**
 * One record set, keyed by name, type and set identifier. Names are lower-case with a trailing dot.
 * Exactly one of `values` (with `ttl`) and `alias` is set.
 */
export interface RecordSet {
  name: string;
  type: string;
  ttl?: number;
  values?: string[];
  alias?: AliasTarget;
  /** Routing policies other than simple: weighted, latency, failover... */
  setIdentifier?: string;
  weight?: number;
  healthCheckId?: string;
  /**
   * Other routing-policy fields (Region, Failover, GeoLocation, MultiValueAnswer, CidrRoutingConfig,
   * GeoProximityLocation) under Route 53's own names, carried untouched so a restore is exact.
   */
  routing?: Record<string, unknown>;
}

export interface Zone {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  name: string;
  private: boolean;
}

export type ChangeAction = "CREATE" | "DELETE" | "UPSERT";

export interface RecordChange {
  action: ChangeAction;
  record: RecordSet;
}

export type ChangeStatus = "PENDING" | "INSYNC";

export interface ChangeInfo {
  /** Without the `/change/` prefix. */
  id: string;
  status: ChangeStatus;
}

export interface WaitOptions {
  /** Called on every poll while PENDING: `waiting for INSYNC (12s)`. */
  onProgress: (detail: string) => void;
  signal?: AbortSignal;
}

export interface ZoneRef {
  zone?: string;
  zoneId?: string;
}

export interface DnsPort {
  /** Prefix of plan addresses: `route53`, `sandbox-dns`. */
  readonly label: string;
  /** By id, or by exact name; fails with a RuntimeError naming the zone when there is none or the name is ambiguous. */
  findZone(ref: ZoneRef): Promise<Zone>;
  /** Every record set named `name` (all types and set identifiers), in a stable order. */
  listRecordSets(zone: Zone, name: string): Promise<RecordSet[]>;
  /**
   * One atomic change batch. Rejects with {@link BatchRejectedError} when the zone refuses it (a DELETE
   * that does not match exactly, a CREATE of something that exists); then nothing changed.
   */
  changeRecordSets(zone: Zone, changes: RecordChange[], comment: string): Promise<ChangeInfo>;
  /** Resolves once the change is INSYNC on every authoritative server. */
  waitForChange(change: ChangeInfo, options: WaitOptions): Promise<void>;
  /** Where to ask for the zone's records over the DNS protocol: every authoritative server, one by one. */
  nameServers(zone: Zone): Promise<NameServers>;
  /** The zone's SOA record, which sets how long resolvers cache a negative answer; undefined when it has none. */
  soa(zone: Zone): Promise<Soa | undefined>;
}

/** One authoritative name server: its host name (from the NS records or delegation set) and where to ask it. */
export interface NameServer {
  host: string;
  /** `ip` or `ip:port`; absent when the host name did not resolve (`problem` says why): it is not asked. */
  address?: string;
  problem?: string;
}

export type NameServers =
  /**
   * The zone's authoritative servers. `settleMs`: how long the check after a change waits for a server that
   * still answers the old records before it fails naming that server.
   */
  | { kind: "servers"; servers: NameServer[]; settleMs: number }
  /** There are some, but not from here (no network, a private zone). */
  | { kind: "unreachable"; reason: string };

/** The zone's SOA (RFC 1035 3.3.13) as far as negative caching needs it. */
export interface Soa {
  /** The SOA record's own TTL. */
  ttl: number;
  /** MINIMUM, the last field: RFC 2308 caches negative answers for the lower of it and `ttl`. */
  minimum: number;
  /** `ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400` */
  value: string;
}

/** Parses an SOA value; undefined when it is not one (seven fields, the last five numbers). */
export function parseSoa(ttl: number, value: string): Soa | undefined {
  const fields = value.trim().split(/\s+/);
  const minimum = Number(fields[6]);
  if (fields.length !== 7 || !Number.isInteger(minimum) || minimum < 0) return undefined;
  return { ttl, minimum, value: value.trim() };
}

/** How long resolvers may keep "no such record" (RFC 2308 section 5: the lower of the SOA's TTL and MINIMUM). */
export function negativeTtl(soa: Soa): number {
  return Math.min(soa.ttl, soa.minimum);
}

/** The zone refused a change batch as a whole; nothing of it was applied. */
export class BatchRejectedError extends Error {
  override readonly name = "BatchRejectedError";
}
