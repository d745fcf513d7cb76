import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const MODULES = path.resolve(import.meta.dirname, "../../../node_modules");

/** A recorded call: the RPC's method name and its request as the server decoded it. */
export interface GkeCall {
  method: string;
  request: Record<string, unknown>;
}

export interface FakeCluster {
  name: string;
  status: "PROVISIONING" | "RUNNING" | "STOPPING" | "ERROR";
  statusMessage?: string;
  endpoint?: string;
  masterAuth?: { clusterCaCertificate: string };
  nodePools: unknown[];
  workloadIdentityConfig?: { workloadPool: string };
  releaseChannel?: { channel: string };
  resourceLabels?: Record<string, string>;
}

interface FakeOperation {
  name: string;
  operationType: string;
  status: "RUNNING" | "DONE";
  /** getOperation calls left before DONE. */
  pollsLeft: number;
  error?: { code: number; message: string };
  onDone: () => void;
}

export interface FakeGkeOptions {
  /** getOperation calls that still answer RUNNING (default 1). */
  operationPolls?: number;
  /** getCluster calls that answer PROVISIONING after the create operation finished (default 1). */
  provisioningPolls?: number;
}

/** Method names that mutate; a plan must call none of them. */
export const GKE_MUTATING = new Set([
  "createCluster",
  "deleteCluster",
  "updateCluster",
  "setLabels",
  "createNodePool",
]);

/**
 * A ClusterManager gRPC server built from `@google-cloud/container`'s own protos, holding clusters in memory.
 * Create answers an operation that is RUNNING for `operationPolls` polls, then DONE; the cluster is
 * PROVISIONING until then (and `provisioningPolls` reads more), then RUNNING with an endpoint and a CA.
 */
export class FakeGke {
  readonly calls: GkeCall[] = [];
  readonly clusters = new Map<string, FakeCluster>();
  /** The next call (or `times` calls) of `method` fails with this status. */
  readonly failNext = new Map<string, { code: grpc.status; details: string; times?: number }>();
  /**
   * Methods whose calls are received and never answered (a black-holed API); each such call is listed in
   * `cancelled` once its client cancels it, which is how a test sees the abort reach the server.
   */
  readonly hang = new Set<string>();
  readonly cancelled: string[] = [];
  /** The next create operation ends DONE with this error. */
  operationError: { code: number; message: string } | undefined;
  private readonly operations = new Map<string, FakeOperation>();
  private readonly provisioningLeft = new Map<string, number>();
  private server: grpc.Server | undefined;
  private sequence = 0;
  endpoint = "";

  constructor(private readonly options: FakeGkeOptions = {}) {}

