import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shareGate, type ShareGate } from "../../src/engine/gates/share.js";
import { gatesOf } from "../../src/steps/shift-traffic/index.js";
import type { VirtualService } from "../../src/steps/shift-traffic/weights.js";
import { closeServer, listenOnLoopback } from "../support/net.js";
import { requireTool } from "../support/tools.js";
import { eventually } from "../support/wait.js";
import { gateContext } from "./gate-context.js";
import { hasPrometheus, startPrometheus, waitForData, type PrometheusServer } from "./prometheus-server.js";
import { REMOTE_HOST, trafficPlaybook } from "./world.js";

const GATEWAY =
  'reporter="source",source_workload="istio-ingressgateway",source_workload_namespace="istio-system"';
const FRONTEND = "frontend.onlineboutique.svc.cluster.local";
const API = "api.onlineboutique.svc.cluster.local";

/** The app's gateway VirtualService at weight 10: two routes, each split with the remote. */
const shifted: VirtualService = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "frontend", namespace: "onlineboutique" },
  spec: {
    hosts: ["shop.example.com"],
    gateways: ["frontend-gateway"],
    http: [
      {
        match: [{ uri: { prefix: "/api/" } }],
        route: [
          { destination: { host: "api" }, weight: 90 },
          { destination: { host: REMOTE_HOST, port: { number: 80 } }, weight: 10 },
        ],
      },
      {
        route: [
          { destination: { host: "frontend" }, weight: 90 },
          { destination: { host: REMOTE_HOST, port: { number: 80 } }, weight: 10 },
        ],
      },
      // A route the shift does not touch (no remote destination): its requests are not in the share.
      { match: [{ uri: { prefix: "/static/" } }], route: [{ destination: { host: "cdn.example.net" } }] },
    ],
  },
};

describe("the observed-share gate's queries", () => {
  it("Given traffic.observe, When a weight step is planned, Then the share gate runs first, reading the source gateway's requests to the remote over those to every host of the shifted routes", () => {
    const playbook = trafficPlaybook({
      gateway: "onlineboutique/frontend-gateway",
      namespace: "onlineboutique",
      service: "frontend",
      port: 80,
      steps: [{ weight: 10, pause: "1m" }],
    });
    const traffic = {
      ...playbook.spec.traffic!,
      observe: { prometheus: "http://prom:9090", tolerance: 5, window: "1m", interval: "15s", timeout: "5m" },
    };
    const gatewayWorkload = { namespace: "istio-system", service: "istio-ingressgateway" };

    const gates = gatesOf("shift-traffic[1]", { traffic, index: 0, gatewayWorkload }, [shifted]);

    expect(gates.map((g) => [g.address, g.detail])).toEqual([
      [
        "shift-traffic[1]/share",
        "observed share at the target within 5 points of 10%, read every 15s from http://prom:9090, up to 5m",
      ],
      ["shift-traffic[1]/pause", "pause 1m"],
    ]);
    const gate = gates[0]?.gate as unknown as ShareGate;
    expect(gate.remoteQuery).toBe(
      `sum(rate(istio_requests_total{${GATEWAY},destination_service="${REMOTE_HOST}"}[1m]))`,
    );
    expect(gate.totalQuery).toBe(
      `sum(rate(istio_requests_total{${GATEWAY},destination_service=~"${[REMOTE_HOST, API, FRONTEND]
        .map((h) => h.replaceAll(".", "\\\\."))
        .join("|")}"}[1m]))`,
    );
  });
});

/** The request rates of a reading left out: Prometheus extrapolates them from scrapes whose timing varies. */
const withoutRates = (detail: string | undefined) => detail?.replace(/\([^()]* req\/s\)/, "(… req/s)");

/** Requests added per scrape (one per second), by destination_service, from the source gateway. */
type Mix = Record<string, number>;

