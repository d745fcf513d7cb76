import type { IncomingMessage, ServerResponse } from "node:http";
import { fqdn, recordInZone } from "../../providers/route53/names.js";
import {
  negativeTtl,
  type ChangeInfo,
  type NameServer,
  type RecordChange,
  type RecordSet,
  type Soa,
  type Zone,
} from "../../providers/route53/port.js";
import { sleep } from "../../engine/sleep.js";
import type { SandboxExtension } from "../extension.js";
import { FaultInjector, holdReply, parseFaultConfig, type FaultConfig } from "../faults.js";
import { NameServerFleet } from "./name-servers.js";
import type { Question, Reply, WireRecord } from "./wire.js";
import { applyBatch, InvalidChangeBatch } from "./zones.js";

export { applyBatch, InvalidChangeBatch } from "./zones.js";

export interface SeedZone {
  name: string;
  /** Default: `ZSANDBOX<n>`. */
  id?: string;
  private?: boolean;
  records?: RecordSet[];
  /** The SOA's own TTL and MINIMUM; default Route 53's: 900 and 86400. */
  soa?: { ttl?: number; minimum?: number };
}

export interface SandboxDnsOptions {
  /** How long a change stays PENDING before it reads INSYNC. Default 1500 ms. */
  pendingMs?: number;
  zones?: SeedZone[];
  /** Faults from the start; `setFaults` or `PUT /sandbox/v1/dns/faults` change them. */
  faults?: FaultConfig;
  /**
   * How many authoritative name servers serve every zone (`ns-1.sandbox-dns.test.` …), each on a loopback UDP
   * port. Server i of n takes a change i/n of `pendingMs` after it was made, so all have it once it is INSYNC.
   * Default 3.
   */
  nameServers?: number;
}

/** The sandbox DNS, with in-process access for tests and the demo next to its HTTP API. */
export interface SandboxDns extends SandboxExtension {
  addZone(seed: SeedZone): Zone;
  recordSets(zoneId: string): RecordSet[];
  /** Every hosted zone, in creation order. */
  zones(): Zone[];
  /** Creates records in a zone as one Route 53 change batch would (refused whole when one is invalid). */
  addRecords(zoneId: string, records: RecordSet[]): void;
  /** Replaces the fault configuration of the DNS API (the same modes as a cluster's); `{}` clears it. */
  setFaults(faults: FaultConfig): void;
  /** The configuration in force, with the seed in use. */
  readonly faults: FaultConfig;
  /** Faults injected since the last `setFaults`. */
  readonly faultsInjected: number;
  /** The zone's name servers and where each answers over DNS (binds their UDP ports on first use). */
  nameServers(zoneId: string): Promise<NameServer[]>;
  /**
   * A name server that stops taking changes (`true`) keeps answering what it had, as a lagging secondary does,
   * though the API says INSYNC; `false` lets it catch up. Also `PUT /sandbox/v1/dns/nameservers/HOST {stalled}`.
   */
  stallNameServer(host: string, stalled: boolean): void;
  /** Closes the name servers' UDP ports. */
  close(): Promise<void>;
}

interface StoredZone {
  zone: Zone;
  records: RecordSet[];
  soa: Soa;
  /** The record sets after each change, oldest first, with when it was made: what lagging servers still serve. */
  history: { at: number; records: RecordSet[] }[];
}

/** Route 53's SOA defaults: TTL 900, MINIMUM 86400 (so negative answers are cached 900 s). */
const SOA_TTL = 900;
const SOA_MINIMUM = 86_400;
/** Versions kept per zone for lagging servers; older ones are served by no server anyone still asks. */
const HISTORY = 200;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An in-memory DNS service with Route 53's change semantics, mounted under `/sandbox/v1/dns`:
 *
 * - `GET  /zones?name=N` → `{zones}`; `POST /zones` `{name, id?, private?, records?}` → the zone (seeding)
 * - `GET  /zones/ID` → the zone; `GET /zones/ID/records?name=N` → `{records}` (all when no name)
 * - `POST /zones/ID/changes` `{changes: [{action, record}], comment}` → `{id, status: "PENDING"}`;
 *   a refused batch is 400 `{code: "InvalidChangeBatch", message}` and changes nothing
 * - `GET  /changes/ID` → `{id, status}`: INSYNC once `pendingMs` have passed
 * - `GET  /zones/ID/authority` → `{soa: {ttl, minimum, value}, nameServers: [{host, address}]}`: Route 53 shows
 *   these as the apex SOA and NS record sets; here they stay out of the record list, so the zone's records are
 *   only those its users made
 * - `PUT  /nameservers/HOST` `{stalled}` → a name server stops (or resumes) taking changes
 * - every zone is served over DNS (UDP, loopback) by each name server, from that server's view of it
 * - `GET|PUT|DELETE /faults` → the fault configuration (never faulted itself): errors, dropped connections,
 *   latency and changes carried out whose reply is lost, as on a cluster's API
 */
