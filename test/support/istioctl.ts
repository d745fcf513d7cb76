import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";

const run = promisify(execFile);

/**
 * Istio's own judges, built from istio.io/istio by tools/oracles: `istioctl analyze` (its config analyzers, the
 * same as istiod's status reporting) and istio-route-sim (pilot's config generation and its routing simulation,
 * tools/oracles/istio/cmd/istio-route-sim). Nobody here wrote what they check.
 */

/** One message of `istioctl analyze -o json`. */
export interface AnalysisMessage {
  code: string;
  level: "Error" | "Warning" | "Info";
  message: string;
  /** `Kind name.namespace` of the resource the message is about. */
  origin?: string;
  reference?: string;
}

/**
 * A message code istioctl must not report for a resource (`--suppress CODE=RESOURCE`, RESOURCE as in a message's
 * origin, `*` allowed), with why that message does not apply. Every suppression of the suites says why here.
 */
export interface Suppression {
  code: string;
  resource: string;
  why: string;
}

export interface AnalyzeOptions {
  /** Files or directories; without `kubeconfig` analyzed offline (`--use-kube=false`). */
  files?: string[];
  /** Analyze a live cluster: its kubeconfig and context. */
  kubeconfig?: string;
  context?: string;
  /**
   * The mesh's control-plane revision (`--revision`): istioctl then reads the objects labelled `istio.io/rev` with
   * it (a managed mesh's injector webhook is) besides the unlabelled ones; default: the `default` revision.
   */
  revision?: string;
  suppress?: readonly Suppression[];
}

export interface Analysis {
  messages: AnalysisMessage[];
  /** Errors and warnings: what the suites require to be none. */
  problems: AnalysisMessage[];
  /** The command line, for failure messages. */
  command: string;
}

export function istioctlPath(): string {
  const path = inject("oracles").istioctl;
  if (!path || !existsSync(path)) {
    throw new Error(
      `istioctl is not built (${path || "no path"}): the test global setup builds it from the Go module proxy ` +
        "(tools/oracles/build.ts; `npm run oracles`), which needs Go 1.26",
    );
  }
  return path;
}

/**
 * `istioctl analyze -A -o json`, over every namespace: without `-A` istioctl reports only messages about the
 * `default` namespace (offline too), and the objects under test live elsewhere.
 */
export async function analyze(options: AnalyzeOptions): Promise<Analysis> {
  const args = ["analyze", "-A", "-o", "json"];
  if (options.kubeconfig) {
    args.push("--kubeconfig", options.kubeconfig);
    if (options.context) args.push("--context", options.context);
    if (options.revision) args.push("--revision", options.revision);
  } else {
    args.push("--use-kube=false");
  }
  for (const s of options.suppress ?? []) args.push("--suppress", `${s.code}=${s.resource}`);
  args.push(...(options.files ?? []));
  const command = `istioctl ${args.join(" ")}`;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(istioctlPath(), args, {
      maxBuffer: 64 << 20,
      timeout: 120_000,
      env: { ...process.env, TERM: "dumb" },
    }));
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.message}\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
  // With -o json istioctl exits 0 even when a file does not parse; it says so on stderr only.
  if (/Error\(s\) adding files|could not be parsed|unknown message code/i.test(stderr)) {
    throw new Error(`${command}: ${stderr}`);
  }
  const messages = JSON.parse(stdout.trim() || "[]") as AnalysisMessage[];
  return { messages, problems: messages.filter((m) => m.level !== "Info"), command };
}

export function analyzeFilesPath(): string {
  const path = inject("oracles").analyzeFiles;
  if (!path || !existsSync(path)) {
    throw new Error(
      `istio-analyze-files is not built (${path || "no path"}): the test global setup builds it with istioctl ` +
        "(tools/oracles/build.ts, tools/oracles/istio/cmd/istio-analyze-files)",
    );
  }
  return path;
}

