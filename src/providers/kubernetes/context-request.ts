import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** How long one request to the sandbox may take, connect to last byte, before it fails as a timeout. */
export const SANDBOX_REQUEST_TIMEOUT_MS = 30_000;

/**
 * One JSON request to `url` with the credentials and TLS settings of `config`'s current context: the sandbox
 * serves its own APIs (`/sandbox/v1/…`) on its clusters' API port, behind their tokens. node:http(s) rather than
 * fetch, which cannot skip verification of the sandbox's self-signed certificate. Rejects only without an answer:
 * a network error, no answer within `timeoutMs` (code ETIMEDOUT), or — for a GET only — the run's `signal`, whose
 * reason it rejects with. A write already sent is not cut off by the signal: it finishes, so its outcome is known.
 */
export async function requestWithContext(
  config: KubeConfig,
  method: string,
  url: string,
  body?: unknown,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const { signal, timeoutMs = SANDBOX_REQUEST_TIMEOUT_MS } = options;
  signal?.throwIfAborted();
  const request: https.RequestOptions = { method, headers: { accept: "application/json" } };
  await config.applyToHTTPSOptions(request);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) request.headers = { ...request.headers, "content-type": "application/json" };
  const transport = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, request, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000}s`), { code: "ETIMEDOUT" }));
    }, timeoutMs);
    const onAbort = () => req.destroy(signal?.reason as Error);
    if (method === "GET") signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (error) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    req.on("close", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
    req.end(payload);
  });
}
