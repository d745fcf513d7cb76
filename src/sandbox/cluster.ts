import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from "node:net";
import { sleep } from "../engine/sleep.js";
import type { KubeObject, ObjectRef } from "../providers/kubernetes/port.js";
import { ClusterApi } from "./api.js";
import { Controllers, type ControllerOptions } from "./controllers.js";
import { crdsFromYaml, installCrds } from "./crds.js";
import type { SandboxExtension } from "./extension.js";
import { FaultInjector, holdReply, parseFaultConfig, type FaultConfig } from "./faults.js";
import { handleKubernetes, parseBody, readBody, sendError, sendJson } from "./http.js";
import { isObject, type Json, type JsonObject } from "./json.js";
import { renderKubeconfig, type KubeconfigEntry, type KubeconfigOptions } from "./kubeconfig.js";
import { resourceKey } from "./resources.js";
import { ApiError, badRequest, notFound } from "./status.js";
import { sandboxTlsCredentials } from "./tls.js";

export interface RequestRecord {
  method: string;
  /** Path and query. */
  path: string;
  status: number;
}

/** One simulated cluster: its own port, bearer token, objects, controllers and faults. */
export interface SandboxCluster {
  readonly name: string;
  /** `http://127.0.0.1:PORT`: plain HTTP, for client-node and fetch. */
  readonly server: string;
  /**
   * `https://127.0.0.1:PORT` (same port, self-signed): what kubeconfigs name, because kubectl sends the bearer
   * token only over TLS. Clients must skip verification (`insecure-skip-tls-verify: true`).
   */
  readonly httpsServer: string;
  readonly token: string;
  readonly port: number;
  /** Replaces the cluster's fault configuration; `{}` clears it. */
  setFaults(faults: FaultConfig): void;
  readonly faults: FaultConfig;
  /** Faults injected since the last `setFaults`. */
  readonly faultsInjected: number;
  /** Requests to the Kubernetes API paths, oldest first (the last 20,000). */
  readonly requests: readonly RequestRecord[];
  resetRequests(): void;
  /** In-process access for tests (no HTTP, no faults): a copy of the object, or undefined. */
  get(ref: ObjectRef): KubeObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Server-side apply (forced) under `fieldManager`, default `sandbox`. */
  apply(object: KubeObject, fieldManager?: string): KubeObject;
  /** False when it was already gone. */
  delete(ref: ObjectRef): boolean;
  /** Installs the CustomResourceDefinitions of a (multi-document) YAML text; returns how many. */
  installCrds(yamlText: string): number;
  /** A kubeconfig with only this cluster's context. */
  kubeconfig(options?: KubeconfigOptions): string;
}

/** What a cluster's control API needs from the sandbox hosting it. */
export interface ControlPlane {
  clusterServers(): readonly SandboxClusterServer[];
  addCluster(name: string, options: { istio?: boolean }): Promise<SandboxClusterServer>;
  removeCluster(name: string): Promise<boolean>;
  readonly extensions: readonly SandboxExtension[];
}

const CONTROL_PREFIX = "/sandbox/v1/";
const REQUEST_LOG_LIMIT = 20_000;

