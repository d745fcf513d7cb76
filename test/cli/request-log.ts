import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, request } from "node:https";
import { readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { sandboxTlsCredentials } from "../../src/sandbox/tls.js";
import type { TestClusters } from "../support/clusters.js";
import { closeServer } from "../support/net.js";

export interface LoggedRequest {
  context: string;
  method: string;
  path: string;
}

/**
 * Every request the product sends to each cluster, as the server received it: an HTTPS proxy per cluster that
 * forwards each request unchanged and logs its method and path. The same on both substrates, so a real
 * kube-apiserver is the one that answers (and would carry out) every logged request.
 */
export interface RequestLog {
  /** A kubeconfig whose contexts reach the clusters through the logging proxies. */
  readonly kubeconfigPath: string;
  readonly requests: readonly LoggedRequest[];
  /** Forgets what was logged so far. */
  reset(): void;
  /** The requests that are not reads (GET, HEAD; a watch is a GET; an access review only asks). */
  writes(): LoggedRequest[];
  stop(): Promise<void>;
}

export async function logRequests(clusters: TestClusters, name = "logged-kubeconfig"): Promise<RequestLog> {
  const config = parseYaml(await readFile(clusters.kubeconfigPath, "utf8")) as {
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  const requests: LoggedRequest[] = [];
  const servers: ReturnType<typeof createServer>[] = [];
  for (const entry of config.clusters) {
    const upstream = new URL(entry.cluster.server);
    const contexts = config.contexts.filter((c) => c.context.cluster === entry.name).map((c) => c.name);
    const server = createServer(sandboxTlsCredentials(), (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", "https://proxy");
      requests.push({ context: contexts.join(","), method: req.method ?? "GET", path: url.pathname });
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          rejectUnauthorized: false,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", (error) => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end(`request log proxy: ${error.message}`);
      });
      res.on("close", () => forward.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    entry.cluster.server = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const kubeconfigPath = join(clusters.dir, name);
  await writeFile(kubeconfigPath, stringifyYaml(config), { mode: 0o600 });
  return {
    kubeconfigPath,
    requests,
    reset: () => void requests.splice(0),
    writes: () => requests.filter(isWrite),
    stop: async () => {
      await Promise.all(servers.map((server) => closeServer(server)));
    },
  };
}

/** A request that can change what a server stores. A SelfSubjectAccessReview is a POST that asks and stores nothing
 * (preflight's "may I?"): not a write. */
export function isWrite(request: { method: string; path: string }): boolean {
  return (
    request.method !== "GET" &&
    request.method !== "HEAD" &&
    !(request.method === "POST" && request.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
  );
}
