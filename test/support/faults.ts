import { request as httpRequest, createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { withoutServerMetadata } from "../../src/providers/kubernetes/metadata.js";
import type { ClusterPort, KubeObject } from "../../src/providers/kubernetes/port.js";
import { FaultInjector, freshSeed, type FaultConfig } from "../../src/sandbox/faults.js";
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

export interface ReplyDroppingProxy {
  /** `http://127.0.0.1:PORT`: point the client here instead of at the upstream. */
  readonly endpoint: string;
  /** Replaces the faults; only `replyLostRate`, `replyLostMethods`, `maxFaults` and `seed` apply. */
  setFaults(faults: FaultConfig): void;
  /** Replies withheld since the last `setFaults`. */
  readonly repliesLost: number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a server that cannot lose a reply itself (moto_server): every request is forwarded
 * and carried out; for the ones the sandbox's fault injector picks (a seeded `replyLostRate` over
 * `replyLostMethods`), a successful answer is read from the upstream and then, instead of being passed on, the
 * client's connection is destroyed. The client sees a socket error after the server changed state.
 */
export async function startReplyDroppingProxy(upstream: string): Promise<ReplyDroppingProxy> {
  const target = new URL(upstream);
  const injector = new FaultInjector();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://proxy").pathname;
    const fault = injector.decide(req.method ?? "GET", path);
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          const status = answer.statusCode ?? 502;
          if (fault.kind === "lose-reply" && status < 400) {
            req.socket.destroy();
            return;
          }
          if (fault.kind === "lose-reply") injector.refund();
          res.writeHead(status, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    forward.on("error", (error) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFaults: (faults) =>
      injector.set({
        ...(faults.replyLostRate === undefined ? {} : { replyLostRate: faults.replyLostRate }),
        ...(faults.replyLostMethods === undefined ? {} : { replyLostMethods: faults.replyLostMethods }),
        ...(faults.maxFaults === undefined ? {} : { maxFaults: faults.maxFaults }),
        ...(faults.seed === undefined ? {} : { seed: faults.seed }),
      }),
    get repliesLost() {
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
