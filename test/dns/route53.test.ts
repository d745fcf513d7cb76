import { ChangeResourceRecordSetsCommand, type ResourceRecordSet } from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriftError, RuntimeError } from "../../src/engine/errors.js";
import { Route53Dns, type Route53Options } from "../../src/providers/route53/client.js";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import { closedUdpPort } from "./dns-server.js";
import { DnsRun, dnsPlaybook } from "./harness.js";
import { createZone, recordsOf, startMoto, type Moto } from "./moto.js";

let moto: Moto;
let closed: string;

beforeAll(async () => {
  moto = await startMoto();
  // The code under test finds moto the way a user points it at an emulator: the SDK's own env variables.
  process.env.AWS_ENDPOINT_URL_ROUTE_53 = moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  closed = await closedUdpPort();
});

afterAll(async () => {
  await moto?.stop();
});

/** Route 53 through the env endpoint; verification asks a loopback port, never the real name servers. */
function route53(options: Route53Options = {}): Route53Dns {
  return new Route53Dns({ pollIntervalMs: 10, resolverTimeoutMs: 300, verifyServers: [closed], ...options });
}

function aRecord(name: string, ttl: number, value = "192.0.2.10"): ResourceRecordSet {
  return { Name: name, Type: "A", TTL: ttl, ResourceRecords: [{ Value: value }] };
}

async function upsert(zoneId: string, set: ResourceRecordSet): Promise<void> {
  await moto.sdk.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: "UPSERT", ResourceRecordSet: set }] },
    }),
  );
}