  async start(): Promise<this> {
    const definition = protoLoader.loadSync("google/container/v1/cluster_service.proto", {
      includeDirs: [
        path.join(MODULES, "@google-cloud/container/build/protos"),
        path.join(MODULES, "google-gax/build/protos"),
      ],
      enums: String,
      longs: Number,
      defaults: false,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      google: { container: { v1: { ClusterManager: { service: grpc.ServiceDefinition } } } };
    };
    const server = new grpc.Server();
    server.addService(loaded.google.container.v1.ClusterManager.service, {
      getCluster: this.handler("getCluster", (request) => this.getCluster(String(request.name))),
      createCluster: this.handler("createCluster", (request) => this.createCluster(request)),
      deleteCluster: this.handler("deleteCluster", (request) => this.deleteCluster(String(request.name))),
      getOperation: this.handler("getOperation", (request) => this.getOperation(String(request.name))),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.server = server;
    this.endpoint = `127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.tryShutdown(() => resolve()) : resolve(),
    );
  }

  mutatingCalls(): GkeCall[] {
    return this.calls.filter((call) => GKE_MUTATING.has(call.method));
  }

  /** A cluster that already exists and runs. */
  addRunningCluster(
    name: string,
    shape: { machineType: string; nodeCount: number; workloadPool: string },
  ): void {
    this.clusters.set(name, {
      name: name.split("/").pop()!,
      status: "RUNNING",
      endpoint: "203.0.113.10",
      masterAuth: { clusterCaCertificate: Buffer.from("fake ca").toString("base64") },
      nodePools: [
        {
          name: "default-pool",
          initialNodeCount: shape.nodeCount,
          config: { machineType: shape.machineType },
        },
      ],
      workloadIdentityConfig: { workloadPool: shape.workloadPool },
    });
  }

  private handler(method: string, body: (request: Record<string, unknown>) => unknown) {
    return (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      this.calls.push({ method, request: call.request });
      if (this.hang.has(method)) {
        call.on("cancelled", () => this.cancelled.push(method));
        return;
      }
      const failure = this.failNext.get(method);
      if (failure) {
        if ((failure.times ?? 1) <= 1) this.failNext.delete(method);
        else failure.times = (failure.times ?? 1) - 1;
        return callback({ code: failure.code, details: failure.details });
      }
      try {
        callback(null, body(call.request));
      } catch (error) {
        const { code, details } = error as StatusError;
        callback({ code, details });
      }
    };
  }

  private getCluster(name: string): FakeCluster {
    const cluster = this.clusters.get(name);
    if (!cluster) throw notFound(`Not found: ${name}.`);
    const left = this.provisioningLeft.get(name);
    if (cluster.status === "PROVISIONING" && left !== undefined) {
      if (left <= 0) this.becomeRunning(cluster, name);
      else this.provisioningLeft.set(name, left - 1);
    }
    return cluster;
  }

  private createCluster(request: Record<string, unknown>) {
    const cluster = request.cluster as FakeCluster;
    const name = `${String(request.parent)}/clusters/${cluster.name}`;
    if (this.clusters.has(name)) throw status(grpc.status.ALREADY_EXISTS, `Already exists: ${name}.`);
    this.clusters.set(name, { ...cluster, status: "PROVISIONING" });
    const error = this.operationError;
    this.operationError = undefined;
    return this.operation(String(request.parent), "CREATE_CLUSTER", error, () => {
      const created = this.clusters.get(name);
      if (!created) return;
      if (error) {
        created.status = "ERROR";
        created.statusMessage = error.message;
      } else {
        this.provisioningLeft.set(name, this.options.provisioningPolls ?? 1);
      }
    });
  }

  private deleteCluster(name: string) {
    const cluster = this.clusters.get(name);
    if (!cluster) throw notFound(`Not found: ${name}.`);
    cluster.status = "STOPPING";
    return this.operation(name.replace(/\/clusters\/[^/]+$/, ""), "DELETE_CLUSTER", undefined, () =>
      this.clusters.delete(name),
    );
  }

  private getOperation(name: string) {
    const operation = this.operations.get(name.split("/").pop()!);
    if (!operation) throw notFound(`Not found: ${name}.`);
    if (operation.status === "RUNNING") {
      if (operation.pollsLeft <= 0) {
        operation.status = "DONE";
        operation.onDone();
      } else {
        operation.pollsLeft -= 1;
      }
    }
    return this.wire(operation);
  }

  private operation(parent: string, type: string, error: FakeOperation["error"], onDone: () => void) {
    const id = `operation-${++this.sequence}`;
    const location = parent.split("/")[3] ?? "";
    const operation: FakeOperation = {
      name: id,
      operationType: type,
      status: "RUNNING",
      pollsLeft: this.options.operationPolls ?? 1,
      ...(error ? { error } : {}),
      onDone,
    };
    this.operations.set(id, operation);
    return { ...this.wire(operation), location };
  }

  private wire(operation: FakeOperation) {
    return {
      name: operation.name,
      operationType: operation.operationType,
      status: operation.status,
      ...(operation.status === "DONE" && operation.error ? { error: operation.error } : {}),
    };
  }

  private becomeRunning(cluster: FakeCluster, name: string): void {
    cluster.status = "RUNNING";
    cluster.endpoint = `203.0.113.${10 + this.sequence}`;
    cluster.masterAuth = { clusterCaCertificate: Buffer.from(`ca of ${name}`).toString("base64") };
    this.provisioningLeft.delete(name);
  }
}

/** What a handler throws to answer with a gRPC status; grpc-js sends `code` and `details`. */
class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

function status(code: grpc.status, details: string): StatusError {
  return new StatusError(code, details);
}

function notFound(details: string): StatusError {
  return status(grpc.status.NOT_FOUND, details);
}
