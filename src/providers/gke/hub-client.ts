import type { GoogleAuth } from "google-auth-library";
import { retryAfterMs } from "../backoff.js";
import { apiError, credentialsError, isCredentialsError, type CallInfo } from "./errors.js";
import { linksCluster, membershipResource } from "./hub.js";
import { featureName } from "./names.js";
import type {
  HubOperation,
  HubPort,
  Membership,
  MembershipMeshState,
  MeshFeature,
  MeshStateDetail,
} from "./port.js";
import {
  connectionFailure,
  retryPolicy,
  withRetries,
  type Outcome,
  type RetryOptions,
  type Transient,
} from "./retry.js";

export interface HubClientOptions {
  /** `http://127.0.0.1:PORT`: a local server, called without credentials (tests). Default: `$CLUSTERSHIFT_GKEHUB_ENDPOINT`. */
  endpoint?: string;
  /** Backoff of retried calls (default: {@link retryPolicy}). */
  retry?: RetryOptions;
  /**
   * The run's abort signal: once it fires no call (or retry) starts, and a GET in flight is aborted; a write in
   * flight goes on to its answer, so that what it did is journaled.
   */
  signal?: AbortSignal;
  /** The bound of one try (default {@link CALL_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** A black-holed endpoint fails a try within this. */
export const CALL_TIMEOUT_MS = 60_000;

interface Reply {
  status: number;
  data: unknown;
  /** The Retry-After header of a 429 or 503. */
  retryAfter?: string | null;
}

type Send = (
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  body: unknown,
  signal: AbortSignal,
) => Promise<Reply>;

const BASE_URL = "https://gkehub.googleapis.com";

/** GKE Hub v1 over REST; `@google-cloud/gke-hub` is not available, so calls go through google-auth-library. */
export function createHubClient(options: HubClientOptions = {}): HubPort {
  const endpoint = options.endpoint ?? process.env.CLUSTERSHIFT_GKEHUB_ENDPOINT;
  const send = endpoint ? plainSend(endpoint.replace(/\/+$/, "")) : authorizedSend();
  const policy = retryPolicy({ ...(options.signal ? { signal: options.signal } : {}), ...options.retry });
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;

  /**
   * The response body; undefined for a 404 when `missingOk` (a read or delete of something absent).
   * Every call here may be sent again: reads, PATCH of whole map entries and DELETE (404 = gone) are
   * idempotent, and a create names its id, so a second try meets ALREADY_EXISTS. When an earlier try may
   * have been carried out, `ours` decides whether what exists is what that try made: then the create is done.
   */
  async function request(
    info: CallInfo,
    method: Parameters<Send>[0],
    path: string,
    options: { body?: unknown; missingOk?: boolean; ours?: () => Promise<boolean> } = {},
  ): Promise<unknown> {
    let carriedOut = false;
    let reply: Reply;
    try {
      reply = await withRetries(
        () => {
          signal?.throwIfAborted();
          const timeout = AbortSignal.timeout(timeoutMs);
          // Only a read is aborted in flight: a write goes on to its answer, bounded by its timeout.
          const stop = method === "GET" && signal ? AbortSignal.any([signal, timeout]) : timeout;
          return send(method, `/v1/${path}`, options.body, stop);
        },
        (outcome) => {
          const retry = transient(outcome);
          carriedOut ||= retry?.carriedOut === true;
          return retry;
        },
        policy,
      );
    } catch (error) {
      // Stopped by the run's signal: the interrupt is what happened, not an API failure to explain.
      if (signal?.aborted && (error === signal.reason || method === "GET")) throw signal.reason;
      if (isCredentialsError(error)) throw credentialsError(info, error);
      if (isTimeout(error)) {
        throw apiError(info, {
          code: "DEADLINE_EXCEEDED",
          message: `no answer within ${Math.round(timeoutMs / 1000)}s`,
          cause: error,
        });
      }
      const lost = connectionFailure(error);
      if (!lost) throw error;
      const message = lost.message.includes(lost.code) ? lost.message : `${lost.code}: ${lost.message}`;
      throw apiError(info, { code: "UNAVAILABLE", message, cause: error });
    }
    if (reply.status < 300) return reply.data;
    if (reply.status === 404 && options.missingOk) return undefined;
    const error = record(record(reply.data).error);
    const code = str(error.status) ?? `HTTP ${reply.status}`;
    if (code === "ALREADY_EXISTS" && carriedOut && (await options.ours?.())) return { done: true };
    throw apiError(info, {
      code,
      message: str(error.message) ?? JSON.stringify(reply.data),
      cause: reply.data,
    });
  }

  const read = async <T>(info: CallInfo, path: string, convert: (data: unknown) => T) => {
    const data = await request(info, "GET", path, { missingOk: true });
    return data === undefined ? undefined : convert(data);
  };
  const remove = async (info: CallInfo, path: string) => {
    const data = await request(info, "DELETE", path, { missingOk: true });
    return data === undefined ? undefined : toOperation(data);
  };
  const admin = (name: string, verb: string, permission: string) =>
    callInfo(name, verb, permission, "roles/gkehub.admin");
  const viewer = (name: string, verb: string, permission: string) =>
    callInfo(name, verb, permission, "roles/gkehub.viewer");
  const getMembership = (name: string) =>
    read(viewer(name, "read membership", "gkehub.memberships.get"), name, toMembership);

  return {
    getMembership,

    async createMembership(name, cluster) {
      const { collection, id } = splitName(name);
      const call = admin(name, "register membership", "gkehub.memberships.create");
      const path = `${collection}?membershipId=${encodeURIComponent(id)}`;
      // A membership of this name for another cluster was not made by the lost try.
      const ours = async () => linksCluster((await getMembership(name))?.resourceLink, cluster);
      return toOperation(await request(call, "POST", path, { body: membershipResource(cluster), ours }));
    },

    deleteMembership: (name) => remove(admin(name, "delete membership", "gkehub.memberships.delete"), name),

    getFeature(project) {
      const name = featureName(project);
      return read(viewer(name, "read feature", "gkehub.features.get"), name, toFeature);
    },

    async enableFeature(project) {
      const name = featureName(project);
      const { collection, id } = splitName(name);
      const call = admin(name, "enable feature", "gkehub.features.create");
      // The feature has no settings of its own (specs are set later): any servicemesh feature is the one asked for.
      const ours = () => Promise.resolve(true);
      return toOperation(await request(call, "POST", `${collection}?featureId=${id}`, { body: {}, ours }));
    },

    disableFeature(project) {
      const name = featureName(project);
      return remove(admin(name, "disable feature", "gkehub.features.delete"), name);
    },

    async updateMembershipSpecs(project, specs) {
      const name = featureName(project);
      const call = admin(name, "update membership specs of feature", "gkehub.features.update");
      const path = `${name}?updateMask=membershipSpecs`;
      return toOperation(await request(call, "PATCH", path, { body: { membershipSpecs: specs } }));
    },

    async getOperation(name) {
      return toOperation(await request(viewer(name, "read operation", "gkehub.operations.get"), "GET", name));
    },
  };
}

function authorizedSend(): Send {
  let auth: Promise<GoogleAuth> | undefined;
  return async (method, path, body, signal) => {
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
      signal,
    });
    return { status: response.status, data: response.data, retryAfter: response.headers.get("retry-after") };
  };
}