describe("Route 53 cutover against moto_server", () => {
  it("Given an A record with TTL 6, when the run lowers the TTL, cuts over and restores the TTL, then rollback brings back the original field for field", async () => {
    const zone = await createZone(moto.sdk, "flow", (z) => [
      aRecord(`shop.${z}`, 6),
      { Name: `www.${z}`, Type: "CNAME", TTL: 300, ResourceRecords: [{ Value: `shop.${z}` }] },
    ]);
    const original = await recordsOf(moto.sdk, zone.id);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "203.0.113.7", restoreTtl: true }),
      route53(),
    );

    const plan = await run.plan();
    expect(
      plan.steps.map((s) => [s.plan.id, s.plan.changes.map((c) => `${c.action} ${c.detail ?? ""}`)]),
    ).toEqual([
      [
        "lower-dns-ttl",
        ["update ttl 6→5", "wait INSYNC", "wait the old TTL (6s) runs out of resolvers' caches"],
      ],
      ["cutover-dns", ["update 192.0.2.10 → 203.0.113.7", "wait INSYNC"]],
      ["cutover-dns[restore-ttl]", ["update ttl 5→6", "wait INSYNC"]],
    ]);

    const started = Date.now();
    const results = await run.applyAll(plan);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6000);
    expect(results.map((r) => [r.id, r.verification.outcome])).toEqual([
      ["lower-dns-ttl", "not-supported"],
      ["cutover-dns", "not-supported"],
      ["cutover-dns[restore-ttl]", "not-supported"],
    ]);
    expect(results[1]?.verification).toMatchObject({
      detail: expect.stringMatching(
        /reads back as planned through the route53 API; .*did not answer/,
      ) as unknown,
    });
    // The seconds left are measured when the wait reports; that the whole 6s TTL was waited is the elapsed time's
    // lower bound above.
    expect(run.progress.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^wait route53 ttl shop\\.${zone.name.replaceAll(".", "\\.")} A: waiting out the old TTL: \\d+s left$`,
        ),
      ),
    );
    expect(await recordsOf(moto.sdk, zone.id)).toEqual([
      { Name: `shop.${zone.name}`, Type: "A", TTL: 6, ResourceRecords: [{ Value: "203.0.113.7" }] },
      original[1],
    ]);
    expect(run.entries.map((e) => [e.step, e.action])).toEqual([
      ["lower-dns-ttl", "update"],
      ["cutover-dns", "update"],
      ["cutover-dns[restore-ttl]", "update"],
    ]);

    expect(await run.rollback()).toBe(3);
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
  });

  it("Given a plan, when someone changes the record before apply, then the cutover stops with a drift error and changes nothing", async () => {
    const zone = await createZone(moto.sdk, "drift", (z) => [aRecord(`shop.${z}`, 5)]);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "203.0.113.7" }),
      route53(),
    );
    const plan = await run.plan();
    const cutover = plan.steps.find((s) => s.plan.id === "cutover-dns")?.plan;
    if (!cutover) throw new Error("no cutover-dns plan");

    await upsert(zone.id, aRecord(`shop.${zone.name}`, 5, "192.0.2.99"));
    const changed = await recordsOf(moto.sdk, zone.id);

    const apply = cutoverDnsStep.apply(cutover, run.writeContext("cutover-dns", "cutover-dns"));
    await expect(apply).rejects.toThrow(DriftError);
    await expect(apply).rejects.toThrow(
      `the record shop.${zone.name} A changed since the plan: values 192.0.2.10 → 192.0.2.99 (expected A 192.0.2.10 ttl 5, found A 192.0.2.99 ttl 5); nothing was changed`,
    );
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(changed);
    expect(run.entries).toEqual([]);

    // Through the run loop, the re-plan before the step already sees it.
    await expect(run.applyAll(plan)).rejects.toThrow(
      /cutover-dns: ~ route53 record shop\..* A: update differs from the approved plan/,
    );
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(changed);
  });

  it("Given a cutover, when an operator changes the record in an emergency and rollback runs, then rollback stops with a drift error and leaves the operator's record", async () => {
    const zone = await createZone(moto.sdk, "emergency", (z) => [aRecord(`shop.${z}`, 5)]);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "203.0.113.7" }),
      route53(),
    );
    await run.applyAll(await run.plan());
    await upsert(zone.id, aRecord(`shop.${zone.name}`, 5, "198.51.100.42"));
    const emergency = await recordsOf(moto.sdk, zone.id);

    const rollback = run.rollback();
    await expect(rollback).rejects.toThrow(DriftError);
    await expect(rollback).rejects.toThrow(
      `route53 record shop.${zone.name} A was changed outside clustershift: it is A 198.51.100.42 ttl 5, where ` +
        `clustershift left A 203.0.113.7 ttl 5. Rollback leaves it as it is rather than overwrite that change with ` +
        `A 192.0.2.10 ttl 5; set the record as it should be and run rollback again, or run rollback with --force ` +
        "to restore it anyway",
    );
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(emergency);

    // The operator puts back what clustershift left; rollback then restores the original.
    await upsert(zone.id, aRecord(`shop.${zone.name}`, 5, "203.0.113.7"));
    await run.rollback();
    expect(await recordsOf(moto.sdk, zone.id)).toEqual([aRecord(`shop.${zone.name}`, 5)]);
  });

  it("Given an operator's emergency change after the cutover, When rollback runs with --force, Then the before-image is restored anyway and a warning says what was overwritten", async () => {
    const zone = await createZone(moto.sdk, "forced", (z) => [aRecord(`shop.${z}`, 5)]);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "203.0.113.7" }),
      route53(),
    );
    await run.applyAll(await run.plan());
    await upsert(zone.id, aRecord(`shop.${zone.name}`, 5, "198.51.100.42"));

    await run.rollback({ forceRollback: true });

    expect(await recordsOf(moto.sdk, zone.id)).toEqual([aRecord(`shop.${zone.name}`, 5)]);
    expect(run.progress.lines.filter((l) => l.includes("--force"))).toEqual([
      `warn route53 record shop.${zone.name} A was changed outside clustershift: it is A 198.51.100.42 ttl 5, where ` +
        "clustershift left A 203.0.113.7 ttl 5; --force: restoring A 192.0.2.10 ttl 5 anyway",
    ]);
  });

  it("Given weights 10/50/100, when the shift runs step by step, then a weighted pair moves and collapses into the target record, and rollback restores the original", async () => {
    const zone = await createZone(moto.sdk, "weighted", (z) => [aRecord(`shop.${z}`, 5)]);
    const name = `shop.${zone.name}`;
    const original = await recordsOf(moto.sdk, zone.id);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: name, target: "203.0.113.7", weights: [10, 50, 100] }),
      route53(),
    );
    const plan = await run.plan();
    expect(
      plan.steps.map((s) => [s.plan.id, s.plan.changes[0]?.detail, s.plan.gates.map((g) => g.detail)]),
    ).toEqual([
      ["lower-dns-ttl", "ttl 5s is not above 5s", []],
      ["cutover-dns[1]", "weights source 90, target 10 (203.0.113.7)", ["pause 5s (one TTL at weight 10)"]],
      [
        "cutover-dns[2]",
        "weights source 90→50, target 10→50 (203.0.113.7)",
        ["pause 5s (one TTL at weight 50)"],
      ],
      ["cutover-dns[3]", "weighted → 203.0.113.7 for every answer", []],
    ]);
    const weighted = (source: number, target: number): ResourceRecordSet[] => [
      {
        Name: name,
        Type: "A",
        SetIdentifier: "clustershift-source",
        Weight: source,
        TTL: 5,
        ResourceRecords: [{ Value: "192.0.2.10" }],
      },
      {
        Name: name,
        Type: "A",
        SetIdentifier: "clustershift-target",
        Weight: target,
        TTL: 5,
        ResourceRecords: [{ Value: "203.0.113.7" }],
      },
    ];

    await run.applyAll(plan, "cutover-dns[1]");
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(weighted(90, 10));
    await run.applyAll(plan, "cutover-dns[2]");
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(weighted(50, 50));
    await run.applyAll(plan);
    expect(await recordsOf(moto.sdk, zone.id)).toEqual([aRecord(name, 5, "203.0.113.7")]);

    expect(await run.rollback()).toBe(3);
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
  });

  it("Given a weighted shift stopped halfway, when a rollback killed after its first batch is run again, then the original is back", async () => {
    const zone = await createZone(moto.sdk, "halfway", (z) => [aRecord(`shop.${z}`, 5)]);
    const original = await recordsOf(moto.sdk, zone.id);
    const run = new DnsRun(
      dnsPlaybook({
        zone: zone.name,
        record: `shop.${zone.name}`,
        target: "203.0.113.7",
        weights: [10, 50, 100],
      }),
      route53(),
    );
    await run.applyAll(undefined, "cutover-dns[2]");
    const newest = run.entries.at(-1);
    if (!newest) throw new Error("nothing journaled");
    // The first rollback puts back the newest change's before-image, then dies before it journals that.
    await cutoverDnsStep.rollback([newest], run.writeContext("", ""));
    expect(await recordsOf(moto.sdk, zone.id)).not.toEqual(original);
    // Run again from the start: the newest change is seen as already undone, the older ones are undone.
    await run.rollback();
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
  });

  it("Given a zone that does not exist, when planned, then a clear error names it and nothing is changed", async () => {
    const run = new DnsRun(
      dnsPlaybook({ zone: "missing.test", record: "shop.missing.test", target: "203.0.113.7" }),
      route53(),
    );
    await expect(run.plan()).rejects.toThrow(
      new RuntimeError(
        "no hosted zone named missing.test. in the AWS account of the credentials of the default AWS chain: check dns.zone, or set dns.zoneId",
      ),
    );
    const byId = new DnsRun(
      dnsPlaybook({ zoneId: "ZNOSUCHZONE", record: "shop.missing.test", target: "203.0.113.7" }),
      route53(),
    );
    await expect(byId.plan()).rejects.toThrow(
      /reading hosted zone ZNOSUCHZONE: No hosted zone found with ID: ZNOSUCHZONE\. Check dns.zoneId/,
    );
    expect(run.entries).toEqual([]);
  });

  it("Given a public and a private zone of one name, when found by name, then it asks for dns.zoneId, and by zoneId it takes that one", async () => {
    const name = `twin${Date.now()}.test.`;
    const publicZone = await createZone(moto.sdk, "twin", undefined, { name });
    const privateZone = await createZone(moto.sdk, "twin", undefined, {
      name,
      vpc: { VPCRegion: "us-east-1", VPCId: "vpc-12345678" },
    });
    const dns = route53();
    await expect(dns.findZone({ zone: name })).rejects.toThrow(
      `${name} names 2 hosted zones (${[`${publicZone.id} public`, `${privateZone.id} private`].join(", ")}): set dns.zoneId to the one to change`,
    );
    await expect(
      dns.findZone({ zone: name.slice(0, -1).toUpperCase(), zoneId: privateZone.id }),
    ).resolves.toEqual({
      id: privateZone.id,
      name,
      private: true,
    });
    await expect(dns.findZone({ zone: "other.test", zoneId: privateZone.id })).rejects.toThrow(
      `dns.zoneId ${privateZone.id} is the zone ${name}, not dns.zone other.test.: fix one of them`,
    );
  });

  it("Given record sets of several types on one name, when listed one per page, then paging collects all of them and stops at the next name", async () => {
    const zone = await createZone(moto.sdk, "paging", (z) => [
      aRecord(`shop.${z}`, 300),
      { Name: `shop.${z}`, Type: "TXT", TTL: 300, ResourceRecords: [{ Value: '"hello"' }] },
      { Name: `shop.${z}`, Type: "MX", TTL: 300, ResourceRecords: [{ Value: `10 mail.${z}` }] },
      aRecord(`zzz.${z}`, 300),
    ]);
    const dns = route53({ pageSize: 1 });
    const found = await dns.listRecordSets(
      await dns.findZone({ zone: zone.name }),
      `SHOP.${zone.name.slice(0, -1)}`,
    );
    expect(found.map((set) => set.type).sort()).toEqual(["A", "MX", "TXT"]);
  });

  it("Given record sets with a routing policy not made by clustershift, when planned, then it refuses to cut them over", async () => {
    const zone = await createZone(moto.sdk, "foreign", (z) => [
      { ...aRecord(`shop.${z}`, 60), SetIdentifier: "blue", Weight: 1 },
      { ...aRecord(`shop.${z}`, 60, "192.0.2.11"), SetIdentifier: "green", Weight: 1 },
    ]);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "203.0.113.7" }),
      route53(),
    );
    await expect(run.plan()).rejects.toThrow(
      /has record sets with a routing policy \(A blue weight 1 .*\); clustershift cuts over one simple record/,
    );
  });
});
