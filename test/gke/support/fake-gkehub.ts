import http from "node:http";
import { listenOnLoopback } from "../../support/net.js";

export interface HubCall {
  method: string;
  /** Path with query, e.g. `/v1/projects/p/locations/global/memberships?membershipId=c`. */
  path: string;
  body?: unknown;
  /** Set when a fault met the request: `503 UNAVAILABLE`, `dropped before`, `dropped after`. */
  fault?: string;
}

/**
 * What the first request matching `match` (a prefix of `METHOD path`; default any) meets: an error answer
 * instead of being served, or a connection closed without an answer, before it was served or after (its
 * effect stays, as when a reply is lost on the way back).
 */
export type HubFault = { match?: string } & (
  | { status: number; code: string; message?: string; retryAfter?: string }
  | { drop: "before" | "after" }
  /** Received and never answered (a black-holed API); `hungUp` lists it once the client closes the connection. */
  | { hang: true }
);

export interface FakeHubOptions {
  /** The project number that `membershipSpecs`/`membershipStates` keys use. */
  projectNumber?: string;
  /** operations.get calls that answer `done: false` (default 1). */
  operationPolls?: number;
  /** controlPlaneManagement states a GET of the feature walks through once management is automatic. */
  controlPlane?: { state: string; details?: { code: string; details: string }[] }[];
}

interface Operation {
  name: string;
  pollsLeft: number;
  onDone: () => void;
  done: boolean;
}

/**
 * A GKE Hub v1 REST server in memory: memberships, the `servicemesh` feature with per-membership specs and
 * states keyed by project number, and long-running operations that finish after `operationPolls` polls.
 * Spec maps merge on PATCH (`updateMask=membershipSpecs`), and an empty spec removes its key.
 */
export class FakeHub {
  readonly calls: HubCall[] = [];
  readonly memberships = new Map<string, Record<string, unknown>>();
  /** Features by project id. */
  readonly features = new Map<string, { specs: Record<string, unknown>; stateIndex: Map<string, number> }>();
  /** Faults still to happen, each to the first request it matches, in order. */
  readonly faults: HubFault[] = [];
  /** `METHOD path` of hanging requests whose client closed the connection (an aborted call). */
  readonly hungUp: string[] = [];
  private readonly operations = new Map<string, Operation>();
  private server: http.Server | undefined;
  private sequence = 0;
  endpoint = "";

