import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Comparison } from "../../src/engine/gates/analysis-compare.js";
import { analysisGate } from "../../src/engine/gates/analysis.js";
import { normalDraws, seededRandom } from "../../src/stats/index.js";
import { closeServer, listenOnLoopback } from "../support/net.js";
import { requireTool } from "../support/tools.js";
import { gateContext } from "../traffic/gate-context.js";
import {
  hasPrometheus,
  startPrometheusJobs,
  waitForData,
  type PrometheusServer,
} from "../traffic/prometheus-server.js";

/**
 * One cluster's request latency as its exporter reports it: every scrape draws a new value, log-normal around
 * `median` (spread 10%), from a seeded stream.
 */
class LatencyExporter {
  private server: Server | undefined;
  constructor(
    private readonly seed: number,
    private readonly median: number,
  ) {}

  async start(): Promise<string> {
    const draw = normalDraws(seededRandom(this.seed));
    this.server = createServer((req, res) => {
      if (req.url !== "/metrics") return void res.writeHead(404).end();
      const value = this.median * Math.exp(0.1 * draw());
      res
        .writeHead(200, { "content-type": "text/plain; version=0.0.4" })
        .end(`# TYPE request_latency_seconds gauge\nrequest_latency_seconds ${value}\n`);
    });
    return `127.0.0.1:${await listenOnLoopback(this.server)}`;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

const SEED = 1527;
const exporters = {
  source: new LatencyExporter(SEED, 0.1),
  target: new LatencyExporter(SEED + 1, 0.1),
  slow: new LatencyExporter(SEED + 2, 0.12),
};
let prometheus: PrometheusServer | undefined;

const compareGate = (targetCluster: string, extra: Record<string, unknown> = {}) => ({
  type: "analysis",
  prometheus: prometheus?.url ?? "",
  interval: "3s",
  count: 3,
  metrics: [
    {
      name: "latency",
      query: 'request_latency_seconds{cluster="{cluster}"}',
      compare: { direction: "increase", effectSize: 0.1, critical: true, group: "latency" },
    },
  ],
  compare: {
    clusters: { source: "source", target: targetCluster },
    step: "500ms",
    minSamples: 5,
    alpha: 0.05,
  },
  ...extra,
});

const comparisons = (notes: { note: string; data?: unknown }[]) =>
  notes.filter((n) => n.note === "comparison").map((n) => n.data as Comparison);

describe("analysis compare mode against a real Prometheus with two exporters", () => {
  requireTool("prometheus", hasPrometheus, "apt-get install prometheus (.ci/run does)");
  beforeAll(async () => {
    if (!hasPrometheus) return;
    console.log(`latency exporters seeded ${SEED}, ${SEED + 1}, ${SEED + 2}`);
    const jobs = await Promise.all(
      Object.entries(exporters).map(async ([cluster, exporter]) => ({
        name: cluster,
        target: await exporter.start(),
        labels: { cluster },
      })),
    );
    prometheus = await startPrometheusJobs(jobs, "500ms");
    for (const cluster of Object.keys(exporters))
      await waitForData(prometheus.url, `request_latency_seconds{cluster="${cluster}"}`);
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    for (const exporter of Object.values(exporters)) await exporter.stop();
  });

  it("Given the target 20% slower than the source, When compared over 3 looks, Then latency is High and the gate fails", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(compareGate("slow"), ctx);
    expect(outcome.outcome).toBe("failed");
    if (outcome.outcome !== "failed") return;
    expect(outcome.detail).toMatch(/critical metric failed: latency; latency High \(fails\): higher by /);
    const last = comparisons(ctx.notes).at(-1);
    expect(last?.metrics[0]?.classification).toBe("High");
    expect(last?.metrics[0]?.relativeShift).toBeGreaterThan(0.1);
    expect(last?.metrics[0]?.sourceCount).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it("Given identical latency distributions, When compared over 3 looks, Then every look passes and the gate passes", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(compareGate("target"), ctx);
    expect(outcome).toMatchObject({ outcome: "passed" });
    const looks = comparisons(ctx.notes);
    expect(looks.map((c) => [c.look, c.outcome])).toEqual([
      [1, "Pass"],
      [2, "Pass"],
      [3, "Pass"],
    ]);
    expect(looks.map((c) => Number(c.boundary.toFixed(2)))).toEqual([3.71, 2.51, 1.99]);
    expect(looks[2]?.metrics[0]).toMatchObject({ classification: "Pass", failed: false });
    expect(ctx.lines[2]).toMatch(/^i analysis compare look 3\/3, Pass, score 100 ≥ 95; latency Pass: shift /);
  }, 60_000);

  it("Given a query with no series, When compared, Then every look is Nodata and the gate fails as inconclusive", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(compareGate("nowhere", { count: 1, interval: "1s" }), ctx);
    expect(outcome).toEqual({
      outcome: "failed",
      detail: expect.stringMatching(
        /^inconclusive: look 1\/1, Nodata, no data to judge for critical latency/,
      ) as string,
    });
  }, 30_000);

  it("Given a compared metric without {cluster} or sourceQuery, When run, Then it says what is missing", async () => {
    const gate = compareGate("target", {
      metrics: [{ name: "latency", query: "request_latency_seconds", compare: {} }],
    });
    await expect(analysisGate.run(gate, gateContext())).rejects.toThrow(
      "analysis metric latency: a compared metric needs {cluster} in its query, or compare.sourceQuery",
    );
    expect(analysisGate.describe(compareGate("target"))).toBe(
      "analysis compare source vs target (alpha 0.05 obrien-fleming): latency increase ≥10% critical, 3 × 3s",
    );
  });
});
