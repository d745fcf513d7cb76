import { ChangeResourceRecordSetsCommand } from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriftError } from "../../src/engine/errors.js";
import type { DnsRecordSetTarget } from "../../src/engine/targets.js";
import { Route53Dns } from "../../src/providers/route53/client.js";
import type { DnsPort, RecordSet } from "../../src/providers/route53/port.js";
import { SandboxDnsClient } from "../../src/providers/sandbox-dns/client.js";
import { dnsRecordSetResource, type DnsRecordSetChange } from "../../src/resources/dns-recordset.js";
import { aRecord, useDnsSandbox } from "../dns/harness.js";
import { createZone, recordsOf, startMoto, type Moto } from "../dns/moto.js";
import { stepHarness, type StepHarness } from "../support/step-harness.js";

/**
 * One DNS service the resource writes to, and a way around the code under test to arrange and inspect it:
 * moto_server's own SDK client, or the sandbox DNS's in-process zones.
 */
interface DnsWorld {
  /** The resource's client, memoized where the resource looks for it (`dns:<provider>`). */
  port(): DnsPort;
  provider: "route53" | "sandbox";
  /** A fresh zone holding `shop.<zone> A 192.0.2.10` with `ttl`; the record's target. */
  seed(ttl: number): Promise<DnsRecordSetTarget>;
  /** Someone else's change to the record, past clustershift. */
  setBySomeoneElse(target: DnsRecordSetTarget, record: RecordSet): Promise<void>;
  /** The zone's record sets (NS and SOA aside) as the service holds them. */
  readBack(target: DnsRecordSetTarget): Promise<RecordSet[]>;
  kubeconfig?: () => string;
}

function harness(world: DnsWorld, port: DnsPort = world.port()): StepHarness {
  const h = stepHarness({ kubeconfig: world.kubeconfig?.() ?? "", step: "cutover-dns", kind: "cutover-dns" });
  h.ctx.clients.set(`dns:${world.provider}`, port);
  return h;
}

/** A port that lets `race` change the record after the resource's read and before its batch reaches the zone. */
function racing(port: DnsPort, race: () => Promise<void>): DnsPort {
  return {
    label: port.label,
    findZone: (ref) => port.findZone(ref),
    listRecordSets: (zone, name) => port.listRecordSets(zone, name),
    waitForChange: (change, options) => port.waitForChange(change, options),
    nameServers: (zone) => port.nameServers(zone),
    soa: (zone) => port.soa(zone),
    async changeRecordSets(zone, changes, comment) {
      await race();
      return port.changeRecordSets(zone, changes, comment);
    },
  };
}

/** A port that counts the batches sent through it. */
function counting(port: DnsPort): DnsPort & { batches: number } {
  const counted = {
    batches: 0,
    label: port.label,
    findZone: port.findZone.bind(port),
    listRecordSets: port.listRecordSets.bind(port),
    waitForChange: port.waitForChange.bind(port),
    nameServers: port.nameServers.bind(port),
    soa: port.soa.bind(port),
    changeRecordSets(...args: Parameters<DnsPort["changeRecordSets"]>) {
      counted.batches++;
      return port.changeRecordSets(...args);
    },
  };
  return counted;
}

function ttlChange(target: DnsRecordSetTarget, from: number, to: number): DnsRecordSetChange {
  return {
    address: `${target.provider} record ${target.name} A`,
    action: "update",
    target,
    before: [aRecord(target.name, from)],
    after: [aRecord(target.name, to)],
  };
}

