import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Route53Dns } from "../../src/providers/route53/client.js";
import { faultSeed, startFaultProxy, untilDone, type FaultProxy } from "../support/faults.js";
import { closedUdpPort } from "./dns-server.js";
import { aRecord, DnsRun, dnsPlaybook, useDnsSandbox } from "./harness.js";
import { createZone, recordsOf, startMoto, type Moto } from "./moto.js";

const TARGET = "203.0.113.7";
/** A 50/50 weighted pair, then the target alone; the TTL (5) is already at lowTtl: lower-dns-ttl changes nothing. */
const SHIFT = { target: TARGET, weights: [50, 100] };

describe("DNS cutover under lost replies, on the sandbox DNS", () => {
  const world = useDnsSandbox("faults");
  const { dns } = world;
  const run = (zone: string, record: string) =>
    new DnsRun(dnsPlaybook({ provider: "sandbox", zone, record, ...SHIFT }), undefined, {
      kubeconfig: world.kubeconfig(),
    });

  it("Given the first change batch carried out with its reply lost, When cut over and rolled back the same way, Then the client's retry is refused, the batch is taken as ours, the run completes in one go, and the record comes back exactly", async () => {
    const { id, zone, record } = world.seedZone(5);
    const original = structuredClone(dns.recordSets(id));
    const dnsRun = run(zone, record);

    dns.setFaults({ replyLostRate: 1, replyLostMethods: ["POST"], maxFaults: 1, seed: faultSeed() });
    const results = await dnsRun.applyAll();
    expect(dns.faultsInjected).toBe(1);
    expect(results.map((r) => [r.id, r.verification.outcome])).toEqual([
      ["lower-dns-ttl", "passed"],
      ["cutover-dns[1]", "passed"],
      ["cutover-dns[2]", "passed"],
    ]);
    expect(dns.recordSets(id)).toEqual([aRecord(record, 5, TARGET)]);
    expect(dnsRun.entries.map((e) => [e.step, e.action])).toEqual([
      ["cutover-dns[1]", "update"],
      ["cutover-dns[2]", "update"],
    ]);

    dns.setFaults({ replyLostRate: 1, replyLostMethods: ["POST"], maxFaults: 1, seed: faultSeed() });
    expect(await dnsRun.rollback()).toBe(2);
    expect(dns.faultsInjected).toBe(1);
    dns.setFaults({});
    expect(dns.recordSets(id)).toEqual(original);
  });

  it("Given every change batch carried out with its reply lost, retries included, When applied, Then apply stops with the change journaled and no change id; resumed, it waits for INSYNC of the record in place and completes, and rollback restores it", async () => {
    const { id, zone, record } = world.seedZone(5);
    const original = structuredClone(dns.recordSets(id));
    const dnsRun = run(zone, record);

    dns.setFaults({ replyLostRate: 1, replyLostMethods: ["POST"], seed: faultSeed() });
    await expect(dnsRun.applyAll()).rejects.toThrow(/cannot reach the sandbox DNS/);
    expect(dnsRun.entries.map((e) => [e.step, e.action])).toEqual([["cutover-dns[1]", "update"]]);
    expect(dnsRun.notes.filter((n) => n.note === "dns-change")).toEqual([]);
    // The batch landed although no answer came back.
    expect(dns.recordSets(id).map((r) => r.setIdentifier)).toEqual([
      "clustershift-source",
      "clustershift-target",
    ]);

    dns.setFaults({});
    const results = await dnsRun.applyAll();
    expect(results.map((r) => r.id)).toEqual(["cutover-dns[1]", "cutover-dns[2]"]);
    const first = dnsRun.notes.find((n) => n.step === "cutover-dns[1]" && n.note === "dns-change");
    expect(first).toBeDefined();
    const change = (first?.data as { change: string }).change;
    expect(dnsRun.notes).toContainEqual(expect.objectContaining({ note: "dns-insync", data: { change } }));
    expect(dnsRun.entries.map((e) => e.step)).toEqual(["cutover-dns[1]", "cutover-dns[2]"]);
    expect(dns.recordSets(id)).toEqual([aRecord(record, 5, TARGET)]);

    await dnsRun.rollback();
    expect(dns.recordSets(id)).toEqual(original);
  });

  it("Given seeded lost replies, 5xx, 429 and drops on the DNS API, When applied (resumed until it completes) and rolled back, Then the record ends at the target and comes back exactly", async () => {
    const { id, zone, record } = world.seedZone(5);
    const original = structuredClone(dns.recordSets(id));
    const dnsRun = run(zone, record);
    dns.setFaults({
      replyLostRate: 0.5,
      replyLostMethods: ["POST"],
      errorRate: 0.15,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.05,
      seed: faultSeed(),
    });
    await untilDone(() => dnsRun.applyAll());
    expect(dns.recordSets(id)).toEqual([aRecord(record, 5, TARGET)]);
    expect(dns.faultsInjected).toBeGreaterThan(0);
    await untilDone(() => dnsRun.rollback());
    dns.setFaults({});
    expect(dns.recordSets(id)).toEqual(original);
  });
});

