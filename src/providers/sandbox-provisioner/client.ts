import type { KubeConfig } from "@kubernetes/client-node";
import { RuntimeError } from "../../engine/errors.js";
import { kubeConfigFor } from "../kubernetes/client.js";
import { requestWithContext } from "../kubernetes/context-request.js";
import type { SandboxCluster, SandboxProvisionerPort } from "./port.js";

/**
 * The control API of the sandbox that serves `sourceContext`: its URL and bearer token come from that
 * context's kubeconfig entry, since every sandbox cluster port serves `/sandbox/v1/` behind the same token.
 */
export function createSandboxProvisioner(sourceContext: string, kubeconfig?: string): SandboxProvisionerPort {
  const needs = (where: string) =>
    new RuntimeError(
      `provider sandbox needs the sandbox's URL and token from context "${sourceContext}" in ${where}, ` +
        "which has none: start it with `clustershift sandbox` and use the kubeconfig it writes",
    );
  const { config, where } = kubeConfigFor(sourceContext, kubeconfig, needs);
  const server = config.getCurrentCluster()?.server;
  if (!server || !config.getCurrentUser()?.token) throw needs(where);
  return sandboxControlApi(server.replace(/\/+$/, ""), config);
}

function sandboxControlApi(server: string, config: KubeConfig): SandboxProvisionerPort {
  const url = `${server}/sandbox/v1/clusters`;

  async function send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; data: unknown }> {
    let response: { status: number; text: string };
    try {
      response = await requestWithContext(config, method, `${url}${path}`, body);
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
