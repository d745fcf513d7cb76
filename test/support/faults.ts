import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { withoutServerMetadata } from "../../src/providers/kubernetes/metadata.js";
import type { ClusterPort, KubeObject } from "../../src/providers/kubernetes/port.js";
import { FaultInjector, freshSeed, type FaultConfig } from "../../src/sandbox/faults.js";
import { sandboxTlsCredentials } from "../../src/sandbox/tls.js";
import type { TestClusters } from "./clusters.js";
import { sleep } from "./wait.js";
import { closeServer } from "./net.js";

/**
 * The seed of a test's random faults: `CLUSTERSHIFT_TEST_SEED` when set, else a fresh one. Printed, so that a
 * failing run can be repeated exactly.
 */
export function faultSeed(what = "fault seed"): number {
  const given = process.env.CLUSTERSHIFT_TEST_SEED;
  const seed = given !== undefined && given !== "" ? Number(given) : freshSeed();
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`CLUSTERSHIFT_TEST_SEED must be an integer between 0 and 4294967295, not ${given}`);
  }
  console.log(`${what}: ${seed} (CLUSTERSHIFT_TEST_SEED=${seed} to repeat)`);
  return seed;
}

export interface FaultProxy {
  /** `http(s)://127.0.0.1:PORT`: point the client here instead of at the upstream. */
  readonly endpoint: string;
  /** Replaces the faults: the sandbox's modes, with the sandbox's seeded random source. */
  setFaults(faults: FaultConfig): void;
  readonly faults: FaultConfig;
  /** Faults injected since the last `setFaults`. */
  readonly faultsInjected: number;
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Serve HTTPS (the sandbox's self-signed certificate) rather than HTTP; the upstream's own scheme is kept. */
  tls?: boolean;
  /** The body of an injected error; default a Kubernetes Status. */
  errorBody?: (status: number, retryAfterSeconds: number) => unknown;
}

function kubernetesStatus(status: number, retryAfterSeconds: number): unknown {
  const reason = status === 429 ? "TooManyRequests" : status === 503 ? "ServiceUnavailable" : "InternalError";
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `injected fault (HTTP ${status})`,
    reason,
    ...(status === 429 ? { details: { retryAfterSeconds } } : {}),
    code: status,
  };
}

/**
 * The sandbox's fault injection in front of a server that has none (a real kube-apiserver, moto_server): every
 * request is decided by a {@link FaultInjector}. Dropped: the client's connection is destroyed before anything
 * is forwarded. Failed: answered here with the error. Reply lost: forwarded and carried out, the upstream's
 * answer read, and then, if it is a success, the client's connection destroyed instead of answered. Everything
 * else streams through (watches included). Upstream certificates are not verified: the test servers' are
 * self-signed.
 */
export async function startFaultProxy(
  upstream: string,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const injector = new FaultInjector();
  const errorBody = options.errorBody ?? kubernetesStatus;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      if (injector.latencyMs > 0) await sleep(injector.latencyMs);
      const path = new URL(req.url ?? "/", "http://proxy").pathname;
      const fault = injector.decide(req.method ?? "GET", path);
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "fail") {
        const text = JSON.stringify(errorBody(fault.status, fault.retryAfterSeconds));
        res.writeHead(fault.status, {
          "content-type": "application/json",
          ...(fault.status === 429 ? { "retry-after": String(fault.retryAfterSeconds) } : {}),
        });
        res.end(text);
        return;
      }
      const forward = (target.protocol === "https:" ? httpsRequest : httpRequest)(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          rejectUnauthorized: false,
        },
        (answer: IncomingMessage) => {
          const status = answer.statusCode ?? 502;
          if (fault.kind !== "lose-reply") {
            res.writeHead(status, answer.headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("end", () => {
            if (status < 400) {
              req.socket.destroy();
              return;
            }
            injector.refund();
            res.writeHead(status, answer.headers);
            res.end(Buffer.concat(chunks));
          });
        },
      );
      forward.on("error", (error) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`fault proxy: ${error.message}`);
      });
      // A client that goes away (a watch it stopped) takes its upstream request along.
      res.on("close", () => forward.destroy());
      req.pipe(forward);
    })();
  };
  const server: Server = options.tls
    ? createHttpsServer(sandboxTlsCredentials(), handler)
    : createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    setFaults: (faults) => injector.set(faults),
    get faults() {
      return injector.current;
    },
    get faultsInjected() {
      return injector.count;
    },
    stop: () => closeServer(server),
  };
}

/**
 * Runs `attempt` (an apply or a rollback under faults) until it resolves, at most `tries` times, as an operator
 * runs `clustershift apply` again after it stopped. Returns the value and the errors of the runs that stopped.
 */
export async function untilDone<T>(
  attempt: (run: number) => Promise<T>,
  tries = 6,
): Promise<{ value: T; stops: Error[] }> {
  const stops: Error[] = [];
  for (let run = 0; ; run++) {
    try {
      return { value: await attempt(run), stops };
    } catch (error) {
      stops.push(error as Error);
      if (run + 1 >= tries) {
        throw new Error(`still failing after ${tries} runs: ${stops.map((e) => e.message).join(" | ")}`, {
          cause: error,
        });
      }
    }
  }
}

