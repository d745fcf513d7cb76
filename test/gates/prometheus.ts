import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/net.js";
import { startServerProcess } from "../support/process.js";
import { PROMETHEUS_BIN, type PrometheusServer } from "../traffic/prometheus-server.js";

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
