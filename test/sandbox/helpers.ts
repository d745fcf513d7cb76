import { ApiException } from "@kubernetes/client-node";
import type { SandboxCluster } from "../../src/sandbox/index.js";

export interface RawResponse {
  status: number;
  contentType: string | null;
  headers: Headers;
  body: unknown;
  text: string;
}

/** A plain HTTP request to a cluster, for what client-node does not expose (discovery, headers, bad tokens). */
export async function raw(
  cluster: SandboxCluster,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? cluster.token : options.token;
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  if (options.accept) headers["accept"] = options.accept;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] = options.contentType ?? "application/json";
  }
  const response = await fetch(`${cluster.server}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    headers: response.headers,
    body: parsed,
    text,
  };
}

export interface FailedCall {
  code: number;
  status: Record<string, unknown>;
  headers: Record<string, string>;
}

/** The HTTP code and parsed Status of a client-node call that must fail. */
export async function failure(call: Promise<unknown>): Promise<FailedCall> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const body: unknown = error.body;
      const status = (typeof body === "string" ? JSON.parse(body) : body) as Record<string, unknown>;
      return { code: error.code, status, headers: error.headers };
    }
    throw error;
  }
  throw new Error("the call succeeded but was expected to fail");
}
