import { DriftError, RuntimeError } from "../engine/errors.js";
import { targetOf, type DnsRecordSetTarget } from "../engine/targets.js";
import type { ChangeEntry, JournaledChange, ReadContext, WriteContext } from "../engine/types.js";
import { dnsPortFor, type DnsReader } from "../providers/dns.js";
import { fqdn } from "../providers/route53/names.js";
import {
  BatchRejectedError,
  type ChangeInfo,
  type DnsPort,
  type RecordChange,
  type RecordSet,
  type Zone,
} from "../providers/route53/port.js";
import {
  canonicalRecordSet,
  describeRecordSet,
  describeRecordSets,
  recordKey,
  sameRecordSets,
} from "../providers/route53/records.js";
import type { Resource, ResourceChange } from "./resource.js";

/**
 * A change to the record sets of one name: `before` and `after` are every record set of the types they hold
 * (with `target.recordType`) at that name, all set identifiers; `[]` or absent is "none". A cutover from an
 * A record to a host name is one change from `[A …]` to `[CNAME …]`; a weighted step moves a pair at once.
 * `comment` goes with the change batch (Route 53 shows it in the change's history).
 */
export type DnsRecordSetChange = ResourceChange<DnsRecordSetTarget, RecordSet[]> & { comment?: string };

/** The zone of a journaled target, as the DNS port takes it. */
export function zoneOf(target: DnsRecordSetTarget): Zone {
  return { id: target.zone.id, name: target.zone.name, private: target.zone.private ?? false };
}

/** The record sets at the target's name whose type is in `types` (default: the target's own type). */
export async function readRecordSets(
  port: Pick<DnsReader, "listRecordSets">,
  target: DnsRecordSetTarget,
  types: ReadonlySet<string> = new Set([target.recordType]),
): Promise<RecordSet[]> {
  const sets = await port.listRecordSets(zoneOf(target), fqdn(target.name));
  return sets.filter((set) => types.has(set.type.toUpperCase()));
}

/**
 * Record sets in a zone of Route 53 or the sandbox DNS. Every write is one change batch that DELETEs exactly
 * the before-image and CREATEs the after-image: the zone refuses a DELETE that does not match the live set
 * field for field, and with it the whole batch, so the compare-and-swap is atomic on the server. A read just
 * before the batch names the drift in the common case (nothing journaled, nothing sent); a change that lands
 * between that read and the batch is refused by the zone, and read again to name it. No UPSERT: a create is
 * a CREATE, which the zone refuses when the set exists meanwhile.
 */