/** Annotations a controller writes on its own (the Deployment's revision): not part of what a run restores. */
const CONTROLLER_ANNOTATIONS = ["deployment.kubernetes.io/revision"];

/**
 * Every object of `kinds` (plus the Namespaces themselves) in `namespaces`, keyed `apiVersion Kind ns/name`, without
 * server-managed metadata and status: what "restored exactly" is compared on.
 */
export async function clusterImage(
  port: ClusterPort,
  namespaces: readonly string[],
  kinds: readonly { group: string; kind: string }[],
): Promise<Record<string, KubeObject>> {
  const image: Record<string, KubeObject> = {};
  const keep = (object: KubeObject) => {
    const stripped = withoutServerMetadata(object);
    const annotations = { ...stripped.metadata.annotations };
    for (const key of CONTROLLER_ANNOTATIONS) delete annotations[key];
    if (Object.keys(annotations).length > 0) stripped.metadata.annotations = annotations;
    else delete stripped.metadata.annotations;
    const { namespace, name } = object.metadata;
    image[`${object.apiVersion} ${object.kind} ${namespace ? `${namespace}/` : ""}${name}`] = stripped;
  };
  for (const name of namespaces) {
    const namespace = await port.get({ apiVersion: "v1", kind: "Namespace", name });
    if (namespace) keep(namespace);
  }
  for (const { group, kind } of kinds) {
    const [version] = await port.servedVersions(group);
    if (version === undefined) continue;
    const apiVersion = group === "" ? version : `${group}/${version}`;
    if (!(await port.apiResources(apiVersion)).some((r) => r.kind === kind)) continue;
    for (const namespace of namespaces) {
      for (const object of await port.list(apiVersion, kind, { namespace })) keep(object);
    }
  }
  return image;
}

/** Fault injection on each cluster of a {@link TestClusters}, the same on both substrates. */
export interface FaultyClusters {
  /** A kubeconfig whose contexts reach the clusters through their fault injection. */
  readonly kubeconfigPath: string;
  setFaults(context: string, faults: FaultConfig): void;
  /**
   * The same faults on every cluster, each with a seed of its own: `seed` for the first context, `seed + 1` for
   * the next (modulo 2^32), so one printed seed repeats the run.
   */
  setSeededFaults(faults: FaultConfig, seed: number): void;
  faultsInjected(context: string): number;
  /** Clears every cluster's faults. */
  clear(): void;
  stop(): Promise<void>;
}

/**
 * The sandbox injects faults itself; a real kube-apiserver gets a {@link startFaultProxy} in front of each
 * cluster (TLS, the same bearer token passed through), and a kubeconfig of its own naming the proxies.
 */
export async function faultyClusters(clusters: TestClusters): Promise<FaultyClusters> {
  const sandbox = clusters.sandbox;
  if (sandbox) {
    const cluster = (context: string) => {
      const found = sandbox.clusters.get(context);
      if (!found) throw new Error(`no sandbox cluster ${context}`);
      return found;
    };
    const setFaults = (context: string, faults: FaultConfig) => cluster(context).setFaults(faults);
    return {
      kubeconfigPath: clusters.kubeconfigPath,
      setFaults,
      setSeededFaults: (faults, seed) =>
        seededEverywhere([...sandbox.clusters.keys()], setFaults, faults, seed),
      faultsInjected: (context) => cluster(context).faultsInjected,
      clear: () => sandbox.clusters.forEach((c) => c.setFaults({})),
      stop: () => Promise.resolve(),
    };
  }
  const config = parseYaml(await readFile(clusters.kubeconfigPath, "utf8")) as {
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  const proxies = new Map<string, FaultProxy>();
  for (const entry of config.clusters) {
    const proxy = await startFaultProxy(entry.cluster.server, { tls: true });
    proxies.set(entry.name, proxy);
    entry.cluster.server = proxy.endpoint;
  }
  const kubeconfigPath = join(clusters.dir, "faulty-kubeconfig");
  await writeFile(kubeconfigPath, stringifyYaml(config), { mode: 0o600 });
  const proxy = (context: string) => {
    const name = config.contexts.find((c) => c.name === context)?.context.cluster;
    const found = name === undefined ? undefined : proxies.get(name);
    if (!found) throw new Error(`no cluster for context ${context}`);
    return found;
  };
  const setFaults = (context: string, faults: FaultConfig) => proxy(context).setFaults(faults);
  return {
    kubeconfigPath,
    setFaults,
    setSeededFaults: (faults, seed) =>
      seededEverywhere(
        config.contexts.map((c) => c.name),
        setFaults,
        faults,
        seed,
      ),
    faultsInjected: (context) => proxy(context).faultsInjected,
    clear: () => proxies.forEach((p) => p.setFaults({})),
    stop: async () => {
      await Promise.all([...proxies.values()].map((p) => p.stop()));
    },
  };
}

function seededEverywhere(
  contexts: readonly string[],
  set: (context: string, faults: FaultConfig) => void,
  faults: FaultConfig,
  seed: number,
): void {
  contexts.forEach((context, index) => set(context, { ...faults, seed: (seed + index) % 2 ** 32 }));
}