/** An exporter of the source gateway's `istio_requests_total` whose mix the test sets. */
class GatewayExporter {
  mix: Mix = {};
  private readonly totals = new Map<string, number>();
  private server: Server | undefined;

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      if (req.url !== "/metrics") return void res.writeHead(404).end();
      const lines = ["# TYPE istio_requests_total counter"];
      for (const [host, n] of Object.entries(this.mix))
        this.totals.set(host, (this.totals.get(host) ?? 0) + n);
      for (const [host, total] of this.totals) {
        lines.push(
          `istio_requests_total{${GATEWAY},destination_service="${host}",response_code="200"} ${total}`,
        );
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`${lines.join("\n")}\n`);
    });
    return listenOnLoopback(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

describe("the observed-share gate against a real Prometheus", () => {
  requireTool("prometheus", hasPrometheus, "apt-get install prometheus (.ci/run does)");
  const exporter = new GatewayExporter();
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    if (!hasPrometheus) return;
    exporter.mix = { [FRONTEND]: 90, [REMOTE_HOST]: 10 };
    prometheus = await startPrometheus(`127.0.0.1:${await exporter.start()}`);
    await waitForData(prometheus.url, query(`destination_service="${REMOTE_HOST}"`));
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    await exporter.stop();
  });

  /** A 5 s rate window: at 1 s scrapes, it follows a change of mix within seconds. */
  const query = (matcher: string) => `sum(rate(istio_requests_total{${GATEWAY},${matcher}}[5s]))`;
  const gate = (weight: number, timeout: string): ShareGate => ({
    type: "share",
    weight,
    prometheus: prometheus!.url,
    tolerance: 5,
    interval: "1s",
    timeout,
    remoteQuery: query(`destination_service="${REMOTE_HOST}"`),
    totalQuery: query(
      `destination_service=~"${[REMOTE_HOST, FRONTEND].map((h) => h.replaceAll(".", "\\\\.")).join("|")}"`,
    ),
  });

  it("Given 10% of the gateway's requests reaching the remote, When the gate of the 10% step runs, Then it passes at once and journals the reading", async () => {
    exporter.mix = { [FRONTEND]: 90, [REMOTE_HOST]: 10 };
    const ctx = gateContext();

    const outcome = await shareGate.run({ ...gate(10, "1m") }, ctx);

    expect({ ...outcome, detail: withoutRates(outcome.detail) }).toEqual({
      outcome: "passed",
      detail: "10.0% at the target (… req/s), configured 10%, within 5 points",
    });
    const readings = ctx.notes.map((n) => n.data as { share: number; remote: number; total: number });
    expect(ctx.notes.map((n) => n.note)).toEqual(readings.map(() => "share"));
    const last = readings.at(-1)!;
    // Prometheus extrapolates each series' rate from its own first and last sample in the window: close, not exact.
    expect(last.share).toBeCloseTo(10, 0);
    expect(last.share).toBeCloseTo((100 * last.remote) / last.total, 9);
  }, 120_000);

  it("Given a share that stays at 10% while the step asks for 50%, When the gate runs, Then it is inconclusive while it lags, saying why, and fails at its timeout", async () => {
    exporter.mix = { [FRONTEND]: 90, [REMOTE_HOST]: 10 };
    const ctx = gateContext();

    const outcome = await shareGate.run({ ...gate(50, "3s") }, ctx);

    expect(outcome.outcome).toBe("failed");
    expect(withoutRates(outcome.detail)).toBe(
      "the share at the target lagged the weight for 3s: 10.0% at the target (… req/s), configured 50%, " +
        "40.0 points off (tolerance 5); connections that do not follow weight changes keep their old destination " +
        "(long-lived HTTP/2 or gRPC connections held by a client-side proxy, TCP routes), or the rate window still " +
        "holds requests from before the change",
    );
    expect(ctx.lines[0]).toMatch(/^= observed share: inconclusive: 10\.0% at the target .* 40\.0 points off/);
  });

  it("Given a share that catches up with the weight while the gate reads, When it runs, Then it passes once within tolerance", async () => {
    exporter.mix = { [FRONTEND]: 100 };
    const ctx = gateContext();
    const running = shareGate.run({ ...gate(50, "2m") }, ctx);
    await eventually(() => (ctx.lines.some((l) => l.includes("inconclusive")) ? true : undefined), 60_000);

    exporter.mix = { [FRONTEND]: 50, [REMOTE_HOST]: 50 };
    const outcome = await running;

    expect(outcome.outcome).toBe("passed");
    expect(outcome.detail).toMatch(/ at the target \(.*\), configured 50%, within 5 points$/);
    expect(ctx.lines.filter((l) => l.startsWith("= ")).length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it("Given no requests through the shifted routes, When the gate runs, Then nothing is taken as on target and it fails at its timeout saying the share could not be observed", async () => {
    const ctx = gateContext();
    const idle = {
      ...gate(10, "2s"),
      remoteQuery: query('destination_service="nothing.example"'),
      totalQuery: query('destination_service="nothing.example"'),
    };

    const outcome = await shareGate.run(idle, ctx);

    expect(outcome).toEqual({
      outcome: "failed",
      detail:
        "the share at the target could not be observed within 2s: no share: no requests through the shifted routes in the rate window",
    });
  });
});
