import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import type {
  ClusterApi,
  DeleteOptions,
  DeleteResult,
  ListOptions,
  PatchType,
  PropagationPolicy,
  WriteOptions,
} from "./api.js";
import {
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiGroupVersion,
  openApiRoot,
  toTable,
  versionInfo,
  type IncludeObject,
} from "./discovery.js";
import { duplicateFields, isObject, objectAt, stringAt, type Json, type JsonObject } from "./json.js";
import { groupVersion, resourceKey, type ResourceType } from "./resources.js";
import { decodeProtobuf } from "./protobuf.js";
import { matchesSelectors, parseFieldSelector, parseLabelSelector, type Selectors } from "./selectors.js";
import {
  ApiError,
  badRequest,
  gone,
  invalid,
  methodNotAllowed,
  pathNotFound,
  unsupportedMediaType,
} from "./status.js";
import { jsonPatch, mergePatch } from "./patch.js";
import { ACCESS_REVIEW_PATH, answerAccessReview } from "./access-review.js";
import type { StoreEvent } from "./store.js";

const JSON_TYPE = "application/json";

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const apiError =
    error instanceof ApiError
      ? error
      : new ApiError(
          500,
          "InternalError",
          `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`,
        );
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, apiError.code, apiError.toStatus(), headers);
}

