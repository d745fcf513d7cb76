import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prometheusClient } from "../../src/providers/prometheus/client.js";

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
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export interface PrometheusServer {
  url: string;
  stop(): Promise<void>;
}

/** The real Prometheus on a free loopback port, scraping `target` every second, storage in a temp dir. */
export async function startPrometheus(target: string): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), "clustershift-prometheus-"));
  const config = join(dir, "prometheus.yml");
  await writeFile(
    config,
    [
      "global: {scrape_interval: 1s, evaluation_interval: 1s}",
      "scrape_configs:",
      "  - job_name: istio",
      `    static_configs: [{targets: ["${target}"]}]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => (await fetch(`${url}/-/ready`)).ok,
      20_000,
      () => `Prometheus not ready: ${stderr}`,
    );
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Resolves once `query` returns a number for every series it should: the first scrapes are in. */
export async function waitForData(url: string, query: string, timeoutMs = 15_000): Promise<void> {
  const client = prometheusClient(url);
  await until(
    async () => {
      const samples = await client.query(query);
      return samples.length > 0 && samples.every((s) => Number.isFinite(s.value));
    },
    timeoutMs,
    () => `no data for ${query}`,
  );
}

async function until(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
