import type { GoogleAuth } from "google-auth-library";
import { apiError, credentialsError, isCredentialsError, type CallInfo } from "./errors.js";
import { featureName, membershipResource } from "./hub.js";
import type {
  HubOperation,
  HubPort,
  Membership,
  MembershipMeshState,
  MeshFeature,
  MeshStateDetail,
} from "./port.js";

export interface HubClientOptions {
  /** `http://127.0.0.1:PORT`: a local server, called without credentials (tests). Default: `$CLUSTERSHIFT_GKEHUB_ENDPOINT`. */
  endpoint?: string;
}

interface Reply {
  status: number;
  data: unknown;
}

type Send = (method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown) => Promise<Reply>;

const BASE_URL = "https://gkehub.googleapis.com";

/** GKE Hub v1 over REST; `@google-cloud/gke-hub` is not available, so calls go through google-auth-library. */
export function createHubClient(options: HubClientOptions = {}): HubPort {
  const endpoint = options.endpoint ?? process.env.CLUSTERSHIFT_GKEHUB_ENDPOINT;
  const send = endpoint ? plainSend(endpoint.replace(/\/+$/, "")) : authorizedSend();

  async function request(
    info: CallInfo,
    method: Parameters<Send>[0],
    path: string,
    body?: unknown,
  ): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await send(method, `/v1/${path}`, body);
    } catch (error) {
      if (isCredentialsError(error)) throw credentialsError(info, error);
      throw error;
    }
    if (reply.status < 300 || (reply.status === 404 && method !== "POST" && method !== "PATCH")) return reply;
    const error = record(record(reply.data).error);
    throw apiError(info, {
      code: str(error.status) ?? `HTTP ${reply.status}`,
      message: str(error.message) ?? JSON.stringify(reply.data),
      cause: reply.data,
    });
  }

  return {
    async getMembership(name) {
      const reply = await request(
        info(name, "read membership", "gkehub.memberships.get", "roles/gkehub.viewer"),
        "GET",
        name,
      );
      return reply.status === 404 ? undefined : toMembership(reply.data);
    },

    async createMembership(name, cluster) {
      const { collection, id } = splitName(name);
      const body = membershipResource(cluster);
      const call = info(name, "register membership", "gkehub.memberships.create", "roles/gkehub.admin");
      return toOperation(
        (await request(call, "POST", `${collection}?membershipId=${encodeURIComponent(id)}`, body)).data,
      );
    },

    async deleteMembership(name) {
      const call = info(name, "delete membership", "gkehub.memberships.delete", "roles/gkehub.admin");
      const reply = await request(call, "DELETE", name);
      return reply.status === 404 ? undefined : toOperation(reply.data);
    },

    async getFeature(project) {
      const name = featureName(project);
      const reply = await request(
        info(name, "read feature", "gkehub.features.get", "roles/gkehub.viewer"),
        "GET",
        name,
      );
      return reply.status === 404 ? undefined : toFeature(reply.data);
    },

    async enableFeature(project) {
      const { collection, id } = splitName(featureName(project));
      const call = info(
        featureName(project),
        "enable feature",
        "gkehub.features.create",
        "roles/gkehub.admin",
      );
      return toOperation((await request(call, "POST", `${collection}?featureId=${id}`, {})).data);
    },

    async disableFeature(project) {
      const name = featureName(project);
      const reply = await request(
        info(name, "disable feature", "gkehub.features.delete", "roles/gkehub.admin"),
        "DELETE",
        name,
      );
      return reply.status === 404 ? undefined : toOperation(reply.data);
    },

    async updateMembershipSpecs(project, specs) {
      const name = featureName(project);
      const call = info(
        name,
        "update membership specs of feature",
        "gkehub.features.update",
        "roles/gkehub.admin",
      );
      return toOperation(
        (await request(call, "PATCH", `${name}?updateMask=membershipSpecs`, { membershipSpecs: specs })).data,
      );
    },

    async getOperation(name) {
      return toOperation(
        (
          await request(
            info(name, "read operation", "gkehub.operations.get", "roles/gkehub.viewer"),
            "GET",
            name,
          )
        ).data,
      );
    },
  };
}

function authorizedSend(): Send {
  let auth: Promise<GoogleAuth> | undefined;
  return async (method, path, body) => {
    auth ??= import("google-auth-library").then(
      ({ GoogleAuth }) => new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }),
    );
    const response = await (
      await auth
    ).request({
      url: `${BASE_URL}${path}`,
      method,
      ...(body === undefined ? {} : { data: body }),
      responseType: "json",
      validateStatus: () => true,
    });
    return { status: response.status, data: response.data };
  };
}

function plainSend(base: string): Send {
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, data: text ? (JSON.parse(text) as unknown) : {} };
  };
}

function info(name: string, verb: string, permission: string, role: string): CallInfo {
  const project = /^projects\/([^/]+)/.exec(name)?.[1] ?? "-";
  return { what: `${verb} ${name}`, project, permission, role, service: "gkehub.googleapis.com" };
}

/** `projects/P/locations/L/memberships/M` → the collection to POST to, and the id to create. */
function splitName(name: string): { collection: string; id: string } {
  const cut = name.lastIndexOf("/");
  return { collection: name.slice(0, cut), id: name.slice(cut + 1) };
}

function toOperation(data: unknown): HubOperation {
  const op = record(data);
  const error = record(op.error);
  const message = str(error.message) ?? (Object.keys(error).length ? JSON.stringify(error) : undefined);
  return { name: str(op.name) ?? "", done: op.done === true, ...(message ? { error: message } : {}) };
}

function toMembership(data: unknown): Membership {
  const m = record(data);
  const resourceLink = str(record(record(m.endpoint).gkeCluster).resourceLink);
  const state = str(record(m.state).code);
  return { name: str(m.name) ?? "", ...(resourceLink ? { resourceLink } : {}), ...(state ? { state } : {}) };
}

function toFeature(data: unknown): MeshFeature {
  const f = record(data);
  const state = str(record(f.resourceState).state);
  const specs: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(record(f.membershipSpecs))) specs[key] = record(value);
  const states: Record<string, MembershipMeshState> = {};
  for (const [key, value] of Object.entries(record(f.membershipStates)))
    states[key] = toMeshState(record(value));
  return { name: str(f.name) ?? "", ...(state ? { state } : {}), specs, states };
}

function toMeshState(value: Record<string, unknown>): MembershipMeshState {
  const controlPlane = record(record(value.servicemesh).controlPlaneManagement);
  const state = record(value.state);
  const details: MeshStateDetail[] = (Array.isArray(controlPlane.details) ? controlPlane.details : []).map(
    (d) => {
      const detail = record(d);
      const code = str(detail.code);
      const text = str(detail.details);
      return { ...(code ? { code } : {}), ...(text ? { details: text } : {}) };
    },
  );
  const cp = str(controlPlane.state);
  const code = str(state.code);
  const description = str(state.description);
  return {
    ...(cp ? { controlPlane: cp } : {}),
    controlPlaneDetails: details,
    ...(code ? { code } : {}),
    ...(description ? { description } : {}),
  };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}
