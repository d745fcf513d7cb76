import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/**
 * One JSON request to `url` with the credentials and TLS settings of `config`'s current context: the sandbox
 * serves its own APIs (`/sandbox/v1/…`) on its clusters' API port, behind their tokens. node:http(s) rather than
 * fetch, which cannot skip verification of the sandbox's self-signed certificate. Rejects only without an answer.
 */
export async function requestWithContext(
  config: KubeConfig,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const options: https.RequestOptions = { method, headers: { accept: "application/json" } };
  await config.applyToHTTPSOptions(options);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) options.headers = { ...options.headers, "content-type": "application/json" };
  const transport = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    req.end(payload);
  });
}