/**
 * Every analyzer of `istioctl analyze` over files with their Kubernetes objects (Services, Pods, Namespaces,
 * Deployments) taken into account: what `--use-kube=false` skips (destination hosts, gateway selectors and ports,
 * subsets, injection). Output and suppressions as istioctl's.
 */
export async function analyzeFiles(
  files: string[],
  suppress: readonly Suppression[] = [],
): Promise<Analysis> {
  const args = [...suppress.flatMap((s) => ["-suppress", `${s.code}=${s.resource}`]), ...files];
  const command = `istio-analyze-files ${args.join(" ")}`;
  try {
    const { stdout } = await run(analyzeFilesPath(), args, { maxBuffer: 64 << 20, timeout: 120_000 });
    const messages = JSON.parse(stdout.trim() || "[]") as AnalysisMessage[];
    return { messages, problems: messages.filter((m) => m.level !== "Info"), command };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.message}\n${e.stderr ?? ""}`);
  }
}

/** `CODE (level) origin: message`, one per line: what a failing assertion shows. */
export function describeMessages(messages: readonly AnalysisMessage[]): string[] {
  return messages.map((m) => `${m.code} (${m.level}) ${m.origin ?? "-"}: ${m.message}`);
}

/** Writes objects as one multi-document YAML file (a manifest set for istioctl or the simulator). */
export async function writeManifests(path: string, objects: readonly KubeObject[]): Promise<string> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"));
  return path;
}

// ---- istio-route-sim ----

export interface SimProxy {
  name: string;
  /** "router": a gateway (requests arrive at its listeners); "sidecar": outbound from an application pod. */
  type: "router" | "sidecar";
  namespace: string;
  labels: Record<string, string>;
  ip?: string;
}

export interface SimRequest {
  proxy: string;
  host: string;
  port: number;
  path: string;
  /** Request headers, matched against routes' header matchers (istio-route-sim matches them as Envoy does). */
  headers?: Record<string, string>;
}

export interface SimDestination {
  /** Envoy cluster, e.g. `outbound|9080||productpage.bookinfo.svc.cluster.local`. */
  cluster: string;
  weight: number;
  /** Whether the proxy has the cluster at all (a route to a missing cluster answers 503). */
  known: boolean;
  endpoints: { address: string; port: number }[];
}

export interface SimResult extends SimRequest {
  listener?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  destinations: SimDestination[];
  /** The simulation's verdict when the request goes nowhere: "no route matched", "no listener matched", … */
  error?: string;
}

export interface SimOutput {
  loaded: Record<string, number>;
  /** Istio objects Istio's validation rejects, left out of the simulation as istiod's webhook would keep them out. */
  rejected: { kind: string; namespace: string; name: string; error: string }[];
  proxies: Record<string, { listeners: { name: string; address: string; port: number }[] }>;
  results: SimResult[];
}

export function routeSimPath(): string {
  const path = inject("oracles").routeSim;
  if (!path || !existsSync(path)) {
    throw new Error(
      `istio-route-sim is not built (${path || "no path"}): the test global setup builds it with istioctl ` +
        "(tools/oracles/build.ts, tools/oracles/istio/cmd/istio-route-sim)",
    );
  }
  return path;
}

/** Runs Istio's routing simulation over the YAML in `configDir` for `requests` at `proxies`. */
export async function simulateRoutes(
  configDir: string,
  proxies: readonly SimProxy[],
  requests: readonly SimRequest[],
): Promise<SimOutput> {
  const requestsFile = join(configDir, "..", `${configDir.split("/").pop() ?? "config"}.requests.json`);
  await writeFile(requestsFile, JSON.stringify({ proxies, requests }));
  try {
    const { stdout } = await run(routeSimPath(), ["-config", configDir, "-requests", requestsFile], {
      maxBuffer: 64 << 20,
      timeout: 180_000,
    });
    return JSON.parse(stdout) as SimOutput;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(
      `istio-route-sim over ${configDir} failed: ${e.message}\n${(e.stderr ?? "").slice(-4000)}`,
    );
  }
}