export function createSandboxDns(options: SandboxDnsOptions = {}): SandboxDns {
  const pendingMs = options.pendingMs ?? 1500;
  const zones = new Map<string, StoredZone>();
  const changes = new Map<string, { submitted: number }>();
  let zoneCount = 0;
  let changeCount = 0;
  const injector = new FaultInjector();
  if (options.faults) injector.set(options.faults);
  const hosts = Array.from({ length: options.nameServers ?? 3 }, (_, i) => `ns-${i + 1}.sandbox-dns.test.`);
  /** When each stalled server stopped taking changes. */
  const stalled = new Map<string, number>();

  /** What `host` serves of a zone: the newest version that reached it (see `nameServers` above). */
  const viewOf = (stored: StoredZone, host: string): RecordSet[] => {
    const delay = (pendingMs * (hosts.indexOf(host) + 1)) / hosts.length;
    const horizon = stalled.get(host) ?? Date.now();
    const seen = stored.history.findLast((version) => version.at + delay <= horizon);
    return seen?.records ?? [];
  };
  const answer = (host: string, question: Question): Reply => {
    const stored = [...zones.values()]
      .filter((z) => !z.zone.private && recordInZone(question.name, z.zone.name))
      .sort((a, b) => b.zone.name.length - a.zone.name.length)[0];
    if (!stored) return { rcode: "REFUSED" };
    const { soa, zone } = stored;
    const negative = { name: zone.name, ttl: negativeTtl(soa), value: soa.value };
    if (question.name === zone.name && question.type === "SOA") {
      return { rcode: "NOERROR", answers: [{ type: "SOA", ttl: soa.ttl, value: soa.value }] };
    }
    if (question.name === zone.name && question.type === "NS") {
      return { rcode: "NOERROR", answers: hosts.map((value) => ({ type: "NS", ttl: 172_800, value })) };
    }
    const named = viewOf(stored, host).filter((set) => set.name === question.name && !set.alias);
    const ofType = named.filter((set) => set.type === question.type);
    const sets = ofType.length > 0 ? ofType : named.filter((set) => set.type === "CNAME");
    return { rcode: "NOERROR", answers: pickAnswers(sets), soa: negative };
  };
  const fleet = new NameServerFleet(hosts, answer);

  const addZone = (seed: SeedZone): Zone => {
    const zone: Zone = {
      id: seed.id ?? `ZSANDBOX${++zoneCount}`,
      name: fqdn(seed.name),
      private: seed.private ?? false,
    };
    const soaTtl = seed.soa?.ttl ?? SOA_TTL;
    const minimum = seed.soa?.minimum ?? SOA_MINIMUM;
    const soa: Soa = {
      ttl: soaTtl,
      minimum,
      value: `${hosts[0] ?? "ns.sandbox-dns.test."} hostmaster.sandbox-dns.test. 1 7200 900 1209600 ${minimum}`,
    };
    if (zones.has(zone.id))
      throw new HttpError(409, "HostedZoneAlreadyExists", `hosted zone ${zone.id} already exists`);
    const records = seed.records?.length
      ? applyBatch(
          zone,
          [],
          seed.records.map((record) => ({ action: "CREATE", record })),
        )
      : [];
    // Seeded records are on every server at once, as if they were there long before.
    zones.set(zone.id, { zone, records, soa, history: [{ at: 0, records }] });
    return zone;
  };
  const stored = (id: string): StoredZone => {
    const found = zones.get(id);
    if (!found) throw new HttpError(404, "NoSuchHostedZone", `No hosted zone found with ID: ${id}`);
    return found;
  };
  const changeInfo = (id: string): ChangeInfo => {
    const change = changes.get(id);
    if (!change) throw new HttpError(404, "NoSuchChange", `No change found with ID: ${id}`);
    return { id, status: Date.now() - change.submitted >= pendingMs ? "INSYNC" : "PENDING" };
  };

  const remember = (zone: StoredZone, at: number): void => {
    zone.history.push({ at, records: zone.records });
    if (zone.history.length > HISTORY) zone.history.splice(0, zone.history.length - HISTORY);
  };
  const authority = async (zone: StoredZone) => ({
    soa: zone.soa,
    // A private zone is answered only inside its VPCs, as in Route 53: no public name servers for it.
    nameServers: zone.zone.private ? [] : await fleet.addresses(),
  });

  for (const seed of options.zones ?? []) addZone(seed);

  const route = (method: string, path: string, query: URLSearchParams, body: unknown): [number, unknown] => {
    const parts = path.split("/").filter(Boolean);
    const [collection, id, sub] = parts;
    if (collection === "zones" && id === undefined) {
      if (method === "GET") {
        const name = query.get("name");
        const list = [...zones.values()].map((z) => z.zone);
        return [200, { zones: name === null ? list : list.filter((z) => z.name === fqdn(name)) }];
      }
      if (method === "POST") return [201, addZone(seedOf(body))];
    }
    if (collection === "zones" && id !== undefined && parts.length <= 3) {
      const zone = stored(id);
      if (sub === undefined && method === "GET") return [200, zone.zone];
      if (sub === "records" && method === "GET") {
        const name = query.get("name");
        return [
          200,
          { records: name === null ? zone.records : zone.records.filter((r) => r.name === fqdn(name)) },
        ];
      }
      if (sub === "changes" && method === "POST") {
        zone.records = applyBatch(zone.zone, zone.records, changesOf(body));
        remember(zone, Date.now());
        const changeId = `CSANDBOX${++changeCount}`;
        changes.set(changeId, { submitted: Date.now() });
        return [200, changeInfo(changeId)];
      }
    }
    if (collection === "changes" && id !== undefined && parts.length === 2 && method === "GET") {
      return [200, changeInfo(id)];
    }
    throw new HttpError(404, "NotFound", `no DNS route ${method} ${path}`);
  };

  /** The fault configuration's own endpoint: `[status, payload]`. */
  const faultsRoute = (method: string, body: unknown): [number, unknown] => {
    if (method === "PUT") injector.set(parseFaultConfig(body));
    else if (method === "DELETE") injector.set({});
    else if (method !== "GET")
      throw new HttpError(405, "MethodNotAllowed", `${method} is not allowed on faults`);
    return [200, { ...injector.current, faultsInjected: injector.count }];
  };

  const stallNameServer = (host: string, stall: boolean): void => {
    const name = fqdn(host);
    if (!hosts.includes(name)) {
      throw new HttpError(404, "NoSuchNameServer", `no name server ${name}; there are ${hosts.join(", ")}`);
    }
    if (!stall) stalled.delete(name);
    else if (!stalled.has(name)) stalled.set(name, Date.now());
  };
  const stallRoute = (host: string, body: unknown): [number, unknown] => {
    if (!isObject(body) || typeof body.stalled !== "boolean")
      throw badRequest("the body is {stalled: boolean}");
    stallNameServer(host, body.stalled);
    return [200, { host: fqdn(host), stalled: body.stalled }];
  };

  return {
    prefix: "dns",
    addZone,
    nameServers: async (zoneId) => (await authority(stored(zoneId))).nameServers,
    stallNameServer,
    close: () => fleet.close(),
    recordSets: (zoneId) => stored(zoneId).records,
    zones: () => [...zones.values()].map((z) => z.zone),
    addRecords(zoneId, records) {
      const zone = stored(zoneId);
      zone.records = applyBatch(
        zone.zone,
        zone.records,
        records.map((record) => ({ action: "CREATE", record })),
      );
      // Arranged by a test or the demo, like a seed: on every server at once.
      remember(zone, 0);
    },
    setFaults: (faults) => injector.set(faults),
    get faults() {
      return injector.current;
    },
    get faultsInjected() {
      return injector.count;
    },
    async handle(req: IncomingMessage, res: ServerResponse, path: string, body: unknown): Promise<void> {
      // The query may or may not be left on `path`; the request line always has it.
      const query = new URL(req.url ?? path, "http://sandbox").searchParams;
      const pathname = new URL(path, "http://sandbox").pathname;
      const method = req.method ?? "GET";
      let status: number;
      let payload: unknown;
      // The fault and name-server controls are the test's hands, never faulted themselves.
      if (pathname !== "/faults" && !pathname.startsWith("/nameservers/")) {
        if (injector.latencyMs > 0) await sleep(injector.latencyMs);
        const fault = injector.decide(method, pathname);
        switch (fault.kind) {
          case "drop":
            req.socket.destroy();
            return;
          case "fail":
            res.writeHead(fault.status, {
              "content-type": "application/json",
              ...(fault.status === 429 ? { "retry-after": String(fault.retryAfterSeconds) } : {}),
            });
            res.end(JSON.stringify(faultPayload(fault.status)));
            return;
          case "lose-reply":
            holdReply(res, () => injector.refund());
            break;
          case "pass":
            break;
        }
      }
      try {
        const authorityOf = /^\/zones\/([^/]+)\/authority$/.exec(pathname)?.[1];
        const nameServer = /^\/nameservers\/([^/]+)$/.exec(pathname)?.[1];
        if (authorityOf !== undefined && method === "GET") {
          [status, payload] = [200, await authority(stored(decodeURIComponent(authorityOf)))];
        } else if (nameServer !== undefined && method === "PUT") {
          [status, payload] = stallRoute(decodeURIComponent(nameServer), body);
        } else {
          [status, payload] =
            pathname === "/faults" ? faultsRoute(method, body) : route(method, pathname, query, body);
        }
      } catch (error) {
        if (error instanceof InvalidChangeBatch)
          [status, payload] = [400, { code: error.name, message: error.message }];
        else if (error instanceof HttpError)
          [status, payload] = [error.status, { code: error.code, message: error.message }];
        else throw error;
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    },
  };
}

/** An injected failure in Route 53's words (`code`, `message`), which the sandbox DNS client reports. */
function faultPayload(status: number): { code: string; message: string } {
  switch (status) {
    case 429:
      return { code: "Throttling", message: "Rate exceeded (injected fault)" };
    case 503:
      return { code: "ServiceUnavailable", message: "Service unavailable (injected fault)" };
    default:
      return {
        code: status >= 500 ? "InternalFailure" : "InvalidInput",
        message: `injected fault (HTTP ${status})`,
      };
  }
}

/**
 * The values a server answers with: the simple set, or one of the weighted sets chosen by weight, as Route 53
 * answers one weighted set per query (all weights 0: any of them).
 */
function pickAnswers(sets: readonly RecordSet[]): WireRecord[] {
  const weighted = sets.filter((set) => set.weight !== undefined);
  let chosen = sets.find((set) => set.setIdentifier === undefined);
  if (!chosen && weighted.length > 0) {
    const total = weighted.reduce((sum, set) => sum + (set.weight ?? 0), 0);
    let draw = Math.random() * (total > 0 ? total : weighted.length);
    chosen = weighted.find((set) => (draw -= total > 0 ? (set.weight ?? 0) : 1) < 0) ?? weighted.at(-1);
  }
  if (!chosen) return [];
  const { type, ttl = 0 } = chosen;
  return (chosen.values ?? []).map((value) => ({ type, ttl, value }));
}

function seedOf(body: unknown): SeedZone {
  if (!isObject(body) || typeof body.name !== "string") throw badRequest("a zone needs a name");
  const seed: SeedZone = { name: body.name };
  if (typeof body.id === "string") seed.id = body.id;
  if (typeof body.private === "boolean") seed.private = body.private;
  if (isObject(body.soa)) {
    const { ttl, minimum } = body.soa;
    seed.soa = {
      ...(typeof ttl === "number" ? { ttl } : {}),
      ...(typeof minimum === "number" ? { minimum } : {}),
    };
  }
  if (body.records !== undefined) {
    if (!Array.isArray(body.records) || !body.records.every(isRecordSet))
      throw badRequest("records must be record sets");
    seed.records = body.records;
  }
  return seed;
}

function changesOf(body: unknown): RecordChange[] {
  const list = isObject(body) ? body.changes : undefined;
  const valid =
    Array.isArray(list) &&
    list.every(
      (c) =>
        isObject(c) &&
        (c.action === "CREATE" || c.action === "DELETE" || c.action === "UPSERT") &&
        isRecordSet(c.record),
    );
  if (!valid) throw badRequest("changes must be a list of {action: CREATE|DELETE|UPSERT, record}");
  return list as RecordChange[];
}

function isRecordSet(value: unknown): value is RecordSet {
  return (
    isObject(value) &&
    typeof value.name === "string" &&
    typeof value.type === "string" &&
    (value.values === undefined ||
      (Array.isArray(value.values) && value.values.every((v) => typeof v === "string")))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badRequest(message: string): HttpError {
  return new HttpError(400, "InvalidInput", message);
}
