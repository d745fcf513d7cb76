import { Resolver } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/engine/errors.js";
import { SandboxDnsClient } from "../../src/providers/sandbox-dns/client.js";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import type { DnsStageData } from "../../src/steps/dns-common/stage-step.js";
import { eventually } from "../support/wait.js";
import { aRecord, DnsRun, dnsPlaybook, onlyProblem, useDnsSandbox } from "./harness.js";

const world = useDnsSandbox("safe");
const { dns, kubeconfig } = world;

const HERITAGE =
  '"heritage=external-dns,external-dns/owner=prod-cluster,external-dns/resource=service/shop/web"';

/** The sandbox DNS of the source context; `settleMs` bounds the wait for a lagging name server. */
function client(settleMs = 10_000): SandboxDnsClient {
  return new SandboxDnsClient({ context: "source", kubeconfig: kubeconfig(), settleMs });
}

function sandboxRun(dnsSpec: Record<string, unknown>, settleMs?: number): DnsRun {
  return new DnsRun(dnsPlaybook({ provider: "sandbox", ...dnsSpec }), client(settleMs), {
    kubeconfig: kubeconfig(),
  });
}

/** `PUT /sandbox/v1/dns/<path>` with the cluster's token, as the demo or a user of `clustershift sandbox` would. */
async function put(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const config = await readFile(kubeconfig(), "utf8");
  const server = /server: (\S+)/.exec(config)?.[1] ?? "";
  const token = /token: (\S+)/.exec(config)?.[1] ?? "";
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}/sandbox/v1/dns${path}`,
      {
        method: "PUT",
        rejectUnauthorized: false,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("DNS safe to cut over, on the sandbox DNS", () => {
  it("Given an alias record, when planned, then plan refuses it at spec.dns.record and says what to do", async () => {
    const zone = "alias.safe.test.";
    dns.addZone({
      name: zone,
      records: [
        {
          name: `shop.${zone}`,
          type: "A",
          alias: {
            hostedZoneId: "Z35SXDOTRQ7X7K",
            dnsName: "old-lb.example.net.",
            evaluateTargetHealth: false,
          },
        },
      ],
    });
    const run = sandboxRun({ zone, record: `shop.${zone}`, target: "203.0.113.7" });
    const plan = run.plan();
    await expect(plan).rejects.toThrow(UsageError);
    await expect(plan).rejects.toThrow(
      `spec.dns.record: shop.${zone} A is an alias record (to old-lb.example.net.) and has no TTL of its own: ` +
        "resolvers cache it for its target's TTL, which clustershift cannot lower before the cutover. Replace the " +
        "alias with a simple A record of the addresses it answers today and a TTL, wait until the alias target's TTL " +
        "has passed, then run `clustershift plan` again; or point the alias at the target by hand",
    );
  });

  it("Given a zone whose SOA has TTL 300 and MINIMUM 60, when the cutover creates a CNAME, then the plan reads the SOA and warns of 60s negative caching; the name servers serve that SOA over DNS", async () => {
    const zone = "soa.safe.test.";
    const { id } = dns.addZone({
      name: zone,
      records: [aRecord(`shop.${zone}`, 5)],
      soa: { ttl: 300, minimum: 60 },
    });
    const name = `shop.${zone}`;
    const plan = await sandboxRun({ zone, record: name, target: "lb.example.net" }).plan();
    const cutover = plan.steps.find((s) => s.plan.id === "cutover-dns")?.plan;
    expect((cutover?.data as DnsStageData).negativeCaching).toEqual({
      zone,
      soaTtl: 300,
      minimum: 60,
      ttl: 60,
    });
    expect(cutover?.changes.at(-1)).toMatchObject({
      action: "no-op",
      address: `sandbox-dns soa ${zone}`,
      detail:
        `creates ${name} CNAME: resolvers that asked for it before keep "no such record" for up to 60s (negative ` +
        "caching, RFC 2308: the lower of the SOA TTL 300s and its MINIMUM 60s); lower the SOA's TTL or MINIMUM a " +
        "negative-caching period before the cutover to shorten it",
    });

    // Over the wire, each name server answers SOA queries with the same record.
    for (const server of await dns.nameServers(id)) {
      const resolver = new Resolver({ timeout: 2000, tries: 2 });
      resolver.setServers([server.address ?? ""]);
      expect(await resolver.resolveSoa(zone)).toMatchObject({
        nsname: "ns-1.sandbox-dns.test",
        hostmaster: "hostmaster.sandbox-dns.test",
        minttl: 60,
      });
    }
  });

  it("Given an A record cut over to an IPv6 target, when verified, then every name server answers the new AAAA record over DNS, and the A record is gone", async () => {
    const zone = "six.safe.test.";
    const name = `shop.${zone}`;
    const { id } = dns.addZone({ name: zone, records: [aRecord(name, 5)] });
    const servers = await dns.nameServers(id);
    const results = await sandboxRun({ zone, record: name, target: "2001:DB8::7" }).applyAll();
    expect(results[1]?.verification).toEqual({
      outcome: "passed",
      detail: `every name server of the zone (${servers.map((s) => `${s.host} (${s.address ?? ""})`).join(", ")}) answers AAAA 2001:db8::7 for ${name}`,
    });
    for (const server of servers) {
      const resolver = new Resolver({ timeout: 2000, tries: 2 });
      resolver.setServers([server.address ?? ""]);
      await expect(resolver.resolve4(name)).rejects.toMatchObject({ code: "ENODATA" });
      expect(await resolver.resolve6(name, { ttl: true })).toEqual([{ address: "2001:db8::7", ttl: 5 }]);
    }
  });

  it("Given external-dns's TXT registry for the record, when planned, then plan refuses naming the owner; with takeOver: external-dns it cuts over", async () => {
    const zone = "owned.safe.test.";
    const name = `shop.${zone}`;
    const { id } = dns.addZone({
      name: zone,
      records: [aRecord(name, 5), { name: `a-${name}`, type: "TXT", ttl: 300, values: [HERITAGE] }],
    });
    await expect(sandboxRun({ zone, record: name, target: "203.0.113.7" }).plan()).rejects.toThrow(
      onlyProblem(
        `spec.dns.record: ${name} is managed by external-dns (owner "prod-cluster", TXT a-${name}), which would put ` +
          "its own value back at its next sync. Stop external-dns from managing it (remove the hostname annotation or " +
          "the source it reads it from), or set spec.dns.takeOver: external-dns to cut it over anyway",
      ),
    );
    const run = sandboxRun({ zone, record: name, target: "203.0.113.7", takeOver: "external-dns" });
    const results = await run.applyAll();
    expect(results.map((r) => r.verification.outcome)).toEqual(["passed", "passed"]);
    expect(results[1]?.plan.changes.at(-1)).toMatchObject({
      action: "no-op",
      address: `sandbox-dns owner ${name}`,
    });
    // The registry record stays: taking over changes only the record itself.
    expect(dns.recordSets(id)).toEqual([
      { name: `a-${name}`, type: "TXT", ttl: 300, values: [HERITAGE] },
      aRecord(name, 5, "203.0.113.7"),
    ]);
  });

  it("Given three name servers and one stalled on the old record, when cut over, then the check waits, fails naming it, and passes once it catches up", async () => {
    const zone = "lag.safe.test.";
    const name = `shop.${zone}`;
    const { id } = dns.addZone({ name: zone, records: [aRecord(name, 5)] });
    const servers = await dns.nameServers(id);
    expect(servers.map((s) => s.host)).toEqual([
      "ns-1.sandbox-dns.test.",
      "ns-2.sandbox-dns.test.",
      "ns-3.sandbox-dns.test.",
    ]);
    const show = (host: string) => `${host} (${servers.find((s) => s.host === host)?.address ?? ""})`;
    // Stalled over HTTP, as from outside the sandbox's process; an unknown server is refused naming the real ones.
    expect(await put("/nameservers/ns-9.sandbox-dns.test", { stalled: true })).toEqual({
      status: 404,
      text: JSON.stringify({
        code: "NoSuchNameServer",
        message:
          "no name server ns-9.sandbox-dns.test.; there are ns-1.sandbox-dns.test., ns-2.sandbox-dns.test., ns-3.sandbox-dns.test.",
      }),
    });
    expect(await put("/nameservers/ns-2.sandbox-dns.test", { stalled: true })).toEqual({
      status: 200,
      text: JSON.stringify({ host: "ns-2.sandbox-dns.test.", stalled: true }),
    });
    try {
      const run = sandboxRun({ zone, record: name, target: "203.0.113.7" }, 2000);
      const [lower, cutover] = await run.applyAll();
      expect(lower?.verification.outcome).toBe("passed");
      expect(cutover?.verification).toEqual({
        outcome: "failed",
        detail:
          `the name server ${show("ns-2.sandbox-dns.test.")} answers A 192.0.2.10 ttl 5 for ${name} after 2s, ` +
          "expected A 203.0.113.7 ttl 5; ns-1.sandbox-dns.test., ns-3.sandbox-dns.test. answer as planned",
      });
      // The API says the change is in: only asking each server shows the one that lags.
      expect(dns.recordSets(id)).toEqual([aRecord(name, 5, "203.0.113.7")]);

      if (!cutover) throw new Error("no cutover");
      const patient = sandboxRun({ zone, record: name, target: "203.0.113.7" }, 120_000);
      const verifying = cutoverDnsStep.verify(cutover.plan, patient.readContext());
      await eventually(
        () => patient.progress.lines.find((line) => line.includes("waiting for ns-2.sandbox-dns.test.")),
        60_000,
      );
      dns.stallNameServer("ns-2.sandbox-dns.test", false);
      await expect(verifying).resolves.toEqual({
        outcome: "passed",
        detail: `every name server of the zone (${servers.map((s) => show(s.host)).join(", ")}) answers A 203.0.113.7 for ${name}`,
      });
    } finally {
      dns.stallNameServer("ns-2.sandbox-dns.test", false);
    }
  });
});
