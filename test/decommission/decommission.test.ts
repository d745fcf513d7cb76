import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decommissionSourceStep } from "../../src/steps/decommission-source/index.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { playbookDocument } from "../support/step-harness.js";
import { requireTool } from "../support/tools.js";
import { StepRunner } from "../gke/harness.js";
import {
  hasPrometheus,
  startPrometheusJobs,
  waitForData,
  type PrometheusServer,
} from "../traffic/prometheus-server.js";
import { GATEWAY_RATE, SourceGatewayStats } from "./source-gateway.js";

const NS = "shop";

function workload(
  kind: "Deployment" | "StatefulSet",
  name: string,
  replicas: number,
  namespace = NS,
): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      ...(kind === "StatefulSet" ? { serviceName: name } : {}),
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "app", image: `registry.example.com/shop/${name}:1` }] },
      },
    },
  };
}

const SHOP = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } },
  workload("Deployment", "frontend", 2),
  workload("Deployment", "cart", 1),
  workload("Deployment", "idle", 0),
  workload("StatefulSet", "redis", 1),
  workload("Deployment", "elsewhere", 1, "other"),
] as KubeObject[];

function decommissionPlaybook(decommission: Record<string, unknown>): Record<string, unknown> {
  return playbookDocument("decommission", {
    source: {
      context: "source",
      ingress: { namespace: "istio-system", service: "istio-ingressgateway", gateway: "istio-system/gw" },
    },
    target: { context: "target" },
    workloads: { namespaces: [NS] },
    decommission,
  });
}

async function replicas(client: {
  get(ref: object): Promise<KubeObject | undefined>;
}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [kind, name, namespace] of [
    ["Deployment", "frontend", NS],
    ["Deployment", "cart", NS],
    ["Deployment", "idle", NS],
    ["StatefulSet", "redis", NS],
    ["Deployment", "elsewhere", "other"],
  ] as const) {
    const object = await client.get({ apiVersion: "apps/v1", kind, namespace, name });
    out[`${namespace}/${name}`] = (object?.spec as { replicas?: number } | undefined)?.replicas;
  }
  return out;
}

const BEFORE = { "shop/frontend": 2, "shop/cart": 1, "shop/idle": 0, "shop/redis": 1, "other/elsewhere": 1 };
const SCALED = { ...BEFORE, "shop/frontend": 0, "shop/cart": 0, "shop/redis": 0 };

describe.each(SUBSTRATES)("decommission-source scale to zero on %s", (substrate) => {
  const clusters = useClusters(substrate, { istio: false });
  const gateway = new SourceGatewayStats();
  beforeAll(async () => {
    await gateway.start();
  });
  afterAll(() => gateway.stop());

  it(`Given a quiet source gateway and a shop of 3 running workloads, When decommissioned and rolled back on ${substrate}, Then they go to 0 and come back, other namespaces untouched`, async () => {
    const world = clusters();
    await world.seed("source", SHOP);
    const runner = new StepRunner(
      decommissionSourceStep,
      decommissionPlaybook({
        soak: "1s",
        traffic: {
          scrape: gateway.url,
          metric: 'istio_requests_total{reporter="source"}',
          window: "2s",
          timeout: "1m",
        },
      }),
      { kubeconfig: world.kubeconfigPath },
    );
    const [plan] = await runner.plan();
    expect(plan?.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      "wait soak after the DNS cutover",
      "wait source ingress quiet",
      "update deployment shop/cart replicas",
      "update deployment shop/frontend replicas",
      "no-op deployment shop/idle replicas",
      "update statefulset shop/redis replicas",
    ]);
    expect(plan?.gates).toEqual([]);
    const source = world.client("source");

    const { verifications } = await runner.apply();
    expect(verifications).toEqual([{ outcome: "passed" }]);
    expect(await replicas(source)).toEqual(SCALED);
    expect(runner.entries.map((e) => [e.address, e.before, e.after])).toEqual([
      ["deployment shop/cart replicas", { replicas: 1 }, { replicas: 0 }],
      ["deployment shop/frontend replicas", { replicas: 2 }, { replicas: 0 }],
      ["statefulset shop/redis replicas", { replicas: 1 }, { replicas: 0 }],
    ]);
    expect(runner.events).toContainEqual(
      expect.stringMatching(/^info source ingress quiet: 0 req\/s, below 0.1\/s for/),
    );

    await runner.rollback();
    expect(await replicas(source)).toEqual(BEFORE);
    await runner.rollback();
    expect(await replicas(source)).toEqual(BEFORE);
  }, 120_000);

  it(`Given a workload someone scaled after the decommission, When rolled back on ${substrate}, Then it is left as they set it`, async () => {
    const world = clusters();
    await world.seed("source", SHOP);
    const runner = new StepRunner(
      decommissionSourceStep,
      decommissionPlaybook({
        soak: "0s",
        traffic: { scrape: gateway.url, window: "1s", timeout: "1m" },
      }),
      { kubeconfig: world.kubeconfigPath },
    );
    await runner.apply();
    await world.seed("source", [workload("Deployment", "cart", 5)]);
    await runner.rollback();
    expect(await replicas(world.client("source"))).toEqual({ ...BEFORE, "shop/cart": 5 });
    expect(runner.events).toContainEqual(
      "warn deployment shop/cart replicas: left at 5 replicas, which someone set after this run scaled it to 0",
    );
  }, 120_000);
});

