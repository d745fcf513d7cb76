import http from "node:http";
import https from "node:https";
import { RuntimeError } from "../../engine/errors.js";
import { loadKubeConfig } from "../kubernetes/client.js";
import type { SandboxCluster, SandboxProvisionerPort } from "./port.js";

/**
 * The control API of the sandbox that serves `sourceContext`: its URL and bearer token come from that
 * context's kubeconfig entry, since every sandbox cluster port serves `/sandbox/v1/` behind the same token.
 */
export function createSandboxProvisioner(sourceContext: string, kubeconfig?: string): SandboxProvisionerPort {
  const { config, where } = loadKubeConfig(kubeconfig);
  const context = config.getContextObject(sourceContext);
  const cluster = context ? config.getCluster(context.cluster) : undefined;
  const server = cluster?.server;
  const token = context ? config.getUser(context.user)?.token : undefined;
  if (!server || !token) {
    throw new RuntimeError(
      `provider sandbox needs the sandbox's URL and token from context "${sourceContext}" in ${where}, ` +
        "which has none: start it with `clustershift sandbox` and use the kubeconfig it writes",
    );
  }
  const tls = cluster?.skipTLSVerify
    ? { rejectUnauthorized: false }
    : cluster?.caData
      ? { ca: Buffer.from(cluster.caData, "base64") }
      : {};
  return sandboxControlApi(server.replace(/\/+$/, ""), token, tls);
}

/** TLS settings of the kubeconfig cluster entry; the sandbox serves a self-signed certificate. */
export interface TlsOptions {
  rejectUnauthorized?: boolean;
  ca?: Buffer;
}

export function sandboxControlApi(
  server: string,
  token: string,
  tls: TlsOptions = {},
): SandboxProvisionerPort {
  const url = `${server}/sandbox/v1/clusters`;

  async function send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; data: unknown }> {
    let response: { status: number; text: string };
    try {
      response = await request(`${url}${path}`, method, token, body, tls);
    } catch (error) {
      throw new RuntimeError(
        `cannot reach the sandbox at ${server}: is \`clustershift sandbox\` still running?`,
        {
          cause: error,
        },
      );
    }
    const text = response.text;
    let data: unknown = text;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      // Not JSON: keep the text for the error message.
    }
    if (response.status === 401 || response.status === 403) {
      throw new RuntimeError(
        `the sandbox at ${server} refused the token of the source context (HTTP ${response.status})`,
      );
    }
    return { status: response.status, data };
  }

  function failed(what: string, reply: { status: number; data: unknown }): RuntimeError {
    const message = (reply.data as { message?: unknown } | null)?.message;
    return new RuntimeError(
      `${what} failed: HTTP ${reply.status}: ${typeof message === "string" ? message : JSON.stringify(reply.data)}`,
    );
  }

  return {
    url,
    async getCluster(name) {
      const reply = await send("GET", "");
      if (reply.status >= 300) throw failed("list sandbox clusters", reply);
      const items = (reply.data as { items?: unknown } | null)?.items;
      const list: unknown[] = Array.isArray(items) ? items : [];
      const found = list.find((item) => (item as { name?: unknown }).name === name);
      return found === undefined ? undefined : toCluster(found);
    },
    async addCluster(name) {
      const reply = await send("POST", "", { name });
      if (reply.status >= 300) throw failed(`add sandbox cluster ${name}`, reply);
      return toCluster(reply.data);
    },
    async removeCluster(name) {
      const reply = await send("DELETE", `/${encodeURIComponent(name)}`);
      if (reply.status === 404) return false;
      if (reply.status >= 300) throw failed(`remove sandbox cluster ${name}`, reply);
      return true;
    },
  };
}

function toCluster(data: unknown): SandboxCluster {
  const { name, server, httpsServer, token } = (data ?? {}) as Record<string, unknown>;
  if (typeof name !== "string" || typeof server !== "string" || typeof token !== "string") {
    throw new RuntimeError(`the sandbox answered without a cluster's name, server and token: this is a bug`);
  }
  return { name, server: typeof httpsServer === "string" ? httpsServer : server, token };
}

/** node:http(s) rather than fetch: fetch cannot skip verification of the sandbox's self-signed certificate. */
function request(
  url: string,
  method: string,
  token: string,
  body: unknown,
  tls: TlsOptions,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (payload !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const options = { method, headers, ...(url.startsWith("https:") ? tls : {}) };
    const req = (url.startsWith("https:") ? https : http).request(url, options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}
