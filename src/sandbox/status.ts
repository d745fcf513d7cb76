import type { JsonObject } from "./json.js";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A failed request, carried as the `Status` object the real API server would send. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    // An internal error of the real server carries no reason at all.
    if (this.reason === "") delete status["reason"];
    if (this.details) {
      // Like the real server, empty fields (the core group's "") are left out.
      const details = Object.fromEntries(
        Object.entries(this.details).filter(([, v]) => v !== "" && v !== undefined),
      );
      status["details"] = details;
    }
    return status;
  }
}

/** The name a resource goes by in messages: `configmaps`, `deployments.apps`. */
export interface QualifiedResource {
  group: string;
  plural: string;
}

function qualified(resource: QualifiedResource): string {
  return resource.group === "" ? resource.plural : `${resource.plural}.${resource.group}`;
}

export function notFound(resource: QualifiedResource, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualified(resource)} "${name}" not found`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export function alreadyExists(resource: QualifiedResource, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualified(resource)} "${name}" already exists`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export function conflict(resource: QualifiedResource, name: string, why: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(resource)} "${name}": ${why}`,
    {
      name,
      group: resource.group,
      kind: resource.plural,
    },
  );
}

export const STALE_OBJECT =
  "the object has been modified; please apply your changes to the latest version and try again";

export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  // Like the real server's aggregate error, a cause reported twice is said once.
  const described = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)))];
  const list = described.length === 1 ? (described[0] ?? "") : `[${described.join(", ")}]`;
  const what = group === "" ? kind : `${kind}.${group}`;
  return new ApiError(422, "Invalid", `${what} "${name}" is invalid: ${list}`, { name, group, kind, causes });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

export function forbidden(resource: QualifiedResource, name: string, why: string): ApiError {
  return new ApiError(403, "Forbidden", `${qualified(resource)} "${name}" is forbidden: ${why}`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource`,
    {
      kind: method,
    },
  );
}

export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource");
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
  );
}

export function gone(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}
