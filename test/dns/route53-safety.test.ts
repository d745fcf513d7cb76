import { createServer, type Server, type Socket } from "node:net";
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeError, UsageError } from "../../src/engine/errors.js";
import { Route53Dns, type Route53Options } from "../../src/providers/route53/client.js";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import type { DnsStageData } from "../../src/steps/dns-common/stage-step.js";
import { eventually } from "../support/wait.js";
import { closedUdpPort, startFakeDns, type FakeAnswer, type FakeDns } from "./dns-server.js";
import { DnsRun, dnsPlaybook, onlyProblem } from "./harness.js";
import { createZone, recordsOf, startMoto, type Moto } from "./moto.js";

let moto: Moto;
let closed: string;

beforeAll(async () => {
  moto = await startMoto();
  process.env.AWS_ENDPOINT_URL_ROUTE_53 = moto.endpoint;
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  closed = await closedUdpPort();
});

afterAll(async () => {
  await moto?.stop();
});

function route53(options: Route53Options = {}): Route53Dns {
  return new Route53Dns({ pollIntervalMs: 10, resolverTimeoutMs: 300, verifyServers: [closed], ...options });
}

function aRecord(name: string, ttl: number, value = "192.0.2.10"): ResourceRecordSet {
  return { Name: name, Type: "A", TTL: ttl, ResourceRecords: [{ Value: value }] };
}

const HERITAGE =
  '"heritage=external-dns,external-dns/owner=prod-cluster,external-dns/resource=service/shop/web"';

