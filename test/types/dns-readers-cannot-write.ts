/**
 * DNS plans cannot write (issue 11.2), checked by the compiler: `npm run typecheck` compiles this file, and each
 * `@ts-expect-error` below fails the check if the line after it ever compiles. What `plan`, `verify` and a gate
 * get from `dnsProvider(ctx)` or `dnsPortFor(target, ctx)` reads zones, record sets, changes and name servers
 * only; `apply` and `rollback` get the writer. test/types/dns-readers-cannot-write.test.ts compiles it again
 * without the markers and pins the error each write gives.
 */
import type { DnsRecordSetTarget } from "../../src/engine/targets.js";
import type { GateRunner, Step, StepPlan } from "../../src/engine/types.js";
import { dnsPortFor, dnsProvider } from "../../src/providers/dns.js";
import type { RecordChange, Zone } from "../../src/providers/route53/port.js";

const zone: Zone = { id: "Z1", name: "example.com.", private: false };
const target: DnsRecordSetTarget = {
  type: "dns.recordset",
  provider: "route53",
  zone: { id: zone.id, name: zone.name },
  name: "shop.example.com.",
  recordType: "A",
};
const changes: RecordChange[] = [
  { action: "UPSERT", record: { name: "shop.example.com.", type: "A", ttl: 60, values: ["192.0.2.10"] } },
];
const empty = (id: string): StepPlan => ({ id, kind: "type-test", title: id, changes: [], gates: [] });

export const writingDnsStep = {
  kind: "type-test",
  expand: () => [],
  async plan(instance, ctx) {
    const dns = dnsProvider(ctx);
    const found = await dns.findZone({ zone: "example.com" });
    await dns.listRecordSets(found, "shop.example.com.");
    await dns.nameServers(found);
    await dns.soa(found);
    await dns.waitForChange({ id: "C1", status: "PENDING" }, { onProgress: () => undefined });
    // @ts-expect-error plan gets a DNS reader: it cannot change record sets
    await dns.changeRecordSets(zone, changes, "plan");
    // @ts-expect-error plan gets a reader from the journaled target too
    await dnsPortFor(target, ctx).changeRecordSets(zone, changes, "plan");
    return empty(instance.id);
  },
  async verify(_plan, ctx) {
    await dnsProvider(ctx).listRecordSets(zone, "shop.example.com.");
    // @ts-expect-error verify gets a DNS reader
    await dnsProvider(ctx).changeRecordSets(zone, changes, "verify");
    return { outcome: "passed" };
  },
  async apply(_plan, ctx) {
    // apply journals through ctx.change and gets a writer.
    await ctx.change({ address: "route53 record shop.example.com. A", action: "update", target }, () =>
      dnsProvider(ctx).changeRecordSets(zone, changes, "apply"),
    );
  },
  async rollback(_entries, ctx) {
    await dnsPortFor(target, ctx).changeRecordSets(zone, changes, "rollback");
  },
} satisfies Step;

export const writingDnsGate = {
  type: "type-test",
  describe: () => "type test",
  async run(_gate, ctx) {
    // @ts-expect-error a gate gets a DNS reader
    await dnsProvider(ctx).changeRecordSets(zone, changes, "gate");
    return { outcome: "passed" };
  },
} satisfies GateRunner;
