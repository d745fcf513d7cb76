import { sleep } from "../support/wait.js";
import type { ApiResponse, Endpoint, RequestOptions } from "./harness.js";
import { normalize } from "./normalize.js";

/** What a behaviour saw on one substrate: labelled, normalized observations in the order they were made. */
export type Observations = [label: string, value: unknown][];

// The bodies are whatever the server sent: behaviours read them loosely, as a user's script would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = any;

export interface CallOptions extends RequestOptions {
  /** What of the response body to compare (default: all of it). */
  view?: (body: Body) => unknown;
}

/** One behaviour's run on one substrate, in a namespace of its own. */
export interface Session {
  readonly substrate: Endpoint["substrate"];
  /** A namespace made for this behaviour. */
  readonly ns: string;
  /** A request whose status, warnings and (viewed) body are recorded under `label`. */
  call(label: string, method: string, path: string, options?: CallOptions): Promise<ApiResponse>;
  /** A request that is not compared (setup, or reads whose timing differs). */
  send(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  record(label: string, value: unknown): void;
  /** Runs the real kubectl; records its exit code (and `view` of its stdout when given). */
  kubectl(
    label: string,
    args: string[],
    options?: { input?: string; view?: (stdout: string) => unknown },
  ): Promise<string>;
  /**
   * Polls `check` until it holds or `timeoutMs` passes (controllers on the real server act when they get to it)
   * and records whether it held.
   */
  until(label: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<boolean>;
}

export function createSession(endpoint: Endpoint, ns: string, observations: Observations): Session {
  const push = (label: string, value: unknown): void => {
    observations.push([label, normalize(value)]);
  };
  return {
    substrate: endpoint.substrate,
    ns,
    async call(label, method, path, options = {}) {
      const response = await endpoint.request(method, path, options);
      const body: unknown = options.view ? options.view(response.body) : response.body;
      push(label, { status: response.status, warnings: response.warnings, body });
      return response;
    },
    send: (method, path, options) => endpoint.request(method, path, options),
    record: push,
    async kubectl(label, args, options = {}) {
      const result = await endpoint.kubectl(args, options.input);
      push(label, {
        code: result.code,
        ...(options.view ? { stdout: options.view(result.stdout) } : {}),
        ...(result.code !== 0 ? { stderr: result.stderr.trim() } : {}),
      });
      return result.stdout;
    },
    async until(label, check, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (await check()) {
          push(label, true);
          return true;
        }
        if (Date.now() > deadline) {
          push(label, false);
          return false;
        }
        await sleep(200);
      }
    },
  };
}

/** `/api/v1/namespaces/NS/configmaps[/NAME]` and the like, from an apiVersion. */
export function pathFor(apiVersion: string, plural: string, namespace?: string, name?: string): string {
  let path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (namespace !== undefined) path += `/namespaces/${namespace}`;
  path += `/${plural}`;
  if (name !== undefined) path += `/${name}`;
  return path;
}