export function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ApiError(413, "RequestEntityTooLarge", "the request body is too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** JSON, or YAML for apply patches and YAML content types. */
export function parseBody(raw: Buffer, contentType: string): Json | undefined {
  if (raw.length > 0 && contentType.includes("application/vnd.kubernetes.protobuf"))
    return decodeProtobuf(raw, contentType);
  if (raw.length > 0 && /protobuf|cbor/.test(contentType)) throw unsupportedMediaType(contentType);
  const text = raw.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch (jsonError) {
    if (!contentType.includes("yaml")) {
      throw badRequest(
        `error decoding request body: ${jsonError instanceof Error ? jsonError.message : String(jsonError)}`,
      );
    }
  }
  try {
    return parseYaml(text) as Json;
  } catch (yamlError) {
    throw badRequest(
      `error decoding YAML: ${yamlError instanceof Error ? yamlError.message : String(yamlError)}`,
    );
  }
}

interface ResourcePath {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  watch: boolean;
}

type Route =
  | { kind: "document"; body: JsonObject }
  | { kind: "resource"; path: ResourcePath }
  | { kind: "text"; body: string };

function route(api: ClusterApi, segments: string[], serverAddress: string): Route {
  const [root, a, b, ...rest] = segments;
  const doc = (body: JsonObject | undefined): Route => {
    if (!body) throw pathNotFound();
    return { kind: "document", body };
  };
  if (segments.length === 1 && root === "version") return doc(versionInfo());
  if (segments.length === 1 && (root === "healthz" || root === "readyz" || root === "livez"))
    return { kind: "text", body: "ok" };
  if (root === "openapi" && a === "v3") {
    if (segments.length === 2) return doc(openApiRoot(api.registry));
    return doc(openApiGroupVersion(api.registry, segments.slice(2).join("/")));
  }
  if (root === "api") {
    if (a === undefined) return doc(apiVersions(serverAddress));
    if (b === undefined) return doc(apiResourceList(api.registry, "", a));
    return { kind: "resource", path: resourcePath(api, "", a, [b, ...rest]) };
  }
  if (root === "apis") {
    if (a === undefined) return doc(apiGroupList(api.registry));
    if (b === undefined) return doc(apiGroupDoc(api.registry, a));
    if (rest.length === 0) return doc(apiResourceList(api.registry, a, b));
    return { kind: "resource", path: resourcePath(api, a, b, rest) };
  }
  throw pathNotFound();
}

function resourcePath(api: ClusterApi, group: string, version: string, segments: string[]): ResourcePath {
  let rest = segments;
  const watch = rest[0] === "watch";
  if (watch) rest = rest.slice(1);
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    api.registry.forPath(group, version, rest[2] ?? "")?.namespaced
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = "", name, subresource, ...extra] = rest;
  const type = api.registry.forPath(group, version, plural);
  if (!type || extra.length > 0) throw pathNotFound();
  if (type.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
  const served =
    (subresource === "status" && type.statusSubresource) ||
    (subresource === "scale" && type.scaleSubresource === true);
  if (subresource !== undefined && (!served || name === undefined)) throw pathNotFound();
  return { type, version, namespace, name, subresource, watch };
}

function present(type: ResourceType, version: string, object: JsonObject): JsonObject {
  return { ...object, apiVersion: groupVersion(type.group, version), kind: type.kind };
}

/** Items of built-in lists carry no apiVersion/kind on the real server; custom resources' do. */
function presentItem(type: ResourceType, version: string, object: JsonObject): JsonObject {
  if (type.crd !== undefined) return present(type, version, object);
  const { apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

function tableRequest(req: IncomingMessage, query: URLSearchParams): IncludeObject | undefined {
  const accept = req.headers.accept ?? "";
  if (!/as=Table/.test(accept)) return undefined;
  const include = query.get("includeObject");
  return include === "None" || include === "Object" ? include : "Metadata";
}

function crdOf(api: ClusterApi, type: ResourceType): JsonObject | undefined {
  return type.crd === undefined
    ? undefined
    : api.store.get(resourceKey("apiextensions.k8s.io", "customresourcedefinitions"), "", type.crd);
}

function patchType(contentType: string): PatchType {
  switch ((contentType.split(";")[0] ?? "").trim()) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
      return "apply";
    default:
      throw unsupportedMediaType(contentType);
  }
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === "true" || value === "1";
}

function listOptions(query: URLSearchParams): ListOptions {
  const limit = query.get("limit");
  return {
    labelSelector: query.get("labelSelector") ?? undefined,
    fieldSelector: query.get("fieldSelector") ?? undefined,
    limit: limit ? Number(limit) : undefined,
    continue: query.get("continue") ?? undefined,
  };
}

function warningHeaders(warnings: string[]): Record<string, string> {
  return warnings.length > 0 ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") } : {};
}

/** Serves one request to the Kubernetes API paths of a cluster. */
export async function handleKubernetes(
  api: ClusterApi,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  serverAddress: string,
  watches: Set<ServerResponse>,
): Promise<void> {
  const segments = url.pathname
    .split("/")
    .filter((s) => s !== "")
    .map((s) => decodeURIComponent(s));
  const method = req.method ?? "GET";
  if (url.pathname === ACCESS_REVIEW_PATH && method === "POST") {
    sendJson(
      res,
      201,
      answerAccessReview(parseBody(await readBody(req), req.headers["content-type"] ?? JSON_TYPE)),
    );
    return;
  }
  const target = route(api, segments, serverAddress);
  if (target.kind !== "resource") {
    if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method);
    if (target.kind === "text") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(target.body);
    } else {
      sendJson(res, 200, target.body);
    }
    return;
  }
  const { type, version, namespace, name, subresource } = target.path;
  const query = url.searchParams;
  const contentType = req.headers["content-type"] ?? JSON_TYPE;
  const raw = method === "GET" ? Buffer.alloc(0) : await readBody(req);
  const body = parseBody(raw, contentType);
  // Only a whole object's body (create, replace) is decoded strictly into the kind: a patch is a document of its own.
  const json =
    raw.length > 0 && (method === "POST" || method === "PUT") && !/yaml|protobuf/.test(contentType);
  const writeOptions: WriteOptions = {
    duplicates: json ? duplicateFields(raw.toString("utf8")) : [],
    version,
    fieldManager: query.get("fieldManager") ?? undefined,
    userAgent: req.headers["user-agent"],
    force: flag(query, "force"),
    dryRun: query.getAll("dryRun").includes("All"),
    fieldValidation: query.get("fieldValidation") ?? undefined,
    subresource: subresource === "status" ? "status" : undefined,
  };
  const ns = namespace ?? "";
  const table = tableRequest(req, query);
  if (subresource === "scale" && name !== undefined) {
    serveScale(api, type, ns, name, method, body, contentType, writeOptions, res);
    return;
  }

  switch (method) {
    case "GET": {
      if (name !== undefined) {
        const object = present(type, version, api.get(type, ns, name));
        sendJson(
          res,
          200,
          table
            ? toTable(type, [object], String(api.store.resourceVersion), table, crdOf(api, type), version)
            : object,
        );
        return;
      }
      if (target.path.watch || flag(query, "watch")) {
        serveWatch(api, type, version, namespace, query, req, res, table, watches);
        return;
      }
      const result = api.list(type, namespace, listOptions(query));
      if (table) {
        const objects = result.items.map((o) => present(type, version, o));
        const doc = toTable(type, objects, result.resourceVersion, table, crdOf(api, type), version);
        if (result.continue) (doc["metadata"] as JsonObject)["continue"] = result.continue;
        sendJson(res, 200, doc);
        return;
      }
      const metadata: JsonObject = { resourceVersion: result.resourceVersion };
      if (result.continue) metadata["continue"] = result.continue;
      if (result.remainingItemCount !== undefined) metadata["remainingItemCount"] = result.remainingItemCount;
      sendJson(res, 200, {
        kind: type.listKind,
        apiVersion: groupVersion(type.group, version),
        metadata,
        items: result.items.map((o) => presentItem(type, version, o)),
      });
      return;
    }
    case "POST": {
      if (name !== undefined || (type.namespaced && namespace === undefined)) throw methodNotAllowed(method);
      if (body === undefined) throw badRequest("the request body is empty");
      const result = api.create(type, ns, body, writeOptions);
      sendJson(res, 201, present(type, version, result.object), warningHeaders(result.warnings));
      return;
    }
    case "PUT": {
      if (name === undefined) throw methodNotAllowed(method);
      if (body === undefined) throw badRequest("the request body is empty");
      const result = api.update(type, ns, name, body, writeOptions);
      sendJson(res, 200, present(type, version, result.object), warningHeaders(result.warnings));
      return;
    }
    case "PATCH": {
      if (name === undefined) throw methodNotAllowed(method);
      if (body === undefined) throw badRequest("the request body is empty");
      const result = api.patch(type, ns, name, patchType(contentType), body, writeOptions);
      sendJson(
        res,
        result.created ? 201 : 200,
        present(type, version, result.object),
        warningHeaders(result.warnings),
      );
      return;
    }
    case "DELETE": {
      const options = isObject(body) ? body : {};
      const dryRun =
        writeOptions.dryRun === true ||
        (Array.isArray(options["dryRun"]) && options["dryRun"].includes("All"));
      const preconditions = objectAt(options, "preconditions");
      const deleteOptions: DeleteOptions = {
        dryRun,
        propagationPolicy: propagationPolicy(query, options),
        preconditions: {
          uid: stringAt(preconditions, "uid"),
          resourceVersion: stringAt(preconditions, "resourceVersion"),
        },
      };
      if (name === undefined) {
        const deleted = api.deleteCollection(type, namespace, listOptions(query), deleteOptions);
        sendJson(res, 200, {
          kind: type.listKind,
          apiVersion: groupVersion(type.group, version),
          metadata: { resourceVersion: String(api.store.resourceVersion) },
          items: deleted.map((o) => presentItem(type, version, o)),
        });
        return;
      }
      sendJson(res, 200, deleteResponse(type, version, api.delete(type, ns, name, deleteOptions)));
      return;
    }
    default:
      throw methodNotAllowed(method);
  }
}

