import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { confirm } from "@inquirer/prompts";
import { apply, promote, rollback, type Engine } from "../engine/executor.js";
import { LocalJournalStore } from "../engine/journal/local-store.js";
import type { ReadContext, RunOptions } from "../engine/types.js";
import { parsePlaybook } from "../playbook/load.js";
import { cluster } from "../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject } from "../providers/kubernetes/port.js";
import type { RecordSet } from "../providers/route53/port.js";
import { renderPlanText } from "../render/plan.js";
import { createSink, type OutputMode } from "../render/progress.js";
import { builtinRegistry } from "../steps/index.js";
import { createSandboxDns, type SandboxDns } from "../sandbox/dns/index.js";
import { startSandbox } from "../sandbox/index.js";
import { sampleShop, SHOP_NAMESPACE } from "./sample-shop.js";

export interface DemoOptions {
  nonInteractive: boolean;
  rollback: boolean;
}

interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
}

const RECORD = "shop.example.com.";
const ZONE = "example.com.";
/** Short, so the demo waits the old TTL out in seconds; a real record would say 300 or more. */
const ORIGINAL_TTL = 8;

/**
 * `clustershift demo`: a sandbox with a source cluster running the sample shop behind Istio, a DNS zone, and the
 * whole migration: provision a target, install its gateway, mirror, expose, shift 10 → 50 → 100 with pauses and a
 * probe gate, lower the TTL, cut over. `rollback` then walks back. Offline; everything on 127.0.0.1.
 */
