import { createRequire } from "node:module";
import { stringify as routingParams } from "node:querystring";
import type { ClusterManagerClient, protos } from "@google-cloud/container";
import type * as gax from "google-gax";
import { clusterName } from "./names.js";
import { apiError, codeName, credentialsError, isCredentialsError, type CallInfo } from "./errors.js";
import type { ClusterRef, ClusterSpec, GkeCluster, GkeOperation, GkePort } from "./port.js";
import { retryPolicy, withRetries, type RetryOptions } from "./retry.js";

type Api = protos.google.container.v1.IOperation;
type ApiCluster = protos.google.container.v1.ICluster;
/** A call on the client; the library resolves it to [reply, request, raw response]. */
type Run<T> = (api: ClusterManagerClient) => Promise<[T, ...unknown[]]>;

export interface GkeClientOptions {
  /** `127.0.0.1:PORT`: plaintext gRPC to a local server, no credentials (tests). Default: `$CLUSTERSHIFT_GKE_ENDPOINT`. */
  endpoint?: string;
  /** Backoff of retried reads (default: {@link retryPolicy}). */
  retry?: RetryOptions;
  /**
   * The run's abort signal: once it fires no call starts, and a read in flight is cancelled (the gRPC call
   * too); a write in flight goes on to its answer, so that what it did is journaled.
   */
  signal?: AbortSignal;
  /** The bound of one call, gax's own retries of it included (default {@link CALL_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** A black-holed endpoint fails a call within this, instead of gax's 10 minutes of retries. */
export const CALL_TIMEOUT_MS = 60_000;

type Method = "getCluster" | "createCluster" | "deleteCluster" | "getOperation";
/** gax's promise of a unary call: `cancel()` cancels the gRPC call (and gax's retries of it). */
type GaxCall<T> = Promise<[T, ...unknown[]]> & { cancel?: () => void };
type InnerCall = (request: object, options: gax.CallOptions) => GaxCall<unknown>;

/**
 * The GKE cluster manager through `@google-cloud/container` over gRPC with Application Default Credentials.
 * The library loads on first use: it is heavy, and most commands never call GKE.
 */
export function createGkeClient(options: GkeClientOptions = {}): GkePort {
  const endpoint = options.endpoint ?? process.env.CLUSTERSHIFT_GKE_ENDPOINT;
  let client: Promise<ClusterManagerClient> | undefined;
  const api = () => (client ??= openClient(endpoint));
  const policy = retryPolicy({ ...(options.signal ? { signal: options.signal } : {}), ...options.retry });
  const { signal } = options;
  const timeout = options.timeoutMs ?? CALL_TIMEOUT_MS;

  /**
   * One unary call with the run's signal and a timeout. The library's public methods chain `.then` onto gax's
   * promise, which drops its `cancel()`; the client's `innerApiCalls` (what those methods call, with the same
   * routing header) keep it, so an aborted read cancels its gRPC call rather than leaving it to run.
   */
  const unary =
    <T>(method: Method, request: { name?: string; parent?: string }, kind: "read" | "write"): Run<T> =>
    async (api) => {
      signal?.throwIfAborted();
      await api.initialize();
      signal?.throwIfAborted();
      const callOptions: gax.CallOptions = {
        timeout,
        otherArgs: { headers: { "x-goog-request-params": routingParams(request) } },
      };
      const inner = (api as unknown as { innerApiCalls?: Record<string, InnerCall | undefined> })
        .innerApiCalls?.[method];
      const call = (
        inner
          ? inner(request, callOptions)
          : (api[method] as (r: object, o: gax.CallOptions) => GaxCall<unknown>)(request, callOptions)
      ) as GaxCall<T>;
      return kind === "write" || !signal ? call : abortable(call, signal);
    };

  /**
   * A read tried again while quota-limited. google-gax itself retries UNAVAILABLE and DEADLINE_EXCEEDED on
   * GetCluster, GetOperation and DeleteCluster (its `idempotent` codes, 100ms × 1.3 backoff up to 10 minutes),
   * never RESOURCE_EXHAUSTED, and nothing on CreateCluster.
   */
  const retried =
    <T>(run: Run<T>): Run<T> =>
    (api) =>
      withRetries(
        () => run(api),
        (outcome) =>
          "error" in outcome && grpcCode(outcome.error) === "RESOURCE_EXHAUSTED" ? {} : undefined,
        policy,
      );

  /** One call and its reply; failures say what to do about them, except NOT_FOUND where `missingOk`. */
  async function send<T>(info: CallInfo, run: Run<T>): Promise<T>;
  async function send<T>(info: CallInfo, run: Run<T>, missingOk: true): Promise<T | undefined>;
  async function send<T>(info: CallInfo, run: Run<T>, missingOk = false): Promise<T | undefined> {
    try {
      const [reply] = await run(await api());
      return reply;
    } catch (error) {
      // Stopped by the run's signal: the interrupt is what happened, not an API failure to explain.
      if (signal?.aborted && error === signal.reason) throw error;
      if (missingOk && grpcCode(error) === "NOT_FOUND") return undefined;
      throw failure(info, error);
    }
  }

  return {
    async getCluster(ref) {
      const name = clusterName(ref);
      const info = call(
        ref,
        `read cluster ${name}`,
        "container.clusters.get",
        "roles/container.clusterViewer",
      );
      const cluster = await send(info, retried(unary<ApiCluster>("getCluster", { name }, "read")), true);
      return cluster && toCluster(ref, cluster);
    },

    async createCluster(ref, spec) {
      const info = call(
        ref,
        `create cluster ${clusterName(ref)}`,
        "container.clusters.create",
        "roles/container.clusterAdmin",
      );
      const request = {
        parent: `projects/${ref.project}/locations/${ref.location}`,
        cluster: clusterRequest(ref, spec),
      };
      return toOperation(ref, await send(info, unary<Api>("createCluster", request, "write")));
    },

    async deleteCluster(ref) {
      const name = clusterName(ref);
      const info = call(
        ref,
        `delete cluster ${name}`,
        "container.clusters.delete",
        "roles/container.clusterAdmin",
      );
      const operation = await send(info, unary<Api>("deleteCluster", { name }, "write"), true);
      return operation && toOperation(ref, operation);
    },

    async getOperation(name) {
      const ref = refOfOperation(name);
      const info = call(
        ref,
        `read operation ${name}`,
        "container.operations.get",
        "roles/container.clusterViewer",
      );
      return toOperation(ref, await send(info, retried(unary<Api>("getOperation", { name }, "read"))));
    },

    async close() {
      // A client that never opened (no credentials) has nothing to close.
      const opened = await client?.catch(() => undefined);
      await opened?.close().catch(() => undefined);
    },
  };
}

async function openClient(endpoint: string | undefined): Promise<ClusterManagerClient> {
  const { ClusterManagerClient } = await import("@google-cloud/container");
  if (!endpoint) {
    // Without credentials the library leaves a rejected promise unhandled, which ends the process before
    // the caller can explain; finding them first turns that into an ordinary error.
    const { GoogleAuth } = await import("google-auth-library");
    await new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getClient();
    return new ClusterManagerClient();
  }
  const { host, port } = splitEndpoint(endpoint);
  // The client's own grpc-js instance: credentials from another copy fail its instanceof checks.
  const { grpc } = createRequire(import.meta.resolve("@google-cloud/container"))("google-gax") as typeof gax;
  // universeDomain set explicitly keeps the client from probing the GCE metadata server.
  return new ClusterManagerClient({
    apiEndpoint: host,
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: "googleapis.com",
  });
}

function splitEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^([^:]+):(\d+)$/.exec(endpoint.replace(/^[a-z]+:\/\//, ""));
  if (!match) throw new Error(`CLUSTERSHIFT_GKE_ENDPOINT must be HOST:PORT, got "${endpoint}"`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** The request `gcloud container clusters create` sends for these flags. */
function clusterRequest(ref: ClusterRef, spec: ClusterSpec): ApiCluster {
  return {
    name: ref.name,
    nodePools: [
      {
        name: "default-pool",
        initialNodeCount: spec.nodeCount,
        config: { machineType: spec.machineType, workloadMetadataConfig: { mode: "GKE_METADATA" } },
      },
    ],
    workloadIdentityConfig: { workloadPool: spec.workloadPool },
    ...(spec.releaseChannel ? { releaseChannel: { channel: spec.releaseChannel } } : {}),
    ...(spec.labels ? { resourceLabels: spec.labels } : {}),
  };
}

function toCluster(ref: ClusterRef, cluster: ApiCluster): GkeCluster {
  const pools = cluster.nodePools ?? [];
  const pool = pools.find((p) => p.name === "default-pool") ?? pools[0];
  return {
    ref,
    status: enumName(cluster.status, "STATUS_UNSPECIFIED"),
    ...optional("statusMessage", cluster.statusMessage),
    ...optional("endpoint", cluster.endpoint),
    ...optional("caCertificate", cluster.masterAuth?.clusterCaCertificate),
    ...optional("machineType", pool?.config?.machineType),
    ...(typeof pool?.initialNodeCount === "number" ? { nodeCount: pool.initialNodeCount } : {}),
    ...optional("workloadPool", cluster.workloadIdentityConfig?.workloadPool),
    ...(cluster.releaseChannel?.channel
      ? { releaseChannel: enumName(cluster.releaseChannel.channel, "UNSPECIFIED") }
      : {}),
    labels: { ...(cluster.resourceLabels ?? {}) },
  };
}

function toOperation(ref: ClusterRef, operation: Api): GkeOperation {
  const id = operation.name ?? "";
  const name = id.includes("/")
    ? id
    : `projects/${ref.project}/locations/${operation.location || ref.location}/operations/${id}`;
  const error = operation.error?.message || (operation.error?.code ? codeName(operation.error.code) : "");
  return {
    name,
    status: enumName(operation.status, "STATUS_UNSPECIFIED"),
    ...(error ? { error } : {}),
    ...optional("progress", operation.detail),
  };
}

function refOfOperation(name: string): ClusterRef {
  const match = /^projects\/([^/]+)\/locations\/([^/]+)\//.exec(name);
  return { project: match?.[1] ?? "-", location: match?.[2] ?? "-", name: "" };
}

/** gRPC hands enums over as names (the REST fallback would send numbers, which stay numbers here). */
function enumName(value: unknown, unspecified: string): string {
  if (typeof value === "string" && value) return value;
  return typeof value === "number" && value !== 0 ? String(value) : unspecified;
}

function optional<K extends string>(key: K, value: string | null | undefined): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}

function call(ref: ClusterRef, what: string, permission: string, role: string): CallInfo {
  return { what, project: ref.project, permission, role, service: "container.googleapis.com" };
}

function grpcCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? codeName(code) : undefined;
}

function failure(info: CallInfo, error: unknown): Error {
  if (isCredentialsError(error)) return credentialsError(info, error);
  const code = grpcCode(error);
  if (!code) return error instanceof Error ? error : new Error(String(error));
  const details = (error as { details?: unknown }).details;
  const message = typeof details === "string" && details ? details : (error as Error).message;
  return apiError(info, { code, message, cause: error });
}

/** `call`, or the signal's reason as soon as it fires; the call is then cancelled where gax lets it be. */
function abortable<T>(call: GaxCall<T>, signal: AbortSignal): GaxCall<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      call.cancel?.();
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