function toScale(object: JsonObject): JsonObject {
  const metadata = objectAt(object, "metadata") ?? {};
  const spec = objectAt(object, "spec") ?? {};
  const matchLabels = objectAt(objectAt(spec, "selector") ?? {}, "matchLabels") ?? {};
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: metadata["name"] ?? null,
      namespace: metadata["namespace"] ?? null,
      uid: metadata["uid"] ?? null,
      resourceVersion: metadata["resourceVersion"] ?? null,
      creationTimestamp: metadata["creationTimestamp"] ?? null,
    },
    spec: { replicas: typeof spec["replicas"] === "number" ? spec["replicas"] : 1 },
    status: {
      replicas: Number(objectAt(object, "status")?.["replicas"] ?? 0),
      selector: Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : ""}`)
        .join(","),
    },
  };
}

/** `/scale`: an autoscaling/v1 Scale view of spec.replicas, what `kubectl scale` and HPAs use. */
function serveScale(
  api: ClusterApi,
  type: ResourceType,
  namespace: string,
  name: string,
  method: string,
  body: Json | undefined,
  contentType: string,
  options: WriteOptions,
  res: ServerResponse,
): void {
  const current = toScale(api.get(type, namespace, name));
  if (method === "GET") {
    sendJson(res, 200, current);
    return;
  }
  if (body === undefined) throw badRequest("the request body is empty");
  let wanted: Json;
  if (method === "PUT") wanted = body;
  else if (method === "PATCH")
    wanted = patchType(contentType) === "json" ? jsonPatch(current, body) : mergePatch(current, body);
  else throw methodNotAllowed(method);
  const replicas = isObject(wanted) ? objectAt(wanted, "spec")?.["replicas"] : undefined;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid("Scale", "autoscaling", name, [
      {
        reason: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
      },
    ]);
  }
  const rv = isObject(wanted) ? stringAt(objectAt(wanted, "metadata"), "resourceVersion") : undefined;
  const result = api.patch(
    type,
    namespace,
    name,
    "merge",
    { metadata: rv ? { resourceVersion: rv } : {}, spec: { replicas } },
    options,
  );
  sendJson(res, 200, toScale(result.object));
}

/** `propagationPolicy` of the query or of the DeleteOptions body; `orphanDependents` is its old spelling. */
function propagationPolicy(query: URLSearchParams, options: JsonObject): PropagationPolicy | undefined {
  const value = query.get("propagationPolicy") ?? stringAt(options, "propagationPolicy");
  if (value === undefined || value === null) {
    const orphan = query.get("orphanDependents") ?? options["orphanDependents"];
    if (orphan === true || orphan === "true") return "Orphan";
    if (orphan === false || orphan === "false") return "Background";
    return undefined;
  }
  if (value === "Background" || value === "Foreground" || value === "Orphan") return value;
  throw invalid("DeleteOptions", "", "", [
    {
      reason: "FieldValueNotSupported",
      field: "propagationPolicy",
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
    },
  ]);
}

/**
 * An object deleted at once answers with a Success Status; one that waits for finalizers (and a Terminating
 * namespace, and a CRD) with the object itself.
 */
function deleteResponse(type: ResourceType, version: string, result: DeleteResult): JsonObject {
  const deleted = result.object;
  const metadata = objectAt(deleted, "metadata") ?? {};
  if (!result.deleted || type.kind === "Namespace" || type.kind === "CustomResourceDefinition")
    return present(type, version, deleted);
  const details: JsonObject = { name: stringAt(metadata, "name") ?? "" };
  // Like the real server's Status, the core group's empty name is left out.
  if (type.group !== "") details["group"] = type.group;
  details["kind"] = type.plural;
  details["uid"] = stringAt(metadata, "uid") ?? "";
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
}

function serveWatch(
  api: ClusterApi,
  type: ResourceType,
  version: string,
  namespace: string | undefined,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  table: IncludeObject | undefined,
  watches: Set<ServerResponse>,
): void {
  const selectors: Selectors = {
    labels: parseLabelSelector(query.get("labelSelector") ?? ""),
    fields: parseFieldSelector(query.get("fieldSelector") ?? "", type.kind),
  };
  const key = resourceKey(type.group, type.plural);
  const crd = crdOf(api, type);
  const requested = query.get("resourceVersion") ?? "";
  let replay: StoreEvent[] | undefined = [];
  if (requested !== "" && requested !== "0") {
    if (!/^\d+$/.test(requested)) throw badRequest(`invalid resource version: ${requested}`);
    replay = api.store.eventsSince(Number(requested));
  }

  res.writeHead(200, {
    "Content-Type": JSON_TYPE,
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  const send = (eventType: string, object: JsonObject): void => {
    const presented = present(type, version, object);
    const payload = table
      ? toTable(type, [presented], String(api.store.resourceVersion), table, crd, version)
      : presented;
    res.write(`${JSON.stringify({ type: eventType, object: payload })}\n`);
  };
  const matches = (object: JsonObject | undefined): boolean =>
    object !== undefined && matchesSelectors(selectors, object);
  const onEvent = (event: StoreEvent): void => {
    if (event.key !== key || (namespace !== undefined && event.namespace !== namespace)) return;
    const now = matches(event.object);
    if (event.type !== "MODIFIED") {
      if (now) send(event.type, event.object);
      return;
    }
    const before = matches(event.previous);
    if (now && before) send("MODIFIED", event.object);
    else if (now) send("ADDED", event.object);
    else if (before) send("DELETED", event.object);
  };

  if (replay === undefined) {
    const status = gone(`too old resource version: ${requested} (${api.store.resourceVersion})`).toStatus();
    res.end(`${JSON.stringify({ type: "ERROR", object: status })}\n`);
    return;
  }
  if (requested === "" || requested === "0") {
    for (const object of api.store.list(key, type.namespaced ? namespace : undefined)) {
      if (matches(object)) send("ADDED", object);
    }
  } else {
    for (const event of replay) onEvent(event);
  }
  const unsubscribe = api.store.subscribe(onEvent);
  watches.add(res);
  const timeout = Number(query.get("timeoutSeconds") ?? 0);
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  timer?.unref();
  const close = (): void => {
    unsubscribe();
    watches.delete(res);
    if (timer) clearTimeout(timer);
  };
  res.on("close", close);
  req.on("close", close);
}