export async function runDemo(options: DemoOptions, io: Io, signal: AbortSignal): Promise<void> {
  const out = (line = "") => io.stdout.write(line + "\n");
  const dir = await mkdtemp(join(tmpdir(), "clustershift-demo-"));
  const dns = createSandboxDns({ pendingMs: 400 });
  const sandbox = await startSandbox({
    clusters: ["source"],
    istio: true,
    extensions: [dns],
    readyDelayMs: 150,
    loadBalancerDelayMs: 150,
  });
  const frontend = await startTargetFrontend();
  const gatewayStats = await startSourceGatewayStats();
  try {
    const kubeconfig = join(dir, "kubeconfig");
    await sandbox.writeKubeconfig(kubeconfig);
    out("clustershift demo — moving a sample shop to a new cluster, on local simulated clusters");
    out(`  sandbox kubeconfig: ${kubeconfig}`);
    out();

    const options_: RunOptions = {
      playbookFile: join(dir, "demo-playbook.yaml"),
      stateDir: join(dir, "state"),
      nonInteractive: options.nonInteractive,
      kubeconfig,
      destroyProvisioned: true,
    };
    const seedCtx = { clients: new Map<string, unknown>(), options: options_ };
    const source = cluster(seedCtx, "source");
    const sourceIp = await seedShop(source, signal);
    const zone = dns.addZone({ name: ZONE, records: [aRecord(sourceIp, ORIGINAL_TTL)] });
    out(
      `Source cluster "source": the shop in namespace ${SHOP_NAMESPACE}, ingress at ${sourceIp}; ${RECORD} A ${sourceIp} (TTL ${ORIGINAL_TTL}s).`,
    );

    // With --rollback the source cluster stays (a deleted one cannot come back): scale to zero only.
    const playbookText = demoPlaybook(frontend.url, gatewayStats.url, !options.rollback);
    await writeFile(options_.playbookFile, playbookText);
    const parsed = parsePlaybook(playbookText, options_.playbookFile);
    if (!parsed.ok)
      throw new Error(`the demo playbook is invalid: this is a bug: ${JSON.stringify(parsed.diagnostics)}`);
    out(`Playbook: ${options_.playbookFile}`);
    out();

    const mode: OutputMode = io.stdout.isTTY ? "tty" : "plain";
    const engine: Engine = {
      registry: await builtinRegistry(),
      playbook: parsed.playbook,
      options: options_,
      store: new LocalJournalStore(options_.stateDir, parsed.playbook.metadata.name),
      sink: createSink(mode, io.stdout),
      signal,
    };
    const originalVs = await source.get(VS_REF);
    const started = Date.now();

    let outcome = await apply(engine, async (approved) => {
      out(renderPlanText(approved, "demo playbook"));
      return (
        options.nonInteractive || (await confirm({ message: "Apply this plan?", default: true }, { signal }))
      );
    });
    engine.sink.close();
    out();
    out(outcome.message);
    if (outcome.outcome === "waiting-for-approval" && options.nonInteractive) {
      // Without a terminal the approval before deleting the source waits for `clustershift promote`: the demo
      // gives it, as an operator would, and applies again.
      out(`$ clustershift promote: ${await promote(engine)}`);
      engine.sink = createSink(mode, io.stdout);
      outcome = await apply(engine, () => Promise.resolve(true));
      engine.sink.close();
      out();
      out(outcome.message);
    }
    if (outcome.outcome !== "completed") return;
    const ctx = { clients: new Map<string, unknown>(), options: options_ };
    out();
    out(`What moved (in ${Math.round((Date.now() - started) / 1000)} s):`);
    const sourceGone = !sandbox.clusters.has("source");
    for (const line of await movedSummary(ctx, dns, zone.id, sourceGone)) out(`  ${line}`);

    if (!options.rollback) {
      out();
      out("Run `npx clustershift demo --rollback` to see the way back as well.");
      return;
    }
    out();
    if (
      !options.nonInteractive &&
      !(await confirm({ message: "Roll the migration back?", default: true }, { signal }))
    )
      return;
    const back: Engine = { ...engine, sink: createSink(mode, io.stdout) };
    const result = await rollback(back);
    back.sink.close();
    out();
    out(result.message);
    const restored = await cluster({ clients: new Map(), options: options_ }, "source").get(VS_REF);
    const record = dns.recordSets(zone.id).find((r) => r.name === RECORD);
    out(
      `  source VirtualService ${SHOP_NAMESPACE}/frontend-ingress identical to before: ${isDeepStrictEqual(restored?.spec, originalVs?.spec) ? "yes" : "NO"}`,
    );
    out(
      `  ${RECORD} ${record?.type} ${record?.values?.join(",")} (TTL ${record?.ttl}s): ${isDeepStrictEqual(record, aRecord(sourceIp, ORIGINAL_TTL)) ? "as before" : "DIFFERENT"}`,
    );
    out(`  target cluster removed: ${sandbox.clusters.has("target") ? "no" : "yes"}`);
  } finally {
    frontend.server.close();
    gatewayStats.server.close();
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const VS_REF = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  namespace: SHOP_NAMESPACE,
  name: "frontend-ingress",
};

async function seedShop(source: ClusterPort, signal: AbortSignal): Promise<string> {
  for (const object of sampleShop()) await source.apply(object);
  const ref = { apiVersion: "v1", kind: "Service", namespace: "istio-system", name: "istio-ingressgateway" };
  return source.waitFor(ref, loadBalancerIp, 30_000, () => signal.throwIfAborted());
}

function loadBalancerIp(service: KubeObject | undefined): string | undefined {
  const status = service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined;
  return status?.loadBalancer?.ingress?.[0]?.ip;
}

function aRecord(ip: string, ttl: number): RecordSet {
  return { name: RECORD, type: "A", ttl, values: [ip] };
}

async function movedSummary(
  ctx: Pick<ReadContext, "clients" | "options">,
  dns: SandboxDns,
  zoneId: string,
  sourceGone = false,
): Promise<string[]> {
  const target = cluster(ctx, "target");
  const lines: string[] = [];
  for (const kind of ["Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount"]) {
    const apiVersion = kind === "Deployment" ? "apps/v1" : "v1";
    const objects = await target.list(apiVersion, kind, { namespace: SHOP_NAMESPACE });
    const mine = objects.filter(
      (o) =>
        !(kind === "ConfigMap" && o.metadata.name === "kube-root-ca.crt") &&
        !(kind === "ServiceAccount" && o.metadata.name === "default"),
    );
    lines.push(`${kind}s mirrored to "target": ${mine.length}`);
  }
  if (sourceGone) {
    lines.push(`source cluster "source": deleted after the decommission's approval`);
    const record = dns.recordSets(zoneId).find((r) => r.name === RECORD);
    lines.push(
      `${RECORD} now ${record?.type} ${record?.values?.join(",") ?? record?.alias?.dnsName} (TTL ${record?.ttl}s)`,
    );
    return lines;
  }
  const scaled = await cluster(ctx, "source").list("apps/v1", "Deployment", { namespace: SHOP_NAMESPACE });
  const running = scaled.filter((d) => (d.spec as { replicas?: number } | undefined)?.replicas !== 0);
  lines.push(`source Deployments still running in ${SHOP_NAMESPACE}: ${running.length} of ${scaled.length}`);
  const vs = await cluster(ctx, "source").get(VS_REF);
  const routes =
    (vs?.spec as { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] } | undefined)
      ?.http ?? [];
  const weights = routes
    .flatMap((r) => r.route ?? [])
    .map((d) => `${d.destination?.host}=${d.weight ?? 100}`);
  lines.push(`source VirtualService ${SHOP_NAMESPACE}/frontend-ingress: ${weights.join(", ")}`);
  const record = dns.recordSets(zoneId).find((r) => r.name === RECORD);
  lines.push(
    `${RECORD} now ${record?.type} ${record?.values?.join(",") ?? record?.alias?.dnsName} (TTL ${record?.ttl}s)`,
  );
  return lines;
}

