import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { delimiter } from "node:path";
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { RuntimeError } from "../../engine/errors.js";
import { sleep } from "../../engine/sleep.js";
import { formatDuration } from "../../playbook/duration.js";
import { ContextNotFoundError, KubeApiError, isApiStatus } from "./errors.js";
import { EXEC_TIMEOUT_MS, ExecCredentials } from "./exec-credential.js";
import { withoutServerMetadata } from "./metadata.js";
import type { ApiResource, ClusterPort, KubeObject, ListOptions, ObjectRef } from "./port.js";
import { rolloutState } from "./rollout.js";
import {
  DEFAULT_RETRY,
  holdsWrite,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelayMs,
  type RetryPolicy,
} from "./retry.js";
import { AdaptiveLimit, type ThrottleStats } from "./adaptive.js";
import {
  ACCESS_REVIEW_PATH,
  accessDecision,
  accessReviewBody,
  describeAccess,
  type AccessDecision,
  type ResourceAttributes,
} from "./access.js";

export const FIELD_MANAGER = "clustershift";
/** Per HTTP request; a request without an answer by then is retried like a reset connection. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * For the TCP connection and TLS handshake: a black-holed API server (packets dropped, a cluster that is gone)
 * otherwise waits for the kernel's own connect timeout, minutes, on every one of the retries.
 */
const CONNECT_TIMEOUT_MS = 8_000;
/** Tries of one call that ended in a timeout: a server that did not answer twice is not there for us now. */
const TIMEOUT_ATTEMPTS = 2;
/** Keep-alive connections per cluster. */
const MAX_SOCKETS = 32;
/** Requests in flight to one server at most: as many as the sockets; a 429 brings it down (AdaptiveLimit). */
const MAX_IN_FLIGHT = MAX_SOCKETS;

export interface ClusterClientOptions {
  /** KUBECONFIG-style path list; absent: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster. */
  kubeconfig?: string;
  retry?: RetryPolicy;
  /** Items per list page (`limit`). */
  pageSize?: number;
  /** The field manager of writes; `clustershift` unless a test seeds as someone else (`kubectl`). */
  fieldManager?: string;
  /**
   * The run's signal (SIGINT, SIGTERM): reads, waits, retries and credential plugins stop with its reason, and no
   * write starts once it is aborted. A write whose request is already sent is not cut off: it finishes, so that
   * its outcome is known and journaled.
   */
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** For a kubeconfig `exec` credential plugin; {@link EXEC_TIMEOUT_MS} by default. */
  execTimeoutMs?: number;
  /** Most requests in flight to the server; fewer while it answers 429 (see AdaptiveLimit). */
  maxInFlight?: number;
}

/**
 * Loads the kubeconfig files the way kubectl merges them: missing files in the list are skipped and the first
 * file to name a cluster, user or context wins (the library's own merge throws on such duplicates).
 */
export function loadKubeConfig(kubeconfig?: string): { config: KubeConfig; where: string } {
  const list = kubeconfig ?? process.env.KUBECONFIG;
  const config = new KubeConfig();
  if (list === undefined || list === "") {
    config.loadFromDefault();
    return { config, where: "the default kubeconfig (~/.kube/config or in-cluster)" };
  }
  const files = list.split(delimiter).filter((file) => file !== "" && existsSync(file));
  if (files.length === 0) throw new RuntimeError(`no kubeconfig file found in ${list}`);
  const parts = files.map((file) => {
    const part = new KubeConfig();
    try {
      part.loadFromFile(file);
    } catch (error) {
      throw new RuntimeError(`cannot read kubeconfig ${file}: ${(error as Error).message}`, { cause: error });
    }
    return part;
  });
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  config.loadFromOptions({
    clusters: firstByName(parts.map((part) => part.getClusters())),
    users: firstByName(parts.map((part) => part.getUsers())),
    contexts: firstByName(parts.map((part) => part.getContexts())),
    currentContext: parts.map((part) => part.getCurrentContext()).find((name) => name) ?? "",
  });
  return { config, where: files.join(delimiter) };
}

/**
 * The kubeconfig with `context` current, on a KubeConfig of its own: the library takes the token and TLS settings
 * of the current context on every request (the multi-cluster trap in LIBRARIES.md). `where` names the files read.
 * Without that context it throws `missing(where, available)`, by default a ContextNotFoundError.
 */
