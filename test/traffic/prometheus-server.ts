import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { prometheusClient } from "../../src/providers/prometheus/client.js";
import { closeServer, freePort, listenOnLoopback } from "../support/net.js";
import { startServerProcess } from "../support/process.js";
import { eventually } from "../support/wait.js";

export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const hasPrometheus = existsSync(PROMETHEUS_BIN);

/** DESIGN.md's success-rate query, per `destination_cluster`, over a window that fits 1 s scrapes. */
export function successRate(cluster: string): string {
  const selector = `destination_service_name="frontend",destination_cluster="${cluster}"`;
  return (
    `sum(rate(istio_requests_total{${selector},response_code!~"5.."}[5s]))` +
    ` / sum(rate(istio_requests_total{${selector}}[5s]))`
  );
}

/** Requests per scrape and response code, per `destination_cluster` label value. */
export type Traffic = Record<string, { ok: number; errors: number }>;

/**
 * A test exporter of Istio's `istio_requests_total` counters: every scrape adds `traffic` to them, so the
 * rate Prometheus computes is the traffic the test sets.
 */
export class IstioExporter {
  readonly traffic: Traffic = {};
  private readonly totals = new Map<string, number>();
  private server: Server | undefined;
  scrapes = 0;

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      if (req.url !== "/metrics") return void res.writeHead(404).end();
      this.scrapes += 1;
      const lines = ["# TYPE istio_requests_total counter"];
      for (const [cluster, { ok, errors }] of Object.entries(this.traffic)) {
        for (const [code, n] of [
          ["200", ok],
          ["503", errors],
        ] as const) {
          const labels = `destination_service_name="frontend",destination_cluster="${cluster}",response_code="${code}"`;
          const total = (this.totals.get(labels) ?? 0) + n;
          this.totals.set(labels, total);
          lines.push(`istio_requests_total{${labels}} ${total}`);
        }
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`${lines.join("\n")}\n`);
    });
    return listenOnLoopback(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

export interface PrometheusServer {
  url: string;
  stop(): Promise<void>;
}

/** The real Prometheus on a free loopback port, scraping `target` every second, storage in a temp dir. */
export function startPrometheus(target: string): Promise<PrometheusServer> {
  return startPrometheusJobs([{ name: "istio", target }]);
}

export interface ScrapeJob {
  name: string;
  /** `host:port` on 127.0.0.1. */
  target: string;
  path?: string;
  /** Labels Prometheus adds to every series of the job (what tells the clusters apart). */
  labels?: Record<string, string>;
}

/** The real Prometheus on a free loopback port scraping `jobs` every `scrapeInterval`, storage in a temp dir. */
export async function startPrometheusJobs(
  jobs: ScrapeJob[],
  scrapeInterval = "1s",
): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), "clustershift-prometheus-"));
  const config = join(dir, "prometheus.yml");
  const lines = [
    `global: {scrape_interval: ${scrapeInterval}, evaluation_interval: ${scrapeInterval}}`,
    "scrape_configs:",
  ];
  for (const job of jobs) {
    lines.push(`  - job_name: ${job.name}`);
    if (job.path) lines.push(`    metrics_path: ${job.path}`);
    lines.push(
      `    static_configs: [{targets: ["${job.target}"], labels: ${JSON.stringify(job.labels ?? {})}}]`,
    );
  }
  await writeFile(config, lines.join("\n") + "\n");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    const server = await startServerProcess(
      PROMETHEUS_BIN,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      async () => (await fetch(`${url}/-/ready`)).ok,
    );
    return {
      url,
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Resolves once `query` returns a number for every series it should: the first scrapes are in. */
export async function waitForData(url: string, query: string, timeoutMs = 15_000): Promise<void> {
  const client = prometheusClient(url);
  await eventually(
    async () => {
      // Queries fail until the first scrapes are stored.
      const samples = await client.query(query).catch(() => []);
      return (samples.length > 0 && samples.every((s) => Number.isFinite(s.value))) || undefined;
    },
    timeoutMs,
    { intervalMs: 200, message: () => `no data for ${query}` },
  );
}

/**
 * An exporter counting `traffic` per `destination_cluster` and the real Prometheus scraping it, for the file's
 * tests, started once the series of every cluster in `waitFor` have data. Nothing starts without Prometheus:
 * `requireTool` fails the tests instead.
 */
export function useIstioPrometheus(traffic: Traffic, waitFor: string[]): { url(): string } {
  const exporter = new IstioExporter();
  let prometheus: PrometheusServer | undefined;
  beforeAll(async () => {
    if (!hasPrometheus) return;
    Object.assign(exporter.traffic, traffic);
    prometheus = await startPrometheus(`127.0.0.1:${await exporter.start()}`);
    for (const cluster of waitFor) await waitForData(prometheus.url, successRate(cluster));
  });
  afterAll(async () => {
    await prometheus?.stop();
    await exporter.stop();
  });
  return {
    url() {
      if (!prometheus) throw new Error("Prometheus is not started yet (use it inside a test)");
      return prometheus.url;
    },
  };
}
