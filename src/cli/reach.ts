import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { RuntimeError } from "../engine/errors.js";
import { kubeConfigFor } from "../providers/kubernetes/client.js";
import { ContextNotFoundError } from "../providers/kubernetes/errors.js";

/** How long an API server has to answer at all before rollback calls it unreachable. */
export const REACH_TIMEOUT_MS = 5_000;

export type Reach = { context: string; ok: true } | { context: string; ok: false; reason: string };

/**
 * Whether the API server of `context` answers at all: one unauthenticated GET /version, any HTTP status counting
 * as an answer. A cluster that is gone (refused, unresolvable, black-holed) is known in seconds, where the
 * client's own timeout and retries would take minutes per request.
 */
export async function reachApiServer(
  context: string,
  kubeconfig: string | undefined,
  timeoutMs = REACH_TIMEOUT_MS,
): Promise<Reach> {
  let server: string | undefined;
  try {
    server = kubeConfigFor(context, kubeconfig).config.getCurrentCluster()?.server;
  } catch (error) {
    if (error instanceof ContextNotFoundError) return { context, ok: false, reason: error.message };
    throw error;
  }
  if (!server) return { context, ok: false, reason: `context "${context}" names no cluster server` };
  const url = new URL("/version", server);
  return new Promise<Reach>((resolve) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    // No credentials are sent: this only asks whether anything answers, and a 401 or 403 is an answer.
    const req = send(url, { method: "GET", rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ context, ok: true });
    });
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000}s`), { code: "ETIMEDOUT" })),
    );
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({
        context,
        ok: false,
        reason: `${server} ${error.code ? `${error.code}: ` : ""}${error.message}`,
      }),
    );
    req.end();
  });
}

/** Fails at once, naming every unreachable cluster and how to roll back the rest, before anything is reverted. */
export async function requireReachable(
  contexts: ReadonlyMap<string, number>,
  kubeconfig: string | undefined,
): Promise<void> {
  const results = await Promise.all([...contexts.keys()].map((c) => reachApiServer(c, kubeconfig)));
  const lost = results.filter((r): r is Extract<Reach, { ok: false }> => !r.ok);
  if (lost.length === 0) return;
  throw new RuntimeError(
    [
      "cannot reach the API server of " + lost.map((r) => `context ${r.context} (${r.reason})`).join("; "),
      "Nothing was rolled back. If a cluster is gone for good, roll back everything else with " +
        lost.map((r) => `--skip-context ${r.context}`).join(" ") +
        `: its ${lost.map((r) => contexts.get(r.context) ?? 0).join(" + ")} change(s) stay journaled.`,
    ].join("\n"),
  );
}
