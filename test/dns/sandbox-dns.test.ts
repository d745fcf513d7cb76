import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DriftError, RuntimeError } from "../../src/engine/errors.js";
import { KNOWN_AFTER_APPLY } from "../../src/engine/types.js";
import { dnsProvider } from "../../src/providers/dns.js";
import { cluster } from "../../src/providers/kubernetes/index.js";
import type { DnsPort } from "../../src/providers/route53/port.js";
import { SandboxDnsClient } from "../../src/providers/sandbox-dns/client.js";
import { renderPlanText } from "../../src/render/plan.js";
import { withSandbox } from "../support/sandbox.js";
import { aRecord, DnsRun, dnsPlaybook, useDnsSandbox } from "./harness.js";

const world = useDnsSandbox("shop", { loadBalancerDelayMs: 300 });
const { dns, kubeconfig } = world;
const www = (zone: string) => aRecord(`www.${zone}`, 300, "192.0.2.20");

/** A fresh zone `shopN.test.` holding `shop.shopN.test. A 192.0.2.10` with `ttl`, and `www.shopN.test.`. */
const seedZone = (ttl: number) => world.seedZone(ttl, (zone) => [www(zone)]);

function sandboxRun(dnsSpec: Record<string, unknown>, extra: Record<string, unknown> = {}): DnsRun {
  return new DnsRun(dnsPlaybook({ provider: "sandbox", ...dnsSpec }, extra), undefined, {
    kubeconfig: kubeconfig(),
  });
}

/** The target cluster's ingress gateway: a LoadBalancer Service the sandbox gives an address after 300 ms. */
async function createTargetIngress(run: DnsRun, name: string): Promise<string> {
  // The test's own fixture, made outside the run: a writer (a run's read context hands out readers only).
  const target = cluster({ clients: new Map(), options: run.readContext().options }, "target");
  await target.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gw" } });
  await target.apply({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "gw" },
    spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ name: "http", port: 80 }] },
  });
  return target.waitFor(
    { apiVersion: "v1", kind: "Service", namespace: "gw", name },
    (s) =>
      (s?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
        ?.ingress?.[0]?.ip,
    10_000,
    () => undefined,
  );
}