function recordSetTests(world: () => DnsWorld): void {
  it("Given a TTL change planned, When the TTL changes after the plan, Then write stops with a DriftError naming `TTL 300 → 120`, and the record is what the other change left, nothing journaled", async () => {
    const w = world();
    const target = await w.seed(300);
    const planned = ttlChange(target, 300, 60);
    await w.setBySomeoneElse(target, aRecord(target.name, 120));
    const h = harness(w);

    const write = dnsRecordSetResource.write(planned, h.ctx);

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(
      `the record ${target.name} A changed since the plan: TTL 300 → 120 (expected A 192.0.2.10 ttl 300, found A 192.0.2.10 ttl 120); nothing was changed`,
    );
    expect(await w.readBack(target)).toEqual([aRecord(target.name, 120)]);
    expect(h.entries).toEqual([]);
  });

  it("Given a TTL change planned, When the values change after the plan, Then write stops naming `values 192.0.2.10 → 192.0.2.99` and the record keeps them", async () => {
    const w = world();
    const target = await w.seed(300);
    await w.setBySomeoneElse(target, aRecord(target.name, 300, "192.0.2.99"));
    const h = harness(w);

    await expect(dnsRecordSetResource.write(ttlChange(target, 300, 60), h.ctx)).rejects.toThrow(
      `the record ${target.name} A changed since the plan: values 192.0.2.10 → 192.0.2.99`,
    );
    expect(await w.readBack(target)).toEqual([aRecord(target.name, 300, "192.0.2.99")]);
  });

  it("Given a TTL change planned, When the TTL changes between the resource's read and its batch, Then the zone refuses the batch's exact DELETE (the compare-and-swap is the zone's), and the DriftError names `TTL 300 → 120`", async () => {
    const w = world();
    const target = await w.seed(300);
    const h = harness(
      w,
      racing(w.port(), () => w.setBySomeoneElse(target, aRecord(target.name, 120))),
    );

    const write = dnsRecordSetResource.write(ttlChange(target, 300, 60), h.ctx);

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(`changed since the plan: TTL 300 → 120`);
    expect(await w.readBack(target)).toEqual([aRecord(target.name, 120)]);
  });

  it("Given a record created by someone else after a create was planned, When write runs, Then it stops naming what was added and leaves it", async () => {
    const w = world();
    const target = await w.seed(300);
    const www = { ...target, name: `www.${target.zone.name}` };
    await w.setBySomeoneElse(www, aRecord(www.name, 30, "198.51.100.1"));
    const h = harness(w);
    const create: DnsRecordSetChange = {
      address: `${w.port().label} record ${www.name} A`,
      action: "create",
      target: www,
      after: [aRecord(www.name, 60)],
    };

    await expect(dnsRecordSetResource.write(create, h.ctx)).rejects.toThrow(
      `the record ${www.name} A changed since the plan: A 198.51.100.1 ttl 30 added`,
    );
    expect((await w.readBack(target)).filter((set) => set.name === www.name)).toEqual([
      aRecord(www.name, 30, "198.51.100.1"),
    ]);
  });

  it("Given a TTL change carried out, When it is reverted twice, Then the before-image is back, and the second revert sends nothing: twice is once", async () => {
    const w = world();
    const target = await w.seed(300);
    const port = counting(w.port());
    const h = harness(w, port);
    await dnsRecordSetResource.write(ttlChange(target, 300, 60), h.ctx);
    expect(await w.readBack(target)).toEqual([aRecord(target.name, 60)]);
    const [entry] = h.rollbackEntries();
    expect(entry?.target).toEqual(target);

    await dnsRecordSetResource.revert(entry!, h.ctx);
    const batches = port.batches;
    await dnsRecordSetResource.revert(entry!, h.ctx);

    expect(await w.readBack(target)).toEqual([aRecord(target.name, 300)]);
    expect(port.batches).toBe(batches);
    // Written again, the same change is a no-op: the live record already is `after`.
    await dnsRecordSetResource.write(ttlChange(target, 300, 300), h.ctx);
    expect(port.batches).toBe(batches);
  });
}

describe("dns.recordset compare-and-swap on Route 53 (moto_server)", () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
    // The SDK's default chain finds these, as a user's would find theirs.
    process.env.AWS_ACCESS_KEY_ID = "test";
    process.env.AWS_SECRET_ACCESS_KEY = "test";
  });
  afterAll(async () => {
    await moto?.stop();
  });

  recordSetTests(() => ({
    provider: "route53",
    port: () => new Route53Dns({ endpoint: moto.endpoint, pollIntervalMs: 10 }),
    async seed(ttl) {
      const zone = await createZone(moto.sdk, "rrset", (z) => [
        { Name: `shop.${z}`, Type: "A", TTL: ttl, ResourceRecords: [{ Value: "192.0.2.10" }] },
      ]);
      return recordSetTarget("route53", zone, `shop.${zone.name}`);
    },
    async setBySomeoneElse(target, record) {
      await moto.sdk.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: target.zone.id,
          ChangeBatch: {
            Changes: [
              {
                Action: "UPSERT",
                ResourceRecordSet: {
                  Name: record.name,
                  Type: "A",
                  TTL: record.ttl ?? 0,
                  ResourceRecords: (record.values ?? []).map((Value) => ({ Value })),
                },
              },
            ],
          },
        }),
      );
    },
    async readBack(target) {
      return (await recordsOf(moto.sdk, target.zone.id)).map((set) => ({
        name: set.Name ?? "",
        type: set.Type ?? "",
        ttl: set.TTL ?? 0,
        values: (set.ResourceRecords ?? []).map((r) => r.Value ?? ""),
      }));
    },
  }));
});

describe("dns.recordset compare-and-swap on the sandbox DNS", () => {
  const sandbox = useDnsSandbox("rrset");

  recordSetTests(() => ({
    provider: "sandbox",
    kubeconfig: sandbox.kubeconfig,
    port: () => new SandboxDnsClient({ context: "source", kubeconfig: sandbox.kubeconfig() }),
    seed(ttl) {
      const { id, zone, record } = sandbox.seedZone(ttl);
      return Promise.resolve({
        ...recordSetTarget("sandbox-dns", { id, name: zone }, record),
        context: "source",
      });
    },
    async setBySomeoneElse(target, record) {
      // Another client's batch: UPSERT replaces the set whatever it holds.
      await new SandboxDnsClient({ context: "source", kubeconfig: sandbox.kubeconfig() }).changeRecordSets(
        { id: target.zone.id, name: target.zone.name, private: false },
        [{ action: "UPSERT", record }],
        "someone else",
      );
    },
    readBack(target) {
      return Promise.resolve(sandbox.dns.recordSets(target.zone.id));
    },
  }));
});

function recordSetTarget(
  provider: string,
  zone: { id: string; name: string },
  name: string,
): DnsRecordSetTarget {
  return { type: "dns.recordset", provider, zone: { id: zone.id, name: zone.name }, name, recordType: "A" };
}