function copy<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class SandboxClusterServer implements SandboxCluster {
  readonly api = new ClusterApi();
  readonly token = randomBytes(24).toString("hex");
  private readonly controllers: Controllers;
  private readonly injector = new FaultInjector();
  private readonly log: RequestRecord[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly http: Server;
  private readonly https: Server;
  private readonly tcp: TcpServer;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  private constructor(
    readonly name: string,
    controllerOptions: ControllerOptions,
    private readonly control: ControlPlane,
  ) {
    this.controllers = new Controllers(this.api, controllerOptions);
    this.seed();
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.http = createServer(handler);
    this.https = createHttpsServer(sandboxTlsCredentials(), handler);
    this.http.keepAliveTimeout = this.https.keepAliveTimeout = 30_000;
    // One port for both: a TLS connection starts with a handshake record (0x16), plain HTTP with a method name.
    this.tcp = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.once("data", (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        (first[0] === 0x16 ? this.https : this.http).emit("connection", socket);
        process.nextTick(() => socket.resume());
      });
    });
  }

  static async start(
    name: string,
    options: ControllerOptions,
    control: ControlPlane,
    crds: readonly JsonObject[],
  ): Promise<SandboxClusterServer> {
    const cluster = new SandboxClusterServer(name, options, control);
    installCrds(cluster.api, crds);
    await new Promise<void>((resolve, reject) => {
      cluster.tcp.once("error", reject);
      cluster.tcp.listen(0, "127.0.0.1", () => resolve());
    });
    cluster.boundPort = (cluster.tcp.address() as AddressInfo).port;
    return cluster;
  }

  get port(): number {
    return this.boundPort;
  }

  get server(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get httpsServer(): string {
    return `https://127.0.0.1:${this.boundPort}`;
  }

  get faults(): FaultConfig {
    return this.injector.current;
  }

  get faultsInjected(): number {
    return this.injector.count;
  }

  get requests(): readonly RequestRecord[] {
    return this.log;
  }

  setFaults(faults: FaultConfig): void {
    this.injector.set(faults);
  }

  resetRequests(): void {
    this.log.length = 0;
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const type = this.api.typeForKind(ref.apiVersion, ref.kind);
    const object = this.api.store.get(
      resourceKey(type.group, type.plural),
      type.namespaced ? (ref.namespace ?? "default") : "",
      ref.name,
    );
    return object ? copy<KubeObject>({ ...object, apiVersion: ref.apiVersion }) : undefined;
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const type = this.api.typeForKind(apiVersion, kind);
    return this.api.list(type, namespace).items.map((o) => copy<KubeObject>({ ...o, apiVersion }));
  }

  apply(object: KubeObject, fieldManager = "sandbox"): KubeObject {
    const type = this.api.typeForKind(object.apiVersion, object.kind);
    const version = object.apiVersion.split("/").pop() ?? "";
    const namespace = type.namespaced ? (object.metadata.namespace ?? "default") : "";
    const result = this.api.apply(type, namespace, object.metadata.name, copy<Json>(object), {
      version,
      fieldManager,
      force: true,
    });
    return copy<KubeObject>({ ...result.object, apiVersion: object.apiVersion });
  }

  delete(ref: ObjectRef): boolean {
    const type = this.api.typeForKind(ref.apiVersion, ref.kind);
    try {
      this.api.delete(type, type.namespaced ? (ref.namespace ?? "default") : "", ref.name);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return false;
      throw error;
    }
  }

  installCrds(yamlText: string): number {
    return installCrds(this.api, crdsFromYaml(yamlText));
  }

  kubeconfig(options: KubeconfigOptions = {}): string {
    return renderKubeconfig([this.kubeconfigEntry(options)]);
  }

  kubeconfigEntry(options: KubeconfigOptions): KubeconfigEntry {
    return {
      name: this.name,
      server: options.scheme === "http" ? this.server : this.httpsServer,
      token: this.token,
    };
  }

  describe(): JsonObject {
    return { name: this.name, server: this.server, httpsServer: this.httpsServer, token: this.token };
  }

  async stop(): Promise<void> {
    this.controllers.stop();
    for (const res of this.watches) res.end();
    this.watches.clear();
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Namespaces and objects every real cluster starts with. */
  private seed(): void {
    const options = { version: "v1", fieldManager: "kube-apiserver" };
    const namespaces = this.api.typeForKind("v1", "Namespace");
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      this.api.create(namespaces, "", { metadata: { name } }, options);
    }
    this.api.create(
      this.api.typeForKind("v1", "Service"),
      "default",
      {
        metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
        spec: {
          clusterIP: "10.96.0.1",
          ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
        },
      },
      options,
    );
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    const expected = Buffer.from(`Bearer ${this.token}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private record(req: IncomingMessage, res: ServerResponse): void {
    const entry: RequestRecord = { method: req.method ?? "GET", path: req.url ?? "/", status: 0 };
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_LIMIT + 1000) this.log.splice(0, this.log.length - REQUEST_LOG_LIMIT);
    res.on("finish", () => (entry.status = res.statusCode));
    res.on("close", () => {
      if (entry.status === 0) entry.status = res.headersSent ? res.statusCode : -1;
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.authorized(req)) {
        throw new ApiError(401, "Unauthorized", "Unauthorized");
      }
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (url.pathname.startsWith(CONTROL_PREFIX)) {
        await this.handleControl(req, res, url);
        return;
      }
      this.record(req, res);
      const latency = this.injector.latencyMs;
      if (latency > 0) await sleep(latency);
      const fault = this.injector.decide(req.method ?? "GET", url.pathname);
      if (fault.kind === "lose-reply") {
        // Carried out below; only the reply is held back.
        if (isWatch(url)) this.injector.refund();
        else holdReply(res, () => this.injector.refund());
      }
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "fail") {
        sendError(
          res,
          faultError(fault.status, fault.retryAfterSeconds),
          fault.status === 429 ? { "Retry-After": String(fault.retryAfterSeconds) } : {},
        );
        return;
      }
      await handleKubernetes(this.api, req, res, url, `127.0.0.1:${this.boundPort}`, this.watches);
    } catch (error) {
      sendError(res, error);
    }
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const segments = url.pathname
      .slice(CONTROL_PREFIX.length)
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    const method = req.method ?? "GET";
    const raw = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : await readBody(req);
    const body = parseBody(raw, req.headers["content-type"] ?? "application/json");
    const [first, second, third] = segments;
    const clusters = { group: "sandbox.clustershift.dev", plural: "clusters" };

    if (first === "clusters") {
      if (second === undefined && method === "GET") {
        sendJson(res, 200, { items: this.control.clusterServers().map((c) => c.describe()) });
        return;
      }
      if (second === undefined && method === "POST") {
        if (!isObject(body) || typeof body["name"] !== "string")
          throw badRequest('body must be {"name": string}');
        const added = await this.control.addCluster(
          body["name"],
          typeof body["istio"] === "boolean" ? { istio: body["istio"] } : {},
        );
        sendJson(res, 201, added.describe());
        return;
      }
      const target = this.control.clusterServers().find((c) => c.name === second);
      if (!target || second === undefined) throw notFound(clusters, second ?? "");
      if (third === undefined && method === "DELETE") {
        await this.control.removeCluster(second);
        sendJson(res, 200, { name: second });
        return;
      }
      if (third === "faults") {
        target.handleFaults(method, body, res);
        return;
      }
    }
    if (first === "faults" && second === undefined) {
      this.handleFaults(method, body, res);
      return;
    }
    if (first === "requests" && second === undefined && method === "GET") {
      sendJson(res, 200, { items: this.log, faultsInjected: this.injector.count });
      return;
    }
    const extension = this.control.extensions.find((e) => e.prefix === first);
    if (extension) {
      await extension.handle(req, res, `/${segments.slice(1).join("/")}`, body);
      return;
    }
    throw new ApiError(404, "NotFound", `no sandbox control endpoint at ${url.pathname}`);
  }

  private handleFaults(method: string, body: Json | undefined, res: ServerResponse): void {
    if (method === "PUT") this.injector.set(parseFaultConfig(body));
    else if (method === "DELETE") this.injector.set({});
    else if (method !== "GET")
      throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed on faults`);
    sendJson(res, 200, { ...this.injector.current, faultsInjected: this.injector.count });
  }
}

/** A watch streams its answer: there is no single reply to lose. */
function isWatch(url: URL): boolean {
  const watch = url.searchParams.get("watch");
  return watch === "true" || watch === "1" || url.pathname.split("/").includes("watch");
}

function faultError(status: number, retryAfterSeconds: number): ApiError {
  switch (status) {
    case 429:
      return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds,
      });
    case 503:
      return new ApiError(
        503,
        "ServiceUnavailable",
        "The server is currently unable to handle the request (injected fault)",
      );
    case 504:
      return new ApiError(
        504,
        "Timeout",
        "The server was unable to return a response in the time allotted (injected fault)",
      );
    case 500:
      return new ApiError(500, "InternalError", "Internal error occurred: injected fault");
    default:
      return new ApiError(
        status,
        status >= 500 ? "InternalError" : "BadRequest",
        `injected fault (HTTP ${status})`,
      );
  }
}