describe("sandbox DNS provider", () => {
  it("Given a zone seeded over HTTP with the cluster's token, when the provider looks it up from the kubeconfig, then it finds the zone and its record", async () => {
    const config = await readFile(kubeconfig(), "utf8");
    const server = /server: (\S+)/.exec(config)?.[1] ?? "";
    const token = /token: (\S+)/.exec(config)?.[1] ?? "";
    const body = JSON.stringify({ name: "seeded.test", records: [aRecord("shop.seeded.test", 120)] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${server}/sandbox/v1/dns/zones`,
        {
          method: "POST",
          rejectUnauthorized: false,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(201);

    const port = dnsProvider(sandboxRun({ zone: "seeded.test", record: "shop.seeded.test" }).readContext());
    const zone = await port.findZone({ zone: "SEEDED.test" });
    expect(zone).toMatchObject({ name: "seeded.test.", private: false });
    expect(await port.listRecordSets(zone, "shop.seeded.test")).toEqual([aRecord("shop.seeded.test.", 120)]);
  });

  it("Given a weighted shift with a TTL restore after a soak, when planned, then the plan lists every stage, wait and gate", async () => {
    const { zone, record } = seedZone(300);
    const run = sandboxRun({
      zone,
      record,
      lowTtl: 30,
      target: "203.0.113.7",
      weights: [10, 50, 100],
      restoreTtl: true,
      soak: "1h",
    });
    const text = renderPlanText(await run.plan(), "shop.yaml").replaceAll(zone, "example.com.");
    await expect(text).toMatchFileSnapshot("__golden__/weighted-plan.txt");
  });

  it("Given the target ingress has no address yet, when planned, then the new value is known after apply; once the load balancer has one, apply points the record at it", async () => {
    const { id, zone, record } = seedZone(5);
    const original = dns.recordSets(id);
    const run = sandboxRun(
      { zone, record },
      {
        target: {
          context: "target",
          ingress: { namespace: "gw", service: "late-gateway", gateway: "gw/gw", install: true },
        },
      },
    );
    const plan = await run.plan();
    const cutover = plan.steps.find((s) => s.plan.id === "cutover-dns")?.plan.changes[0];
    expect(cutover).toMatchObject({
      action: "update",
      address: `sandbox-dns record ${record} A`,
      detail: `192.0.2.10 → ${KNOWN_AFTER_APPLY}`,
      after: [{ values: [KNOWN_AFTER_APPLY] }],
    });

    const ip = await createTargetIngress(run, "late-gateway");
    const results = await run.applyAll(plan);

    expect(dns.recordSets(id)).toEqual([aRecord(record, 5, ip), www(zone)]);
    // Each of the zone's three name servers was asked over DNS on its own port.
    const servers = (await dns.nameServers(id)).map((s) => `${s.host} (${s.address ?? ""})`).join(", ");
    expect(results.map((r) => [r.id, r.verification])).toEqual([
      [
        "lower-dns-ttl",
        {
          outcome: "passed",
          detail: `every name server of the zone (${servers}) answers A 192.0.2.10 for ${record}`,
        },
      ],
      [
        "cutover-dns",
        {
          outcome: "passed",
          detail: `every name server of the zone (${servers}) answers A ${ip} for ${record}`,
        },
      ],
    ]);
    // The sandbox keeps a change PENDING for 300 ms; the step waited it out before verifying.
    // The seconds waited so far are measured: only the report's form is pinned.
    expect(run.progress.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^wait sandbox-dns change ${record.replaceAll(".", "\\.")} A: waiting for INSYNC \\(\\d+s\\)$`,
        ),
      ),
    );

    await run.rollback();
    expect(dns.recordSets(id)).toEqual(original);
  });

  it("Given the target ingress address and a TTL to lower, when the run applies and rolls back, then the record comes back exactly", async () => {
    const { id, zone, record } = seedZone(6);
    const original = structuredClone(dns.recordSets(id));
    const run = sandboxRun(
      { zone, record, weights: [50, 100], restoreTtl: true },
      { target: { context: "target", ingress: { namespace: "gw", service: "gateway", gateway: "gw/gw" } } },
    );
    const ip = await createTargetIngress(run, "gateway");

    const results = await run.applyAll();
    expect(results.map((r) => [r.id, r.plan.changes[0]?.detail])).toEqual([
      ["lower-dns-ttl", "ttl 6→5"],
      ["cutover-dns[1]", `weights source 50, target 50 (${ip})`],
      ["cutover-dns[2]", `weighted → ${ip} for every answer`],
      ["cutover-dns[restore-ttl]", "ttl 5→6"],
    ]);
    expect(dns.recordSets(id)).toEqual([aRecord(record, 6, ip), www(zone)]);

    await run.rollback();
    expect(dns.recordSets(id)).toEqual(original);
  });

  it("Given someone changes the record between the last read and the batch, when Route 53 semantics refuse the DELETE, then apply stops with drift and nothing of ours lands", async () => {
    const { id, zone, record } = seedZone(5);
    const real: DnsPort = new SandboxDnsClient({ context: "source", kubeconfig: kubeconfig() });
    const racing: DnsPort = {
      label: real.label,
      findZone: (ref) => real.findZone(ref),
      listRecordSets: (z, name) => real.listRecordSets(z, name),
      waitForChange: (change, options) => real.waitForChange(change, options),
      nameServers: (z) => real.nameServers(z),
      soa: (z) => real.soa(z),
      async changeRecordSets(z, changes, comment) {
        await real.changeRecordSets(
          z,
          [{ action: "UPSERT", record: aRecord(record, 5, "192.0.2.99") }],
          "someone else",
        );
        return real.changeRecordSets(z, changes, comment);
      },
    };
    const run = new DnsRun(
      dnsPlaybook({ provider: "sandbox", zone, record, target: "203.0.113.7" }),
      racing,
      { kubeconfig: kubeconfig() },
    );

    const apply = run.applyAll();

    await expect(apply).rejects.toThrow(DriftError);
    await expect(apply).rejects.toThrow(
      `the record ${record} A changed since the plan: values 192.0.2.10 → 192.0.2.99 (expected A 192.0.2.10 ttl 5, found A 192.0.2.99 ttl 5); nothing was changed`,
    );
    expect(dns.recordSets(id)).toEqual([aRecord(record, 5, "192.0.2.99"), www(zone)]);
  });

  it("Given a kubeconfig whose token the sandbox does not know, when the zone is looked up, then the error says the credentials were refused", async () => {
    const bad = join(dirname(kubeconfig()), "bad-kubeconfig");
    await writeFile(bad, (await readFile(kubeconfig(), "utf8")).replace(/token: \S+/g, "token: wrong"));
    const port = new SandboxDnsClient({ context: "source", kubeconfig: bad });
    await expect(port.findZone({ zone: "seeded.test" })).rejects.toThrow(
      new RegExp(`the sandbox DNS at .* refused the credentials of context "source" \\(Unauthorized`),
    );
  });

  it("Given a zone that does not exist, when planned, then the error names it and points at dns.zone", async () => {
    const run = sandboxRun({ zone: "absent.test", record: "shop.absent.test" });
    await expect(run.plan()).rejects.toThrow(RuntimeError);
    await expect(run.plan()).rejects.toThrow(
      /^no hosted zone named absent\.test\. in the sandbox DNS at https:\/\/127\.0\.0\.1:\d+\/sandbox\/v1\/dns: check dns\.zone, or set dns\.zoneId$/,
    );
  });

  it("Given a sandbox without the DNS extension, when the provider is used, then the error says the sandbox serves no DNS", async () => {
    const plain = await withSandbox({ clusters: ["plain"], istio: false });
    try {
      await expect(
        new SandboxDnsClient({ context: "plain", kubeconfig: plain.kubeconfigPath }).findZone({
          zone: "x.test",
        }),
      ).rejects.toThrow(/serves no DNS \(NotFound: .*\): start it with the DNS extension/);
    } finally {
      await plain.stop();
    }
  });
});