/** The target's shop frontend as the probe gate sees it through the target ingress: a real HTTP server. */
async function startTargetFrontend(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    res.writeHead(req.headers.host === "shop.example.com" ? 200 : 404, { "content-type": "text/plain" });
    res.end("sample shop frontend (target cluster)\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/**
 * Stands in for the source ingress gateway's Envoy stats (`:15090/stats/prometheus`), which the decommission
 * step reads when there is no Prometheus: the sandbox serves no data plane, and the demo sends no client
 * traffic, so the counter stays where it is and the source reads quiet.
 */
async function startSourceGatewayStats(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url !== "/stats/prometheus") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(
      "# TYPE istio_requests_total counter\n" +
        'istio_requests_total{reporter="source",source_workload="istio-ingressgateway",response_code="200"} 1200\n',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/prometheus` };
}

export function demoPlaybook(probeUrl: string, statsUrl?: string, deleteSource = false): string {
  const decommission = statsUrl
    ? `  decommission:
    soak: 2s
    traffic: {scrape: "${statsUrl}", metric: 'istio_requests_total{reporter="source"}', window: 2s, timeout: 1m}
${deleteSource ? "    deleteCluster: true\n    cluster: {provider: sandbox, name: source}\n" : ""}`
    : "";
  return `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata:
  name: demo-shop
spec:
  source:
    context: source
    ingress: {namespace: istio-system, service: istio-ingressgateway, gateway: ${SHOP_NAMESPACE}/shop-gateway}
  target:
    context: target
    provision: {provider: sandbox, name: target, mesh: {revision: asm-managed}}
    ingress: {namespace: asm-ingress, service: asm-ingressgateway, gateway: asm-ingress/asm-ingressgateway, install: true}
  workloads:
    namespaces: [${SHOP_NAMESPACE}]
    namespaceLabels: {istio.io/rev: asm-managed}
    images:
      - {from: registry.example.com/shop, to: registry.example.com/shop-mirror}
    rolloutTimeout: 1m
  traffic:
    namespace: ${SHOP_NAMESPACE}
    service: frontend
    port: 80
    remoteHost: frontend.target.clustershift.internal
    hosts: [shop.example.com]
    steps:
      - {weight: 10, pause: 2s}
      - weight: 50
        pause: 2s
        probe: {url: "${probeUrl}", host: shop.example.com, requests: 5, expectStatus: 200, minSuccessRate: 1, timeout: 2s}
      - {weight: 100}
    onFailure: rollback
  dns:
    provider: sandbox
    zone: ${ZONE}
    record: shop.example.com
    type: A
    lowTtl: 5
${decommission}`;
}