export function kubeConfigFor(
  context: string,
  kubeconfig?: string,
  missing: (where: string, available: string[]) => Error = (where, available) =>
    new ContextNotFoundError(context, available, where),
): { config: KubeConfig; where: string } {
  const { config, where } = loadKubeConfig(kubeconfig);
  if (!config.getContextObject(context)) {
    throw missing(
      where,
      config.getContexts().map((c) => c.name),
    );
  }
  config.setCurrentContext(context);
  return { config, where };
}

/** A client for one kubeconfig context. */
export function createClusterClient(context: string, options: ClusterClientOptions = {}): KubeClusterClient {
  return new KubeClusterClient(context, kubeConfigFor(context, options.kubeconfig).config, options);
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface Call {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  contentType?: string;
  /** `apply Deployment shop/frontend`, for messages. */
  what: string;
  /** Sees the headers of the answer that is returned (the server's `Date`). */
  onHeaders?: (headers: http.IncomingHttpHeaders) => void;
}

type Evaluation<T> = { done: true; value: T } | { done: false; detail: string } | { failed: string };

/**
 * Talks to the API server over plain HTTP(S) with the KubeConfig's credentials, rather than through the
 * library's generic KubernetesObjectApi: that one deserializes built-in kinds into its models, which turns
 * timestamps into Dates and drops fields its models do not know, so before-images would not restore exactly.
 * It also opens a new connection per request; this client keeps them alive.
 */
export class KubeClusterClient implements ClusterPort {
  private readonly server: string;
  private readonly retry: RetryPolicy;
  /** Requests in flight, adapted to the server's 429s. */
  private readonly limit: AdaptiveLimit;
  private readonly pageSize: number;
  private readonly fieldManager: string;
  private readonly discovery = new Map<string, Promise<ApiResource[]>>();
  private agent: { agent: http.Agent; tls: unknown[] } | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly context: string,
    private readonly config: KubeConfig,
    options: ClusterClientOptions = {},
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new RuntimeError(`kubeconfig context "${context}" names no cluster`);
    this.server = cluster.server.replace(/\/+$/, "");
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.pageSize = options.pageSize ?? 500;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.signal = options.signal;
    // One run's signal is shared by every request under way (a plan lists dozens at once), each adding its abort
    // listener: not a leak, and Node's warning about more than 10 would reach the user's terminal raw.
    if (options.signal) setMaxListeners(0, options.signal);
    this.limit = new AdaptiveLimit(options.maxInFlight ?? MAX_IN_FLIGHT);
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    new ExecCredentials(context, options.execTimeoutMs ?? EXEC_TIMEOUT_MS, options.signal).install(config);
  }

  /** 429s met, retries made and the in-flight limit: for the bench and the run's summary. */
  get throttle(): Readonly<ThrottleStats> {
    return this.limit.stats;
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    try {
      return withType(
        await this.call<KubeObject>({ method: "GET", path, what: `get ${describe(ref)}` }),
        ref,
      );
    } catch (error) {
      if (isApiStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async list(apiVersion: string, kind: string, options: ListOptions = {}): Promise<KubeObject[]> {
    const base = await this.pathOf(apiVersion, kind, options.namespace);
    const what = `list ${kind}${options.namespace ? ` in namespace ${options.namespace}` : ""}`;
    for (let restart = 0; ; restart++) {
      const items: KubeObject[] = [];
      let token: string | undefined;
      try {
        do {
          const query = new URLSearchParams({ limit: String(this.pageSize) });
          if (options.labelSelector) query.set("labelSelector", options.labelSelector);
          if (options.fieldSelector) query.set("fieldSelector", options.fieldSelector);
          if (token) query.set("continue", token);
          const page = await this.call<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
            method: "GET",
            path: `${base}?${query.toString()}`,
            what,
          });
          // Items of a list carry no apiVersion/kind on the wire.
          for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
          token = page.metadata?.continue || undefined;
        } while (token);
        return items;
      } catch (error) {
        // An expired continue token: the snapshot is gone, start over.
        if (token && isApiStatus(error, 410) && restart < 2) continue;
        throw error;
      }
    }
  }

  async apply(object: KubeObject): Promise<KubeObject> {
    const path = await this.pathOf(
      object.apiVersion,
      object.kind,
      object.metadata.namespace,
      object.metadata.name,
    );
    const query = new URLSearchParams({ fieldManager: this.fieldManager, force: "true" });
    const result = await this.call<KubeObject>({
      method: "PATCH",
      path: `${path}?${query.toString()}`,
      body: withoutServerMetadata(object),
      contentType: "application/apply-patch+yaml",
      what: `apply ${describe(refOf(object))}`,
    });
    return withType(result, refOf(object));
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const path = await this.pathOf(object.apiVersion, object.kind, object.metadata.namespace);
    const body = withoutServerMetadata(object);
    try {
      const result = await this.call<KubeObject>({
        method: "POST",
        path: `${path}?fieldManager=${this.fieldManager}`,
        body,
        what: `create ${describe(refOf(object))}`,
      });
      return withType(result, refOf(object));
    } catch (error) {
      return await this.ownLostWrite(error, refOf(object), body);
    }
  }

  async replace(object: KubeObject, options: { resourceVersion?: string } = {}): Promise<KubeObject> {
    const ref = refOf(object);
    if (options.resourceVersion !== undefined) return this.put(object, options.resourceVersion);
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(ref);
      try {
        return current ? await this.put(object, current.metadata.resourceVersion) : await this.create(object);
      } catch (error) {
        // Someone (a controller updating status, or our own retried request) wrote in between: read again.
        if (attempt < 5 && isApiStatus(error, 409)) continue;
        throw error;
      }
    }
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    try {
      await this.call({
        method: "DELETE",
        path: `${path}?propagationPolicy=Background`,
        what: `delete ${describe(ref)}`,
      });
      return true;
    } catch (error) {
      const retried = error instanceof KubeApiError && error.attempts > 1;
      // Gone, or (a namespace) already terminating, after a retry: the earlier try whose reply was lost deleted it.
      if (isApiStatus(error, 404)) return retried;
      if (retried && isApiStatus(error, 409)) {
        const live = await this.get(ref);
        if (!live || live.metadata.deletionTimestamp) return true;
      }
      throw error;
    }
  }

  /**
   * The API server's own time: the `Date` header of a fresh, cheap read (whole seconds, stamped while the request
   * was under way), for waits that must outlive this process whatever this machine's clock does.
   */
  async serverTime(): Promise<{ ms: number; resolutionMs: number }> {
    let date: string | undefined;
    await this.call({
      method: "GET",
      path: "/api",
      what: "read the server's time",
      onHeaders: (headers) => (date = headers.date),
    });
    const ms = Date.parse(date ?? "");
    if (Number.isNaN(ms)) {
      throw new RuntimeError(
        `the API server of context "${this.context}" (${this.server}) sent no Date header: cannot tell its time`,
      );
    }
    return { ms, resolutionMs: 1000 };
  }

  async servedVersions(group: string): Promise<string[]> {
    if (group === "") {
      const core = await this.call<{ versions?: string[] }>({
        method: "GET",
        path: "/api",
        what: "discover /api",
      });
      return core.versions ?? [];
    }
    const list = await this.call<{ groups?: ApiGroup[] }>({
      method: "GET",
      path: "/apis",
      what: "discover /apis",
    });
    const found = list.groups?.find((g) => g.name === group);
    if (!found) return [];
    const preferred = found.preferredVersion?.version;
    const versions = (found.versions ?? []).map((v) => v.version);
    return preferred ? [preferred, ...versions.filter((v) => v !== preferred)] : versions;
  }

  async reviewAccess(attributes: ResourceAttributes): Promise<AccessDecision> {
    const review = await this.call<unknown>({
      method: "POST",
      path: ACCESS_REVIEW_PATH,
      body: accessReviewBody(attributes),
      what: `ask whether it may ${describeAccess(attributes)}`,
    });
    return accessDecision(review);
  }

  apiResources(apiVersion: string): Promise<ApiResource[]> {
    let cached = this.discovery.get(apiVersion);
    if (!cached) {
      cached = this.discover(apiVersion);
      this.discovery.set(apiVersion, cached);
      // A failed discovery must not stick.
      cached.catch(() => this.discovery.delete(apiVersion));
    }
    return cached;
  }

  waitForRollout(ref: ObjectRef, timeoutMs: number, onProgress: (detail: string) => void): Promise<void> {
    return this.watchUntil<undefined>(
      ref,
      (object) => {
        const state = rolloutState(object);
        switch (state.state) {
          case "complete":
            return { done: true, value: undefined };
          case "failed":
            return {
              failed: `rollout of ${describe(ref)} on context "${this.context}" failed: ${state.detail}`,
            };
          case "progressing":
            return { done: false, detail: state.detail };
        }
      },
      timeoutMs,
      onProgress,
    );
  }

  waitFor<T>(
    ref: ObjectRef,
    ready: (object: KubeObject | undefined) => T | undefined,
    timeoutMs: number,
    onProgress: (detail: string) => void,
  ): Promise<T> {
    return this.watchUntil(
      ref,
      (object) => {
        const value = ready(object);
        return value === undefined
          ? {
              done: false,
              detail: object ? `waiting for ${describe(ref)}` : `waiting for ${describe(ref)} to exist`,
            }
          : { done: true, value };
      },
      timeoutMs,
      onProgress,
    );
  }

  /** Closes idle keep-alive connections (they do not hold the process open, but tests stop servers). */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  private async discover(apiVersion: string): Promise<ApiResource[]> {
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    try {
      const list = await this.call<{ resources?: ApiResource[] }>({
        method: "GET",
        path,
        what: `discover ${path}`,
      });
      return (list.resources ?? [])
        .filter((r) => !r.name.includes("/"))
        .map((r) => ({ kind: r.kind, name: r.name, namespaced: r.namespaced, verbs: r.verbs ?? [] }));
    } catch (error) {
      if (isApiStatus(error, 404)) return [];
      throw error;
    }
  }

  private async resourceOf(apiVersion: string, kind: string): Promise<ApiResource> {
    let found = (await this.apiResources(apiVersion)).find((r) => r.kind === kind);
    if (!found) {
      // A CRD may have been installed since we last looked.
      this.discovery.delete(apiVersion);
      found = (await this.apiResources(apiVersion)).find((r) => r.kind === kind);
    }
    if (!found) throw new RuntimeError(`context "${this.context}" does not serve ${kind} in ${apiVersion}`);
    return found;
  }

  private async pathOf(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const resource = await this.resourceOf(apiVersion, kind);
    let path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (resource.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
    else if (resource.namespaced && name !== undefined) {
      throw new Error(`${kind} ${name} has no namespace: this is a bug`);
    }
    path += `/${resource.name}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    return path;
  }

  private async put(object: KubeObject, resourceVersion: string | undefined): Promise<KubeObject> {
    const ref = refOf(object);
    const path = await this.pathOf(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const body = withoutServerMetadata(object);
    if (resourceVersion !== undefined) body.metadata.resourceVersion = resourceVersion;
    try {
      const result = await this.call<KubeObject>({
        method: "PUT",
        path: `${path}?fieldManager=${this.fieldManager}`,
        body,
        what: `replace ${describe(ref)}`,
      });
      return withType(result, ref);
    } catch (error) {
      return await this.ownLostWrite(error, ref, body);
    }
  }

  /**
   * A create or compare-and-swap replace is retried after a lost connection (safe: the server refuses a second
   * one with 409). When a retry gets that 409, the earlier try may have been carried out with its reply lost:
   * if the object now holds exactly what we sent, the write is ours and done. Anything else is rethrown.
   */
  private async ownLostWrite(error: unknown, ref: ObjectRef, sent: KubeObject): Promise<KubeObject> {
    if (!(error instanceof KubeApiError) || error.status !== 409 || error.attempts <= 1) throw error;
    const live = await this.get(ref);
    if (live && holdsWrite(live, sent)) return live;
    throw error;
  }

  /**
   * One API call with retries on 429, 5xx and dropped connections; never on other 4xx. Once the run's signal is
   * aborted no call starts and none is tried again; a read in flight is cut off, a write in flight is not.
   */
  private async call<T>(call: Call): Promise<T> {
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    let timeouts = 0;
    for (let attempt = 0; ; attempt++) {
      this.signal?.throwIfAborted();
      if (attempt > 0) this.limit.stats.retries++;
      let response: RawResponse;
      const slot = await this.limit.acquire(this.signal);
      try {
        response = await this.send(call.method, call.path, body, call.contentType, call.method === "GET");
        this.limit.release(
          slot,
          response.status === 429 ? "throttled" : response.status < 400 ? "ok" : "other",
        );
      } catch (error) {
        this.limit.release(slot, "other");
        if (this.signal?.aborted) throw this.signal.reason;
        if (error instanceof RuntimeError) throw error;
        if (isTimeout(error)) timeouts++;
        if (
          !isRetryableNetworkError(error) ||
          attempt + 1 >= this.retry.attempts ||
          timeouts >= TIMEOUT_ATTEMPTS
        ) {
          throw new RuntimeError(
            `${call.what} on context "${this.context}" (${this.server}): ${(error as Error).message}` +
              (attempt > 0 ? ` (after ${attempt + 1} attempts)` : "") +
              (isUnreachable(error)
                ? `; the API server of context "${this.context}" cannot be reached: check that the cluster is up and that this machine can reach ${this.server}`
                : ""),
            { cause: error },
          );
        }
        await sleep(retryDelayMs(attempt, undefined, this.retry), this.signal);
        continue;
      }
      if (response.status < 400) {
        call.onHeaders?.(response.headers);
        return (response.text === "" ? {} : JSON.parse(response.text)) as T;
      }
      const status = parseStatus(response.text);
      if (!isRetryableStatus(response.status) || attempt + 1 >= this.retry.attempts) {
        throw new KubeApiError(
          `${call.what} on context "${this.context}": ${response.status}` +
            `${status.reason ? ` ${status.reason}` : ""}: ${status.message ?? response.text.slice(0, 300)}` +
            (attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""),
          response.status,
          status.reason,
          { cause: status },
          attempt + 1,
        );
      }
      const retryAfter =
        parseRetryAfter(response.headers["retry-after"]) ?? status.details?.retryAfterSeconds;
      await sleep(retryDelayMs(attempt, retryAfter, this.retry), this.signal);
    }
  }

  private async send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    /** Cut off when the run's signal aborts: only reads, whose outcome does not matter once stopped. */
    abortable: boolean,
  ): Promise<RawResponse> {
    // Per request: exec plugins and token files hand out fresh credentials.
    const options: https.RequestOptions = {};
    try {
      await this.config.applyToHTTPSOptions(options);
    } catch (error) {
      if (this.signal?.aborted) throw this.signal.reason;
      throw error instanceof RuntimeError
        ? error
        : new RuntimeError(`credentials of context "${this.context}": ${messageOrName(error)}`, {
            cause: error,
          });
    }
    this.signal?.throwIfAborted();
    const url = new URL(this.server + path);
    const headers: http.OutgoingHttpHeaders = {
      ...(options.headers as http.OutgoingHttpHeaders | undefined),
    };
    headers.Accept = "application/json";
    if (body !== undefined) {
      headers["Content-Type"] = contentType ?? "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    const agent = this.agentFor(url, options);
    const transport = url.protocol === "https:" ? https : http;
    return new Promise<RawResponse>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          headers,
          agent,
          ...(options.auth ? { auth: options.auth } : {}),
          ...(abortable && this.signal ? { signal: this.signal } : {}),
          timeout: this.requestTimeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("aborted", () =>
            reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
          );
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      request.on("timeout", () =>
        request.destroy(
          Object.assign(new Error(`no answer within ${formatDuration(this.requestTimeoutMs)}`), {
            code: "ETIMEDOUT",
          }),
        ),
      );
      request.on("socket", (socket) => {
        // A kept-alive socket is connected already; a new one gets a bounded time to connect and shake hands.
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            request.destroy(
              Object.assign(new Error(`no connection within ${formatDuration(this.connectTimeoutMs)}`), {
                code: "ETIMEDOUT",
                connect: true,
              }),
            ),
          this.connectTimeoutMs,
        );
        const connected = () => clearTimeout(timer);
        socket.once(url.protocol === "https:" ? "secureConnect" : "connect", connected);
        socket.once("close", connected);
      });
      request.on("error", reject);
      request.end(body);
    });
  }

  /** One keep-alive agent per cluster, rebuilt if an exec plugin hands out a new client certificate. */
  private agentFor(url: URL, options: https.RequestOptions): http.Agent | undefined {
    if (this.config.getCurrentCluster()?.proxyUrl) return options.agent as http.Agent | undefined;
    const tls = [
      options.ca,
      options.cert,
      options.key,
      options.pfx,
      options.rejectUnauthorized,
      options.servername,
    ];
    if (this.agent && tls.every((value, i) => sameValue(value, this.agent?.tls[i]))) return this.agent.agent;
    this.agent?.agent.destroy();
    const common = { keepAlive: true, maxSockets: MAX_SOCKETS };
    const agent =
      url.protocol === "https:"
        ? new https.Agent({
            ...common,
            ...definedOnly({
              ca: options.ca,
              cert: options.cert,
              key: options.key,
              pfx: options.pfx,
              passphrase: options.passphrase,
              rejectUnauthorized: options.rejectUnauthorized,
              servername: options.servername,
            }),
          })
        : new http.Agent(common);
    this.agent = { agent, tls };
    return agent;
  }

  private async watchUntil<T>(
    ref: ObjectRef,
    evaluate: (object: KubeObject | undefined) => Evaluation<T>,
    timeoutMs: number,
    onProgress: (detail: string) => void,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    const check = (object: KubeObject | undefined): { value: T } | undefined => {
      const result = evaluate(object);
      if ("failed" in result) throw new RuntimeError(result.failed);
      if (result.done) return { value: result.value };
      if (result.detail !== last) {
        last = result.detail;
        onProgress(result.detail);
      }
      return undefined;
    };
    const collection = await this.pathOf(ref.apiVersion, ref.kind, ref.namespace);
    for (let attempt = 0; ; attempt++) {
      this.signal?.throwIfAborted();
      const current = await this.get(ref);
      const now = check(current);
      if (now) return now.value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new RuntimeError(
          `timed out after ${formatDuration(timeoutMs)} waiting for ${describe(ref)} on context "${this.context}"` +
            (last ? ` (${last})` : ""),
        );
      }
      const outcome = await this.watchOnce(
        collection,
        ref,
        current?.metadata.resourceVersion,
        check,
        remaining,
      );
      if (outcome) return outcome.value;
      // The watch closed, failed or its window ran out: look again, after a pause if it keeps failing.
      if (Date.now() < deadline) {
        await sleep(Math.min(retryDelayMs(attempt, undefined, this.retry), 1_000), this.signal);
      }
    }
  }

  /** Resolves with the value once `check` finds one, or undefined when the watch ends for any other reason. */
  private watchOnce<T>(
    collection: string,
    ref: ObjectRef,
    resourceVersion: string | undefined,
    check: (object: KubeObject | undefined) => { value: T } | undefined,
    windowMs: number,
  ): Promise<{ value: T } | undefined> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      const onAbort = () => finish(undefined, this.signal?.reason as Error);
      const finish = (outcome: { value: T } | undefined, error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.signal?.removeEventListener("abort", onAbort);
        controller?.abort();
        if (error !== undefined) reject(error);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish(undefined), windowMs);
      if (this.signal?.aborted) return onAbort();
      this.signal?.addEventListener("abort", onAbort, { once: true });
      const query: Record<string, string> = { fieldSelector: `metadata.name=${ref.name}` };
      if (resourceVersion) query.resourceVersion = resourceVersion;
      new Watch(this.config)
        .watch(
          collection,
          query,
          (type: string, object: unknown) => {
            if (settled) return;
            if (type === "ERROR") return finish(undefined);
            if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return;
            try {
              const outcome = check(type === "DELETED" ? undefined : withType(object as KubeObject, ref));
              if (outcome) finish(outcome);
            } catch (error) {
              // `check` throws only RuntimeErrors (a failed rollout).
              finish(undefined, error as Error);
            }
          },
          () => finish(undefined),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          () => finish(undefined),
        );
    });
  }
}

interface ApiGroup {
  name: string;
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}

interface Status {
  message?: string;
  reason?: string;
  details?: { retryAfterSeconds?: number };
}

function parseStatus(text: string): Status {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

export function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

export function refOf(object: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

function withType(object: KubeObject, ref: ObjectRef): KubeObject {
  return object.apiVersion && object.kind
    ? object
    : { ...object, apiVersion: ref.apiVersion, kind: ref.kind };
}

function isTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "ETIMEDOUT";
}

/** Errors that mean no API server answered at all: nothing there, or nothing reachable. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    (typeof code === "string" &&
      ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"].includes(code)) ||
    (error as { connect?: unknown } | undefined)?.connect === true
  );
}

/** A library error may carry no message (an empty stderr); its name and code still say something. */
function messageOrName(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return error.message || `${error.name}${code ? ` (${code})` : ""} without a message`;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function definedOnly<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}