describe("DNS safe to cut over, against moto_server", () => {
  it("Given an alias record (AliasTarget), when planned, then plan refuses it at spec.dns.record, says what to do, and nothing changes", async () => {
    const zone = await createZone(moto.sdk, "alias", (z) => [
      {
        Name: `shop.${z}`,
        Type: "A",
        AliasTarget: {
          HostedZoneId: "Z35SXDOTRQ7X7K",
          DNSName: "old-lb.us-east-1.elb.amazonaws.com",
          EvaluateTargetHealth: false,
        },
      },
    ]);
    const original = await recordsOf(moto.sdk, zone.id);
    const run = new DnsRun(
      dnsPlaybook({ zone: zone.name, record: `shop.${zone.name}`, target: "new-lb.example.net" }),
      route53(),
    );
    const plan = run.plan();
    await expect(plan).rejects.toThrow(UsageError);
    await expect(plan).rejects.toThrow(
      `spec.dns.record: shop.${zone.name} A is an alias record (to old-lb.us-east-1.elb.amazonaws.com.) and has no TTL ` +
        "of its own: resolvers cache it for its target's TTL, which clustershift cannot lower before the cutover. " +
        "Replace the alias with a simple A record of the addresses it answers today and a TTL, wait until the alias " +
        "target's TTL has passed, then run `clustershift plan` again; or point the alias at the target by hand",
    );
    expect(await recordsOf(moto.sdk, zone.id)).toEqual(original);
    expect(run.entries).toEqual([]);
  });

  it("Given moto's zone SOA (TTL 900, MINIMUM 86400), when the cutover creates a AAAA record, then the plan reads the SOA and warns of 900s negative caching; a changed SOA is read again", async () => {
    const zone = await createZone(moto.sdk, "soa", (z) => [aRecord(`shop.${z}`, 5)]);
    const name = `shop.${zone.name}`;
    const run = new DnsRun(dnsPlaybook({ zone: zone.name, record: name, target: "2001:db8::7" }), route53());
    const plan = await run.plan();
    const data = (id: string) => plan.steps.find((s) => s.plan.id === id)?.plan.data as DnsStageData;
    expect(data("lower-dns-ttl").negativeCaching).toEqual({
      zone: zone.name,
      soaTtl: 900,
      minimum: 86400,
      ttl: 900,
    });
    expect(
      plan.steps.map((s) => [
        s.plan.id,
        s.plan.changes.map((c) => `${c.action} ${c.address}  ${c.detail ?? ""}`),
      ]),
    ).toEqual([
      ["lower-dns-ttl", [`no-op route53 record ${name} A  ttl 5s is not above 5s`]],
      [
        "cutover-dns",
        [
          `update route53 record ${name} A  A 192.0.2.10 → AAAA 2001:db8::7`,
          `wait route53 change ${name} A  INSYNC`,
          `no-op route53 soa ${zone.name}  creates ${name} AAAA: resolvers that asked for it before keep "no such record" ` +
            "for up to 900s (negative caching, RFC 2308: the lower of the SOA TTL 900s and its MINIMUM 86400s); " +
            "lower the SOA's TTL or MINIMUM a negative-caching period before the cutover to shorten it",
        ],
      ],
    ]);

    // The operator lowers the SOA: the plan reads what the zone says now (the lower of TTL 120 and MINIMUM 60).
    const { ResourceRecordSets } = await moto.sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        StartRecordName: zone.name,
        StartRecordType: "SOA",
      }),
    );
    const soa = ResourceRecordSets?.find((set) => set.Type === "SOA");
    const fields = (soa?.ResourceRecords?.[0]?.Value ?? "").split(" ");
    fields[6] = "60";
    await moto.sdk.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        ChangeBatch: {
          Changes: [
            {
              Action: "UPSERT",
              ResourceRecordSet: {
                Name: zone.name,
                Type: "SOA",
                TTL: 120,
                ResourceRecords: [{ Value: fields.join(" ") }],
              },
            },
          ],
        },
      }),
    );
    const again = await run.plan();
    expect((again.steps[1]?.plan.data as DnsStageData).negativeCaching).toEqual({
      zone: zone.name,
      soaTtl: 120,
      minimum: 60,
      ttl: 60,
    });
  });

  it("Given external-dns's TXT registry for the record (a-<name>, or the name itself), when planned, then plan refuses naming the owner; with takeOver: external-dns it cuts over and leaves the registry", async () => {
    for (const registry of ["a-shop", "shop", "external-dns-a-shop"]) {
      const zone = await createZone(moto.sdk, "owned", (z) => [
        aRecord(`shop.${z}`, 5),
        { Name: `${registry}.${z}`, Type: "TXT", TTL: 300, ResourceRecords: [{ Value: HERITAGE }] },
      ]);
      const name = `shop.${zone.name}`;
      const refused = new DnsRun(
        dnsPlaybook({ zone: zone.name, record: name, target: "203.0.113.7" }),
        route53(),
      );
      await expect(refused.plan()).rejects.toThrow(
        onlyProblem(
          `spec.dns.record: ${name} is managed by external-dns (owner "prod-cluster", TXT ${registry}.${zone.name}), ` +
            "which would put its own value back at its next sync. Stop external-dns from managing it (remove the hostname " +
            "annotation or the source it reads it from), or set spec.dns.takeOver: external-dns to cut it over anyway",
        ),
      );

      const run = new DnsRun(
        dnsPlaybook({ zone: zone.name, record: name, target: "203.0.113.7", takeOver: "external-dns" }),
        route53(),
      );
      const plan = await run.plan();
      expect(plan.steps.find((s) => s.plan.id === "cutover-dns")?.plan.changes.at(-1)).toMatchObject({
        action: "no-op",
        address: `route53 owner ${name}`,
        detail:
          `managed by external-dns (owner "prod-cluster", TXT ${registry}.${zone.name}); taken over (spec.dns.takeOver): ` +
          "keep external-dns from syncing it until the migration is finished",
      });
      await run.applyAll(plan);
      const records = await recordsOf(moto.sdk, zone.id);
      expect(records.find((r) => r.Type === "A" && r.Name === name)).toEqual(aRecord(name, 5, "203.0.113.7"));
      expect(records.find((r) => r.Type === "TXT")?.ResourceRecords).toEqual([{ Value: HERITAGE }]);
    }
  });

  it("Given moto's delegation set of four name servers, each served on loopback, when one lags, then the check waits for it, fails naming it, and passes once it answers", async () => {
    const zone = await createZone(moto.sdk, "every", (z) => [aRecord(`shop.${z}`, 5)]);
    const name = `shop.${zone.name}`;
    const { DelegationSet } = await moto.sdk.send(new GetHostedZoneCommand({ Id: zone.id }));
    const hosts = (DelegationSet?.NameServers ?? []).map((host) => `${host.toLowerCase()}.`).sort();
    expect(hosts).toHaveLength(4);

    /** What moto holds now: every server answers from it, unless it is frozen on an older answer. */
    const live = async (qname: string, type: string): Promise<FakeAnswer | undefined> => {
      const { ResourceRecordSets } = await moto.sdk.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: qname, MaxItems: 5 }),
      );
      const set = ResourceRecordSets?.find((s) => `${s.Name}` === qname && s.Type === type);
      return set
        ? { values: (set.ResourceRecords ?? []).map((r) => r.Value ?? ""), ttl: set.TTL ?? 0 }
        : undefined;
    };
    const frozen = new Map<string, FakeAnswer | undefined>();
    const servers: FakeDns[] = [];
    for (const host of hosts) {
      servers.push(
        await startFakeDns((qname, type) =>
          frozen.has(host) ? Promise.resolve(frozen.get(host)) : live(qname, type),
        ),
      );
    }
    const address = (host: string) => servers[hosts.indexOf(host)]?.server ?? "";
    const lagging = hosts[1] ?? "";
    try {
      frozen.set(lagging, await live(name, "A"));
      const wired = (settleMs: number) =>
        new Route53Dns({
          pollIntervalMs: 10,
          // moto's host names resolve nowhere: each is asked at its loopback server.
          nameServerAddresses: Object.fromEntries(hosts.map((host) => [host.slice(0, -1), address(host)])),
          settleMs,
        });
      const dns = wired(2000);
      const run = new DnsRun(dnsPlaybook({ zone: zone.name, record: name, target: "203.0.113.7" }), dns);
      const [lower, cutover] = await run.applyAll();
      expect(lower?.verification.outcome).toBe("passed");
      const others = hosts.filter((host) => host !== lagging);
      expect(cutover?.verification).toEqual({
        outcome: "failed",
        detail:
          `the name server ${lagging} (${address(lagging)}) answers A 192.0.2.10 ttl 5 for ${name} after 2s, ` +
          `expected A 203.0.113.7 ttl 5; ${others.join(", ")} answer as planned`,
      });
      expect(run.progress.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^wait route53 change ${name.replace(/\./g, "\\.")} A: waiting for ${lagging.replace(/\./g, "\\.")} to answer as planned \\(\\d+s\\)$`,
          ),
        ),
      );
      for (const server of servers) expect(server.queries).toContain(`${name} A`);

      // With time to settle, the check waits while the server lags and passes once it catches up.
      if (!cutover) throw new Error("no cutover");
      const patient = new DnsRun(run.playbook, wired(120_000));
      const verifying = cutoverDnsStep.verify(cutover.plan, patient.readContext());
      await eventually(
        () => patient.progress.lines.find((line) => line.includes(`waiting for ${lagging}`)),
        60_000,
      );
      frozen.delete(lagging);
      await expect(verifying).resolves.toEqual({
        outcome: "passed",
        detail:
          `every name server of the zone (${hosts.map((host) => `${host} (${address(host)})`).join(", ")}) ` +
          `answers A 203.0.113.7 for ${name}`,
      });
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});

describe("Route 53 calls stop with the run", () => {
  /** An endpoint that accepts connections and never answers, as a black-holed proxy does. */
  async function hangingEndpoint(): Promise<{ endpoint: string; connections: Socket[]; server: Server }> {
    const connections: Socket[] = [];
    const server = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    return { endpoint: `http://127.0.0.1:${port}`, connections, server };
  }

  it("Given an endpoint that never answers, when the run's signal is aborted mid-call, then the call stops with the signal's reason", async () => {
    const hanging = await hangingEndpoint();
    try {
      const stop = new AbortController();
      const dns = new Route53Dns({ endpoint: hanging.endpoint, signal: stop.signal, maxAttempts: 1 });
      const finding = dns.findZone({ zone: "hang.test" });
      await eventually(() => (hanging.connections.length > 0 ? true : undefined), 30_000);
      const reason = new Error("interrupted by SIGTERM (test)");
      stop.abort(reason);
      await expect(finding).rejects.toBe(reason);
      // A stopped run starts no new call.
      await expect(dns.findZone({ zone: "hang.test" })).rejects.toBe(reason);
      expect(hanging.connections).toHaveLength(1);
    } finally {
      for (const socket of hanging.connections) socket.destroy();
      hanging.server.close();
    }
  });

  it("Given a change batch on its way, when the run's signal is aborted, then the write is not cut short (it ends by its own deadline) and the next call stops with the reason", async () => {
    const hanging = await hangingEndpoint();
    try {
      const stop = new AbortController();
      const dns = new Route53Dns({
        endpoint: hanging.endpoint,
        signal: stop.signal,
        maxAttempts: 1,
        callTimeoutMs: 1500,
      });
      const zone = { id: "ZHANG", name: "hang.test.", private: false };
      const writing = dns.changeRecordSets(
        zone,
        [
          {
            action: "UPSERT",
            record: { name: "shop.hang.test.", type: "A", ttl: 5, values: ["192.0.2.10"] },
          },
        ],
        "test",
      );
      await eventually(() => (hanging.connections.length > 0 ? true : undefined), 30_000);
      const reason = new Error("interrupted by SIGTERM (test)");
      stop.abort(reason);
      await expect(writing).rejects.toThrow(
        new RuntimeError(
          `changing shop.hang.test. A in zone hang.test.: Route 53 at ${hanging.endpoint} did not answer within 2s: ` +
            "check the network or AWS_ENDPOINT_URL_ROUTE_53, then run the command again (apply resumes)",
        ),
      );
      await expect(
        dns.waitForChange({ id: "C1", status: "PENDING" }, { onProgress: () => undefined }),
      ).rejects.toBe(reason);
    } finally {
      for (const socket of hanging.connections) socket.destroy();
      hanging.server.close();
    }
  });

  it("Given an endpoint that never answers, when the call's deadline passes, then it fails saying Route 53 did not answer", async () => {
    const hanging = await hangingEndpoint();
    try {
      const dns = new Route53Dns({ endpoint: hanging.endpoint, callTimeoutMs: 1500 });
      await expect(dns.findZone({ zone: "hang.test" })).rejects.toThrow(
        new RuntimeError(
          `looking up hosted zone hang.test.: Route 53 at ${hanging.endpoint} did not answer within 2s: ` +
            "check the network or AWS_ENDPOINT_URL_ROUTE_53, then run the command again (apply resumes)",
        ),
      );
    } finally {
      for (const socket of hanging.connections) socket.destroy();
      hanging.server.close();
    }
  });
});