export const dnsRecordSetResource: Resource<DnsRecordSetTarget, RecordSet[]> & {
  /**
   * The write without waiting for INSYNC: the zone's change (for a step that journals its id and waits, resumably,
   * itself), or undefined when the live record sets already are `after` (a resumed run: nothing was sent).
   */
  submit(change: DnsRecordSetChange, ctx: WriteContext): Promise<ChangeInfo | undefined>;
} = {
  type: "dns.recordset",

  read(target, ctx: ReadContext) {
    return readRecordSets(dnsPortFor(target, ctx), target);
  },

  async write(change: DnsRecordSetChange, ctx) {
    const info = await dnsRecordSetResource.submit(change, ctx);
    if (info) await waitInSync(dnsPortFor(change.target, ctx), info, change.address, ctx);
  },

  async submit(change, ctx) {
    const port = dnsPortFor(change.target, ctx);
    const before = change.action === "create" ? [] : required(change, "before");
    const after = change.action === "delete" ? [] : required(change, "after");
    const types = typesOf(change.target, before, after);
    const read = () => readRecordSets(port, change.target, types);
    const live = await read();
    if (sameRecordSets(live, after)) return undefined;
    if (!sameRecordSets(live, before)) throw driftError(change.address, before, live, "since the plan");
    return ctx.change(journaled(change), () =>
      send(port, change, replaceBatch(before, after), before, after, read, "since the plan"),
    );
  },

  /**
   * Puts the entry's before-image back with the same DELETE-exact + CREATE batch and waits for INSYNC.
   * Nothing when the record sets already are the before-image: a write that never happened, a rollback run
   * twice. When someone changed them after clustershift did (live is neither the after- nor the before-image),
   * it stops with a DriftError rather than undo their change, unless `--force`.
   */
  async revert(entry: ChangeEntry, ctx: WriteContext) {
    const target = targetOf(entry, "dns.recordset");
    const port = dnsPortFor(target, ctx);
    const before = entry.action === "create" ? [] : imagesOf(entry, "before");
    const after = entry.action === "delete" ? [] : imagesOf(entry, "after");
    // Only the sets the entry names: a set of the same type that someone else keeps beside them stays.
    const keys = new Set([...before, ...after].map(recordKey));
    const types = typesOf(target, before, after);
    const read = async () =>
      (await readRecordSets(port, target, types)).filter((set) => keys.has(recordKey(set)));
    const live = await read();
    if (sameRecordSets(live, before)) return;
    if (!sameRecordSets(live, after)) {
      const outside =
        `${entry.address} was changed outside clustershift: it is ${describeRecordSets(live)}, where ` +
        `clustershift left ${describeRecordSets(after)}`;
      // An operator's emergency change, another tool: restoring the before-image would silently undo it.
      // Stop here, journal intact, unless told.
      if (!ctx.options.forceRollback) {
        throw new DriftError(
          `${outside}. Rollback leaves it as it is rather than overwrite that change with ` +
            `${describeRecordSets(before)}; set the record as it should be and run rollback again, or run ` +
            "rollback with --force to restore it anyway",
        );
      }
      ctx.progress.warn(`${outside}; --force: restoring ${describeRecordSets(before)} anyway`);
    }
    const restore = {
      address: entry.address,
      target,
      comment: `clustershift rollback ${entry.step}`,
    };
    const info = await send(
      port,
      restore,
      replaceBatch(live, before),
      live,
      before,
      read,
      "during the rollback",
    );
    await waitInSync(port, info, entry.address, ctx);
  },
};

/** `route53 change shop.example.com. A`: where the INSYNC wait of a record's change reports. */
export function changeAddress(address: string): string {
  return address.replace(" record ", " change ");
}

function waitInSync(port: DnsPort, info: ChangeInfo, address: string, ctx: ReadContext): Promise<void> {
  return port.waitForChange(info, {
    onProgress: (detail) => ctx.progress.wait(changeAddress(address), detail),
    signal: ctx.signal,
  });
}

/** DELETE exactly `before`, CREATE `after`: one batch the zone carries out whole or not at all. */
export function replaceBatch(before: readonly RecordSet[], after: readonly RecordSet[]): RecordChange[] {
  return [
    ...before.map((record) => ({ action: "DELETE" as const, record })),
    ...after.map((record) => ({ action: "CREATE" as const, record })),
  ];
}

/**
 * Sends one batch that takes the record sets from `expected` to `intended`; when the zone refuses it, reads
 * them again and says whether they moved under it (drift, naming the fields) or what else.
 */
async function send(
  port: DnsPort,
  change: Pick<DnsRecordSetChange, "address" | "target" | "comment">,
  batch: RecordChange[],
  expected: readonly RecordSet[],
  intended: readonly RecordSet[],
  read: () => Promise<RecordSet[]>,
  when: string,
): Promise<ChangeInfo> {
  const zone = zoneOf(change.target);
  const comment = change.comment ?? `clustershift ${change.address}`;
  try {
    return await port.changeRecordSets(zone, batch, comment);
  } catch (error) {
    if (!(error instanceof BatchRejectedError)) throw error;
    const now = await read();
    // The client retried a batch that an earlier try had carried out, its reply lost: the retry's exact DELETE
    // no longer matched. The record is where this batch takes it; only the change id went with the reply.
    if (intended.length > 0 && sameRecordSets(now, intended) && !sameRecordSets(now, expected))
      return resync(port, zone, intended, comment);
    if (!sameRecordSets(now, expected)) throw driftError(change.address, expected, now, when);
    throw new RuntimeError(
      `${port.label} refused the change of ${change.address} (${error.message}); nothing was changed`,
      { cause: error },
    );
  }
}

/**
 * A change id for record sets already in place whose own change id is unknown: an UPSERT of exactly what is
 * there changes nothing (so it overwrites nothing), and it is INSYNC only once the zone's earlier changes are.
 */
