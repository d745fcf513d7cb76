import { Agent, request } from "node:https";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { startRealClusters } from "../support/control-plane.js";
import { kubectl, withSandbox, type KubectlResult } from "../support/sandbox.js";

/** The one context of each substrate's kubeconfig. */
export const CONTEXT = "differential";

export interface ApiResponse {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
  /** The `Warning` headers' texts (RFC 7234 `299 - "text"`), in order. */
  warnings: string[];
}

export interface RequestOptions {
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
}

/**
 * One API server as a user reaches it: plain HTTPS with the kubeconfig's bearer token (what clustershift's own
 * client sends), and the real kubectl for what only kubectl does (client-side apply and its upgrade).
 */
export interface Endpoint {
  readonly substrate: "sandbox" | "real kube-apiserver";
  readonly kubeconfigPath: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
}

export interface Substrates {
  readonly sandbox: Endpoint;
  readonly real: Endpoint;
  stop(): Promise<void>;
}

interface Credentials {
  server: string;
  token: string;
}

async function credentials(kubeconfigPath: string): Promise<Credentials> {
  const config = parseYaml(await readFile(kubeconfigPath, "utf8")) as {
    clusters: { name: string; cluster: { server: string } }[];
    users: { name: string; user: { token: string } }[];
  };
  const cluster = config.clusters.find((c) => c.name === CONTEXT);
  const user = config.users.find((u) => u.name === CONTEXT);
  if (!cluster || !user) throw new Error(`no context ${CONTEXT} in ${kubeconfigPath}`);
  return { server: cluster.cluster.server, token: user.user.token };
}

function warningTexts(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const value of values) {
    for (const match of value.matchAll(/\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"/g)) {
      out.push((match[1] ?? "").replace(/\\(.)/g, "$1"));
    }
  }
  return out;
}

function endpoint(substrate: Endpoint["substrate"], kubeconfigPath: string, creds: Credentials): Endpoint {
  // Both serve HTTPS with a self-signed certificate, as a kubeconfig with insecure-skip-tls-verify names them.
  const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 4 });
  return {
    substrate,
    kubeconfigPath,
    request(method, path, options = {}) {
      const body =
        options.body === undefined
          ? undefined
          : typeof options.body === "string"
            ? options.body
            : JSON.stringify(options.body);
      const headers: Record<string, string> = {
        authorization: `Bearer ${creds.token}`,
        accept: "application/json",
        "user-agent": "clustershift-differential/1.0",
      };
      if (body !== undefined) {
        headers["content-type"] = options.contentType ?? "application/json";
        headers["content-length"] = String(Buffer.byteLength(body));
      }
      return new Promise((resolve, reject) => {
        const req = request(`${creds.server}${path}`, { method, headers, agent, timeout: 60_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({
              status: res.statusCode ?? 0,
              body: parsed,
              warnings: warningTexts(res.headers.warning),
            });
          });
          res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on("error", reject);
        req.end(body);
      });
    },
    kubectl(args, input) {
      return kubectl(kubeconfigPath, args, {
        context: CONTEXT,
        timeoutMs: 60_000,
        ...(input === undefined ? {} : { input }),
      });
    },
  };
}

/**
 * The sandbox (with the Istio CRDs it ships, `istio: true`) and one real cluster (etcd, kube-apiserver,
 * kube-controller-manager, Istio's CRDs from the shared fixtures), side by side.
 */
export async function startSubstrates(): Promise<Substrates> {
  const [sandbox, real] = await Promise.all([
    withSandbox({ clusters: [CONTEXT], istio: true }),
    startRealClusters({ clusters: [CONTEXT], istio: true }),
  ]);
  return {
    sandbox: endpoint("sandbox", sandbox.kubeconfigPath, await credentials(sandbox.kubeconfigPath)),
    real: endpoint("real kube-apiserver", real.kubeconfigPath, await credentials(real.kubeconfigPath)),
    async stop() {
      await Promise.all([sandbox.stop(), real.stop()]);
    },
  };
}