  constructor(private readonly options: FakeHubOptions = {}) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (chunk: Buffer) => (text += chunk.toString()));
      req.on("end", () => {
        const body: unknown = text ? JSON.parse(text) : undefined;
        const [method, url] = [req.method ?? "", req.url ?? ""];
        const fault = this.takeFault(`${method} ${url}`);
        this.calls.push({
          method,
          path: url,
          ...(body === undefined ? {} : { body }),
          ...(fault
            ? {
                fault:
                  "hang" in fault
                    ? "hang"
                    : "drop" in fault
                      ? `dropped ${fault.drop}`
                      : `${fault.status} ${fault.code}`,
              }
            : {}),
        });
        if (fault && "hang" in fault) {
          req.socket.on("close", () => this.hungUp.push(`${method} ${url}`));
          return;
        }
        if (fault && "status" in fault) {
          const { status, code, message = `${code} (injected)`, retryAfter } = fault;
          res.writeHead(status, {
            "content-type": "application/json",
            ...(retryAfter === undefined ? {} : { "retry-after": retryAfter }),
          });
          res.end(JSON.stringify(error(status, code, message)[1]));
          return;
        }
        if (fault?.drop === "before") return void req.socket.destroy();
        const [status, payload] = this.route(method, url, body);
        if (fault?.drop === "after") return void req.socket.destroy();
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      });
    });
    this.endpoint = `http://127.0.0.1:${await listenOnLoopback(this.server)}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  mutatingCalls(): HubCall[] {
    return this.calls.filter((call) => call.method !== "GET");
  }

  private get projectNumber(): string {
    return this.options.projectNumber ?? "123456789012";
  }

  private takeFault(request: string): HubFault | undefined {
    const index = this.faults.findIndex((fault) => request.startsWith(fault.match ?? ""));
    return index < 0 ? undefined : this.faults.splice(index, 1)[0];
  }

  private route(method: string, url: string, body: unknown): [number, unknown] {
    const { pathname, searchParams } = new URL(url, "http://hub");
    const path = pathname.replace(/^\/v1\//, "");
    let match: RegExpExecArray | null;
    if ((match = /^(projects\/[^/]+\/locations\/[^/]+\/operations\/[^/]+)$/.exec(path)) && method === "GET") {
      return this.pollOperation(match[1]!);
    }
    if ((match = /^projects\/([^/]+)\/locations\/([^/]+)\/memberships$/.exec(path)) && method === "POST") {
      const name = `${path}/${searchParams.get("membershipId")}`;
      if (this.memberships.has(name))
        return error(409, "ALREADY_EXISTS", `Membership ${name} already exists`);
      this.memberships.set(name, { name, ...(body as object), state: { code: "CREATING" } });
      return this.startOperation(match[1]!, () => (this.memberships.get(name)!.state = { code: "READY" }));
    }
    if ((match = /^projects\/([^/]+)\/locations\/[^/]+\/memberships\/[^/]+$/.exec(path))) {
      const membership = this.memberships.get(path);
      if (!membership) return error(404, "NOT_FOUND", `Resource '${path}' was not found`);
      if (method === "GET") return [200, membership];
      if (method === "DELETE") return this.startOperation(match[1]!, () => this.memberships.delete(path));
    }
    if ((match = /^projects\/([^/]+)\/locations\/global\/features$/.exec(path)) && method === "POST") {
      const project = match[1]!;
      if (this.features.has(project))
        return error(409, "ALREADY_EXISTS", "Feature servicemesh already exists");
      this.features.set(project, { specs: {}, stateIndex: new Map() });
      return this.startOperation(project, () => undefined);
    }
    if ((match = /^projects\/([^/]+)\/locations\/global\/features\/servicemesh$/.exec(path))) {
      const project = match[1]!;
      const feature = this.features.get(project);
      if (!feature) return error(404, "NOT_FOUND", `Resource '${path}' was not found`);
      if (method === "GET") return [200, this.featureView(project, path)];
      if (method === "DELETE") return this.startOperation(project, () => this.features.delete(project));
      if (method === "PATCH" && searchParams.get("updateMask") === "membershipSpecs") {
        const specs = (body as { membershipSpecs: Record<string, Record<string, unknown>> }).membershipSpecs;
        return this.startOperation(project, () => {
          for (const [key, spec] of Object.entries(specs)) {
            const canonical = key.replace(/^projects\/[^/]+/, `projects/${this.projectNumber}`);
            if (Object.keys(spec).length === 0) delete feature.specs[canonical];
            else feature.specs[canonical] = spec;
          }
        });
      }
    }
    return error(404, "NOT_FOUND", `no route for ${method} ${url}`);
  }

  /** Each GET moves every automatic membership one state further along `controlPlane`. */
  private featureView(project: string, name: string) {
    const feature = this.features.get(project)!;
    const sequence = this.options.controlPlane ?? [{ state: "PROVISIONING" }, { state: "ACTIVE" }];
    const membershipStates: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(feature.specs)) {
      const automatic =
        (spec as { mesh?: { management?: string } }).mesh?.management === "MANAGEMENT_AUTOMATIC";
      const index = feature.stateIndex.get(key) ?? -1;
      const next = automatic ? Math.min(index + 1, sequence.length - 1) : -1;
      feature.stateIndex.set(key, next);
      const state = next >= 0 ? sequence[next]! : { state: "DISABLED" };
      membershipStates[key] = {
        servicemesh: { controlPlaneManagement: { state: state.state, details: state.details ?? [] } },
        state: { code: "OK" },
      };
    }
    return { name, resourceState: { state: "ACTIVE" }, membershipSpecs: feature.specs, membershipStates };
  }

  private startOperation(project: string, onDone: () => void): [number, unknown] {
    const name = `projects/${project}/locations/global/operations/operation-${++this.sequence}`;
    this.operations.set(name, { name, pollsLeft: this.options.operationPolls ?? 1, onDone, done: false });
    return [200, { name, done: false }];
  }

  private pollOperation(name: string): [number, unknown] {
    const operation = this.operations.get(name);
    if (!operation) return error(404, "NOT_FOUND", `operation ${name} not found`);
    if (!operation.done) {
      if (operation.pollsLeft <= 0) {
        operation.done = true;
        operation.onDone();
      } else {
        operation.pollsLeft -= 1;
      }
    }
    return [200, { name, done: operation.done, ...(operation.done ? { response: {} } : {}) }];
  }
}

function error(status: number, code: string, message: string): [number, unknown] {
  return [status, { error: { code: status, message, status: code } }];
}