export function resync(
  port: DnsPort,
  zone: Zone,
  records: readonly RecordSet[],
  comment: string,
): Promise<ChangeInfo> {
  return port.changeRecordSets(
    zone,
    records.map((record) => ({ action: "UPSERT" as const, record })),
    comment,
  );
}

function driftError(
  address: string,
  expected: readonly RecordSet[],
  found: readonly RecordSet[],
  when: string,
): DriftError {
  const record = address.replace(/^\S+ record /, "");
  return new DriftError(
    `the record ${record} changed ${when}: ${recordSetDrift(expected, found).join(", ")} ` +
      `(expected ${describeRecordSets(expected)}, found ${describeRecordSets(found)}); nothing was changed. ` +
      "Run `clustershift plan` to review.",
  );
}

/**
 * What differs between two images of a name's record sets, field by field: `TTL 300 → 120`,
 * `values 192.0.2.10 → 192.0.2.99`, `clustershift-target weight 10 → 50`, `A 192.0.2.10 ttl 5 gone`,
 * `CNAME lb.example. ttl 5 added`. Compared as Route 53 compares them (value order, name case ignored).
 */
export function recordSetDrift(expected: readonly RecordSet[], found: readonly RecordSet[]): string[] {
  const foundByKey = new Map(found.map((set) => [recordKey(set), set]));
  const expectedKeys = new Set(expected.map(recordKey));
  const differences: string[] = [];
  for (const set of expected) {
    const other = foundByKey.get(recordKey(set));
    if (!other) differences.push(`${describeRecordSet(set)} gone`);
    else differences.push(...fieldDrift(set, other));
  }
  for (const set of found) {
    if (!expectedKeys.has(recordKey(set))) differences.push(`${describeRecordSet(set)} added`);
  }
  return differences.length > 0 ? differences : ["(no difference)"];
}

type Shown = string | number | boolean | undefined;

function fieldDrift(expected: RecordSet, found: RecordSet): string[] {
  const a = canonicalRecordSet(expected);
  const b = canonicalRecordSet(found);
  const prefix = a.setIdentifier === undefined ? "" : `${a.setIdentifier} `;
  const fields: [string, Shown, Shown][] = [
    ["TTL", a.ttl, b.ttl],
    ["values", a.values?.join(","), b.values?.join(",")],
    ["alias", a.alias?.dnsName, b.alias?.dnsName],
    ["alias zone", a.alias?.hostedZoneId, b.alias?.hostedZoneId],
    ["alias health", a.alias?.evaluateTargetHealth, b.alias?.evaluateTargetHealth],
    ["weight", a.weight, b.weight],
    ["health check", a.healthCheckId, b.healthCheckId],
    ["routing", JSON.stringify(a.routing), JSON.stringify(b.routing)],
  ];
  return fields
    .filter(([, x, y]) => x !== y)
    .map(([field, x, y]) => `${prefix}${field} ${shown(x)} → ${shown(y)}`);
}

function shown(value: string | number | boolean | undefined): string {
  return value === undefined || value === "" ? "(none)" : String(value);
}

/** The types a change reads and compares: the target's, and every type its images hold. */
function typesOf(target: DnsRecordSetTarget, ...images: (readonly RecordSet[])[]): Set<string> {
  return new Set([target.recordType, ...images.flat().map((set) => set.type)].map((t) => t.toUpperCase()));
}

function required(change: DnsRecordSetChange, image: "before" | "after"): RecordSet[] {
  const value = change[image];
  if (!value) throw new Error(`${change.address}: ${change.action} without ${image}: this is a bug`);
  return value;
}

function imagesOf(entry: ChangeEntry, image: "before" | "after"): RecordSet[] {
  const value = entry[image];
  if (!Array.isArray(value)) {
    throw new RuntimeError(
      `journal entry ${entry.seq} (${entry.address}) has no ${image}-image of its record sets: this is a bug`,
    );
  }
  return value as RecordSet[];
}

function journaled(change: DnsRecordSetChange): JournaledChange {
  return {
    address: change.address,
    action: change.action,
    target: { ...change.target, zone: { ...change.target.zone } },
    ...(change.action === "create" ? {} : { before: change.before }),
    ...(change.action === "delete" ? {} : { after: change.after }),
  };
}