function plainSend(base: string): Send {
  return async (method, path, body, signal) => {
    const response = await fetch(`${base}${path}`, {
      method,
      signal,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      data: parseBody(text),
      retryAfter: response.headers.get("retry-after"),
    };
  };
}

/** A proxy in front of the API may answer a 502 or 503 with HTML. */
function parseBody(text: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * Whether a try may pass later, and whether it may have been carried out although it failed: its answer was
 * lost, or a 5xx came from in front of a backend that went ahead. A 429 and a refused connection were not.
 */
function transient(outcome: Outcome<Reply>): (Transient & { carriedOut: boolean }) | undefined {
  if ("error" in outcome) {
    const code = connectionFailure(outcome.error)?.code;
    return code ? { carriedOut: code !== "ECONNREFUSED" && code !== "EAI_AGAIN" } : undefined;
  }
  const { status, retryAfter } = outcome.value;
  if (!RETRIED_STATUSES.has(status)) return undefined;
  const wait = retryAfterMs(retryAfter);
  return { carriedOut: status !== 429, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
}

function callInfo(name: string, verb: string, permission: string, role: string): CallInfo {
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

/** A try's own timeout fired (fetch and gaxios say so by the abort reason's name, somewhere in the causes). */
function isTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if ((current as { name?: unknown }).name === "TimeoutError") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