describe("Route 53 cutover under lost replies, moto_server behind a fault-injecting proxy", () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let closed: string;

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startFaultProxy(moto.endpoint);
    process.env.AWS_ACCESS_KEY_ID = "test";
    process.env.AWS_SECRET_ACCESS_KEY = "test";
    closed = await closedUdpPort();
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  /** The product's Route 53 client, through the proxy; verification asks a closed loopback port. */
  const route53 = () =>
    new Route53Dns({
      endpoint: proxy.endpoint,
      region: "us-east-1",
      pollIntervalMs: 10,
      resolverTimeoutMs: 300,
      verifyServers: [closed],
    });

  it("Given the first ChangeResourceRecordSets carried out with its reply lost, When cut over and rolled back the same way, Then the SDK's retry is refused, the batch is taken as ours, and the record comes back exactly", async () => {
    const zone = await createZone(moto.sdk, "lost", (z) => [
      { Name: `shop.${z}`, Type: "A", TTL: 5, ResourceRecords: [{ Value: "192.0.2.10" }] },
    ]);
    const original = await recordsOf(moto.sdk, zone.id);
    const dnsRun = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, ...SHIFT }),
      route53(),
    );

    proxy.setFaults({ replyLostRate: 1, replyLostMethods: ["POST"], maxFaults: 1, seed: faultSeed() });
    const results = await dnsRun.applyAll();
    expect(proxy.faultsInjected).toBe(1);
    expect(results.map((r) => [r.id, r.verification.outcome])).toEqual([
      ["lower-dns-ttl", "not-supported"],
      ["cutover-dns[1]", "not-supported"],
      ["cutover-dns[2]", "not-supported"],
    ]);
    expect(await recordsOf(moto.sdk, zone.id)).toEqual([
      { Name: `shop.${zone.name}`, Type: "A", TTL: 5, ResourceRecords: [{ Value: TARGET }] },
    ]);

    proxy.setFaults({ replyLostRate: 1, replyLostMethods: ["POST"], maxFaults: 1, seed: faultSeed() });
    expect(await dnsRun.rollback()).toBe(2);
    expect(proxy.faultsInjected).toBe(1);
    proxy.setFaults({});
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
  });

  it("Given seeded lost replies on half the change batches, When applied (resumed until it completes) and rolled back, Then the record ends at the target and comes back exactly", async () => {
    const zone = await createZone(moto.sdk, "random", (z) => [
      { Name: `shop.${z}`, Type: "A", TTL: 5, ResourceRecords: [{ Value: "192.0.2.10" }] },
    ]);
    const original = await recordsOf(moto.sdk, zone.id);
    const dnsRun = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, ...SHIFT }),
      route53(),
    );
    proxy.setFaults({ replyLostRate: 0.5, replyLostMethods: ["POST"], seed: faultSeed() });
    await untilDone(() => dnsRun.applyAll());
    expect(await recordsOf(moto.sdk, zone.id)).toEqual([
      { Name: `shop.${zone.name}`, Type: "A", TTL: 5, ResourceRecords: [{ Value: TARGET }] },
    ]);
    await untilDone(() => dnsRun.rollback());
    proxy.setFaults({});
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
  });
});
