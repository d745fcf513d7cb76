import type { IncomingMessage, ServerResponse } from "node:http";
import { fqdn } from "../../providers/route53/names.js";
import type { ChangeInfo, RecordChange, RecordSet, Zone } from "../../providers/route53/port.js";
import { sleep } from "../../engine/sleep.js";
import type { SandboxExtension } from "../extension.js";
import { FaultInjector, holdReply, parseFaultConfig, type FaultConfig } from "../faults.js";
import { applyBatch, InvalidChangeBatch } from "./zones.js";

export { applyBatch, InvalidChangeBatch } from "./zones.js";

export interface SeedZone {
  name: string;
  /** Default: `ZSANDBOX<n>`. */
  id?: string;
  private?: boolean;
  records?: RecordSet[];
}

export interface SandboxDnsOptions {
  /** How long a change stays PENDING before it reads INSYNC. Default 1500 ms. */
  pendingMs?: number;
  zones?: SeedZone[];
  /** Faults from the start; `setFaults` or `PUT /sandbox/v1/dns/faults` change them. */
  faults?: FaultConfig;
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
}

interface StoredZone {
  zone: Zone;
  records: RecordSet[];
}

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

  const addZone = (seed: SeedZone): Zone => {
    const zone: Zone = {
      id: seed.id ?? `ZSANDBOX${++zoneCount}`,
      name: fqdn(seed.name),
      private: seed.private ?? false,
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
    zones.set(zone.id, { zone, records });
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

  return {
    prefix: "dns",
    addZone,
    recordSets: (zoneId) => stored(zoneId).records,
    zones: () => [...zones.values()].map((z) => z.zone),
    addRecords(zoneId, records) {
      const zone = stored(zoneId);
      zone.records = applyBatch(
        zone.zone,
        zone.records,
        records.map((record) => ({ action: "CREATE", record })),
      );
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
      if (pathname !== "/faults") {
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
        [status, payload] =
          pathname === "/faults" ? faultsRoute(method, body) : route(method, pathname, query, body);
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

function seedOf(body: unknown): SeedZone {
  if (!isObject(body) || typeof body.name !== "string") throw badRequest("a zone needs a name");
  const seed: SeedZone = { name: body.name };
  if (typeof body.id === "string") seed.id = body.id;
  if (typeof body.private === "boolean") seed.private = body.private;
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