describe("decommission-source against a real Prometheus on sandbox", () => {
  requireTool("prometheus", hasPrometheus, "apt-get install prometheus (.ci/run does)");
  const clusters = useClusters("sandbox", { istio: false });
  const gateway = new SourceGatewayStats();
  let prometheus: PrometheusServer | undefined;
  beforeAll(async () => {
    if (!hasPrometheus) return;
    gateway.perScrape = 10;
    const target = await gateway.start();
    prometheus = await startPrometheusJobs([{ name: "source-gateway", target, path: "/stats/prometheus" }]);
    await waitForData(prometheus.url, GATEWAY_RATE);
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    await gateway.stop();
  });

  it("Given the source gateway still serving 10 req/s, When decommissioned, Then it refuses after its timeout and changes nothing; once traffic stops it proceeds", async () => {
    const world = clusters();
    await world.seed("source", SHOP);
    const playbook = (timeout: string) =>
      decommissionPlaybook({
        soak: "1s",
        traffic: { prometheus: prometheus?.url, query: GATEWAY_RATE, threshold: 0.5, window: "3s", timeout },
      });
    const busy = new StepRunner(decommissionSourceStep, playbook("4s"), { kubeconfig: world.kubeconfigPath });
    await expect(busy.apply()).rejects.toThrow(
      /^the source ingress still receives traffic \(or its rate cannot be read\): 10 req\/s, not below 0.5\/s after 4s; nothing was scaled or deleted/,
    );
    expect(busy.entries).toEqual([]);
    expect(await replicas(world.client("source"))).toEqual(BEFORE);

    gateway.perScrape = 0;
    const quiet = new StepRunner(decommissionSourceStep, playbook("2m"), {
      kubeconfig: world.kubeconfigPath,
    });
    const { verifications } = await quiet.apply();
    expect(verifications).toEqual([{ outcome: "passed" }]);
    expect(await replicas(world.client("source"))).toEqual(SCALED);
    // It waited through readings at 10 req/s (the 3 s rate still saw them) before the quiet window began.
    expect(
      quiet.events.filter((l) => l.startsWith("wait source ingress quiet: 0 req/s, quiet for")).length,
    ).toBeGreaterThan(0);
  }, 180_000);

  it("Given a query that matches no series, When decommissioned, Then no data never counts as quiet", async () => {
    const world = clusters();
    await world.seed("source", SHOP);
    const runner = new StepRunner(
      decommissionSourceStep,
      decommissionPlaybook({
        soak: "0s",
        traffic: {
          prometheus: prometheus?.url,
          query: 'sum(rate(istio_requests_total{source_workload="nowhere"}[3s]))',
          window: "1s",
          timeout: "2s",
        },
      }),
      { kubeconfig: world.kubeconfigPath },
    );
    await expect(runner.apply()).rejects.toThrow(
      /no rate: no series \(does the query match the source gateway\?\)/,
    );
    expect(runner.entries).toEqual([]);
  }, 60_000);
});
