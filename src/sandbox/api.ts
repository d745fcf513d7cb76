import { randomUUID } from "node:crypto";
import { ServiceAddresses } from "./addresses.js";
import {
  clone,
  deepEqual,
  ensureObject,
  isObject,
  metadataOf,
  objectAt,
  stringAt,
  timestamp,
  type Json,
  type JsonObject,
} from "./json.js";
import { nameError, prepareKind, typeFromCrd } from "./kinds.js";
import { builtinListType, schemaListType, type ListTypeResolver } from "./list-types.js";
import { applyConfig, recordUpdate, type FieldScope, type Manager } from "./managed-fields.js";
import { jsonPatch, mergePatch, strategicMerge } from "./patch.js";
import { groupVersion, ResourceRegistry, resourceKey, type ResourceType } from "./resources.js";
import { validateAgainstSchema } from "./schema.js";
import { matchesSelectors, parseFieldSelector, parseLabelSelector, type Selectors } from "./selectors.js";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  STALE_OBJECT,
  unsupportedMediaType,
} from "./status.js";
import { ObjectStore } from "./store.js";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continue?: string | undefined;
}

export interface ListResult {
  items: JsonObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WriteOptions {
  /** The version of the request path; custom resources are validated against its schema. */
  version: string;
  fieldManager?: string | undefined;
  userAgent?: string | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  fieldValidation?: string | undefined;
  subresource?: "status" | undefined;
}

export interface WriteResult {
  object: JsonObject;
  created: boolean;
  warnings: string[];
}

export interface DeletePreconditions {
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

const NAMESPACES = resourceKey("", "namespaces");
const PROTECTED_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);
const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function withoutMetaAndStatus(object: JsonObject): JsonObject {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

/** Equal but for resourceVersion and the times in managedFields: such a write changes nothing. */
function unchanged(before: JsonObject, after: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const { resourceVersion: _rv, managedFields, ...metadata } = metadataOf(o);
    const fields = Array.isArray(managedFields)
      ? managedFields.map((e) => (isObject(e) ? { ...e, time: null } : e))
      : null;
    return { ...o, metadata: { ...metadata, managedFields: fields } };
  };
  return deepEqual(strip(before), strip(after));
}

function defaultManager(userAgent: string | undefined): string {
  const agent = (userAgent ?? "").split("/")[0]?.trim() ?? "";
  return agent === "" ? "unknown" : agent.slice(0, 128);
}

function encodeContinue(rv: number, namespace: string, name: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: [namespace, name] })).toString(
    "base64url",
  );
}

function decodeContinue(token: string): [string, string] {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    const start = isObject(parsed) ? parsed["start"] : undefined;
    if (Array.isArray(start) && typeof start[0] === "string" && typeof start[1] === "string")
      return [start[0], start[1]];
  } catch {
    // fall through to the error the real server gives
  }
  throw badRequest(
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
  );
}

/**
 * One cluster's API semantics, independent of HTTP: the verbs of the real API server over the object store,
 * with admission-like defaults, CRD serving, schema validation and field ownership.
 */
export class ClusterApi {
  readonly registry = new ResourceRegistry();
  readonly store = new ObjectStore();
  readonly addresses = new ServiceAddresses();

  typeForKind(apiVersion: string, kind: string): ResourceType {
    const type = this.registry.forKind(apiVersion, kind);
    if (!type)
      throw new ApiError(
        404,
        "NotFound",
        `the server could not find the requested resource (${apiVersion} ${kind})`,
      );
    return type;
  }

  listTypes(type: ResourceType, version: string): ListTypeResolver {
    return type.crd === undefined ? builtinListType : schemaListType(type.schemas?.get(version));
  }

  get(type: ResourceType, namespace: string, name: string): JsonObject {
    const object = this.store.get(
      resourceKey(type.group, type.plural),
      type.namespaced ? namespace : "",
      name,
    );
    if (!object) throw notFound(type, name);
    return object;
  }

  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const selectors: Selectors = {
      labels: parseLabelSelector(options.labelSelector ?? ""),
      fields: parseFieldSelector(options.fieldSelector ?? "", type.kind),
    };
    const key = resourceKey(type.group, type.plural);
    const byName = selectors.fields.find((f) => f.path === "metadata.name" && f.op === "=");
    const byNamespace = selectors.fields.find((f) => f.path === "metadata.namespace" && f.op === "=");
    const ns = type.namespaced ? (namespace ?? byNamespace?.value) : "";
    let candidates: JsonObject[];
    if (byName && ns !== undefined) {
      const one = this.store.get(key, ns, byName.value);
      candidates = one ? [one] : [];
    } else {
      candidates = this.store.list(key, type.namespaced ? ns : undefined);
    }
    let items = candidates.filter((o) => matchesSelectors(selectors, o));
    if (options.continue) {
      const [startNamespace, startName] = decodeContinue(options.continue);
      items = items.filter((o) => {
        const m = metadataOf(o);
        const ns = stringAt(m, "namespace") ?? "";
        return ns > startNamespace || (ns === startNamespace && (stringAt(m, "name") ?? "") > startName);
      });
    }
    const rv = this.store.resourceVersion;
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (options.limit !== undefined && options.limit > 0 && items.length > options.limit) {
      result.items = items.slice(0, options.limit);
      const last = metadataOf(result.items[result.items.length - 1] as JsonObject);
      result.continue = encodeContinue(rv, stringAt(last, "namespace") ?? "", stringAt(last, "name") ?? "");
      result.remainingItemCount = items.length - options.limit;
    }
    return result;
  }

  create(type: ResourceType, namespace: string, body: Json, options: WriteOptions): WriteResult {
    const object = this.checkBody(type, namespace, undefined, body, options.version);
    const metadata = metadataOf(object);
    if (stringAt(metadata, "resourceVersion")) {
      throw badRequest("resourceVersion should not be set on objects to be created");
    }
    let name = stringAt(metadata, "name") ?? "";
    const generateName = stringAt(metadata, "generateName") ?? "";
    if (name === "" && generateName !== "") {
      do {
        name =
          generateName +
          Array.from({ length: 5 }, () => GENERATE_ALPHABET[Math.floor(Math.random() * 27)]).join("");
      } while (this.store.get(resourceKey(type.group, type.plural), type.namespaced ? namespace : "", name));
      metadata["name"] = name;
    }
    if (name === "") {
      throw invalid(type.kind, type.group, "", [
        {
          reason: "FieldValueRequired",
          field: "metadata.name",
          message: "Required value: name or generateName is required",
        },
      ]);
    }
    this.requireNamespace(type, namespace, name);
    if (this.store.get(resourceKey(type.group, type.plural), type.namespaced ? namespace : "", name)) {
      throw alreadyExists(type, name);
    }
    return this.write(type, undefined, object, options, "update");
  }

  update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: Json,
    options: WriteOptions,
  ): WriteResult {
    const object = this.checkBody(type, namespace, name, body, options.version);
    const before = this.get(type, namespace, name);
    this.checkResourceVersion(type, name, before, object);
    return this.write(type, before, object, options, "update");
  }

  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    patchType: PatchType,
    body: Json,
    options: WriteOptions,
  ): WriteResult {
    if (patchType === "apply") return this.apply(type, namespace, name, body, options);
    const before = this.get(type, namespace, name);
    const current = { ...before, apiVersion: groupVersion(type.group, options.version), kind: type.kind };
    let patched: Json;
    switch (patchType) {
      case "json":
        patched = jsonPatch(current, body);
        break;
      case "merge":
        patched = mergePatch(current, body);
        break;
      case "strategic":
        if (type.crd !== undefined) throw unsupportedMediaType("application/strategic-merge-patch+json");
        patched = strategicMerge(current, body);
        break;
    }
    const object = this.checkBody(type, namespace, name, patched, options.version);
    this.checkResourceVersion(type, name, before, object);
    return this.write(type, before, object, options, "update");
  }

  apply(type: ResourceType, namespace: string, name: string, body: Json, options: WriteOptions): WriteResult {
    if (!options.fieldManager)
      throw badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set");
    if (!isObject(body) || typeof body["apiVersion"] !== "string" || typeof body["kind"] !== "string") {
      throw badRequest("apply patches must set apiVersion and kind");
    }
    const applied = this.checkBody(type, namespace, name, body, options.version);
    const metadata = metadataOf(applied);
    for (const field of [
      "uid",
      "creationTimestamp",
      "generation",
      "managedFields",
      "selfLink",
      "deletionTimestamp",
    ]) {
      delete metadata[field];
    }
    const key = resourceKey(type.group, type.plural);
    const before = this.store.get(key, type.namespaced ? namespace : "", name);
    if (before) this.checkResourceVersion(type, name, before, applied);
    else {
      delete metadata["resourceVersion"];
      this.requireNamespace(type, namespace, name);
    }
    const scope = this.scope(type, options);
    if (scope === "main") delete applied["status"];
    const schema = type.schemas?.get(options.version);
    if (schema) validateAgainstSchema(applied, schema);
    const manager: Manager = {
      manager: options.fieldManager,
      operation: "Apply",
      subresource: options.subresource ?? "",
      apiVersion: groupVersion(type.group, options.version),
    };
    const merged = applyConfig(
      before,
      applied,
      manager,
      this.listTypes(type, options.version),
      scope,
      options.force === true,
      timestamp(),
    );
    return this.write(type, before, merged, options, "apply");
  }

  delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: { dryRun?: boolean | undefined; preconditions?: DeletePreconditions | undefined } = {},
  ): JsonObject {
    const before = this.get(type, namespace, name);
    const metadata = metadataOf(before);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== stringAt(metadata, "uid")) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stringAt(metadata, "uid") ?? ""}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== stringAt(metadata, "resourceVersion")) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${stringAt(metadata, "resourceVersion") ?? ""}`,
      );
    }
    const isNamespace = type.group === "" && type.kind === "Namespace";
    if (isNamespace && PROTECTED_NAMESPACES.has(name))
      throw forbidden(type, name, "this namespace may not be deleted");
    if (isNamespace && metadata["deletionTimestamp"]) {
      throw conflict(
        type,
        name,
        "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
      );
    }
    if (options.dryRun) return before;
    if (isNamespace) {
      // Like the real namespace controller, content goes later (see Controllers): the namespace is Terminating now.
      const terminating: JsonObject = {
        ...before,
        metadata: { ...metadata, deletionTimestamp: timestamp() },
        status: { phase: "Terminating" },
      };
      return this.store.commit("MODIFIED", NAMESPACES, terminating, before);
    }
    if (type.group === "apiextensions.k8s.io" && type.kind === "CustomResourceDefinition") {
      const served = this.registry.all().find((t) => t.crd === name);
      if (served) {
        const key = resourceKey(served.group, served.plural);
        for (const object of this.store.list(key)) this.store.commit("DELETED", key, object);
        this.registry.remove(served);
      }
    }
    return this.store.commit("DELETED", resourceKey(type.group, type.plural), before);
  }

  /** Removes a terminating namespace's content, then the namespace. */
  purgeNamespace(name: string): void {
    const namespace = this.store.get(NAMESPACES, "", name);
    if (!namespace || !metadataOf(namespace)["deletionTimestamp"]) return;
    for (const t of this.registry.all()) {
      if (!t.namespaced) continue;
      const key = resourceKey(t.group, t.plural);
      for (const object of this.store.list(key, name)) this.store.commit("DELETED", key, object);
    }
    this.store.commit("DELETED", NAMESPACES, namespace);
  }

  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
    dryRun: boolean,
  ): JsonObject[] {
    return this.list(type, namespace, { ...options, limit: undefined, continue: undefined }).items.map(
      (object) => {
        const metadata = metadataOf(object);
        return this.delete(type, stringAt(metadata, "namespace") ?? "", stringAt(metadata, "name") ?? "", {
          dryRun,
        });
      },
    );
  }

  /** Status written by a simulated controller, through the status subresource like the real ones. */
  writeStatus(
    type: ResourceType,
    object: JsonObject,
    status: JsonObject,
    manager = "kube-controller-manager",
  ): JsonObject {
    const result = this.write(
      type,
      object,
      { ...object, status },
      {
        version: type.storageVersion,
        fieldManager: manager,
        subresource: type.statusSubresource ? "status" : undefined,
      },
      "update",
    );
    return result.object;
  }

  private scope(type: ResourceType, options: WriteOptions): FieldScope {
    if (options.subresource === "status") return "status";
    return type.statusSubresource ? "main" : "all";
  }

  private requireNamespace(type: ResourceType, namespace: string, name: string): void {
    if (!type.namespaced) return;
    const found = this.store.get(NAMESPACES, "", namespace);
    if (!found) throw notFound({ group: "", plural: "namespaces" }, namespace);
    if (metadataOf(found)["deletionTimestamp"]) {
      throw forbidden(
        type,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private checkResourceVersion(
    type: ResourceType,
    name: string,
    before: JsonObject,
    object: JsonObject,
  ): void {
    const wanted = stringAt(objectAt(object, "metadata"), "resourceVersion");
    if (wanted && wanted !== stringAt(objectAt(before, "metadata"), "resourceVersion")) {
      throw conflict(type, name, STALE_OBJECT);
    }
  }

  /** A copy of the request body, checked against the request path and with its namespace and name filled in. */
  private checkBody(
    type: ResourceType,
    namespace: string,
    name: string | undefined,
    body: Json,
    version: string,
  ): JsonObject {
    if (!isObject(body)) throw badRequest("the request body must be a JSON or YAML object");
    const object = clone(body);
    ensureObject(object, "metadata");
    const expected = groupVersion(type.group, version);
    const apiVersion = object["apiVersion"];
    if (apiVersion !== undefined && apiVersion !== expected) {
      throw badRequest(
        `the API version in the data (${JSON.stringify(apiVersion)}) does not match the expected API version (${expected})`,
      );
    }
    const kind = object["kind"];
    if (kind !== undefined && kind !== type.kind) {
      throw badRequest(
        `the kind in the data (${JSON.stringify(kind)}) does not match the expected kind (${type.kind})`,
      );
    }
    const metadata = metadataOf(object);
    if (type.namespaced) {
      const bodyNamespace = stringAt(metadata, "namespace");
      if (bodyNamespace && bodyNamespace !== namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      metadata["namespace"] = namespace;
    } else {
      delete metadata["namespace"];
    }
    if (name !== undefined) {
      const bodyName = stringAt(metadata, "name");
      if (bodyName && bodyName !== name) {
        throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
      }
      metadata["name"] = name;
    }
    return object;
  }

  /** The common tail of every write: server metadata, status handling, kind rules, validation, ownership, commit. */
  private write(
    type: ResourceType,
    before: JsonObject | undefined,
    object: JsonObject,
    options: WriteOptions,
    ownership: "update" | "apply",
  ): WriteResult {
    const now = timestamp();
    const scope = this.scope(type, options);
    let next = object;
    if (scope === "status" && before) {
      next = { ...clone(before), status: object["status"] ?? null };
      if (next["status"] === null) delete next["status"];
      if (ownership === "apply")
        ensureObject(next, "metadata")["managedFields"] = metadataOf(object)["managedFields"] ?? [];
    } else if (scope === "main") {
      if (before?.["status"] !== undefined) next["status"] = clone(before["status"]);
      else delete next["status"];
    }
    next["apiVersion"] = groupVersion(type.group, type.storageVersion);
    next["kind"] = type.kind;
    const metadata = ensureObject(next, "metadata");
    const name = stringAt(metadata, "name") ?? "";
    for (const field of ["resourceVersion", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"])
      delete metadata[field];
    if (before) {
      const old = metadataOf(before);
      if (old["deletionTimestamp"]) metadata["deletionTimestamp"] = old["deletionTimestamp"];
      metadata["uid"] = old["uid"] ?? randomUUID();
      metadata["creationTimestamp"] = old["creationTimestamp"] ?? now;
    } else {
      const problem = nameError(type, name);
      if (problem) throw problem;
      metadata["uid"] = randomUUID();
      metadata["creationTimestamp"] = now;
    }
    prepareKind({ type, next, before, dryRun: options.dryRun === true, addresses: this.addresses });

    const warnings: string[] = [];
    const schema = type.schemas?.get(options.version);
    if (schema) {
      const outcome = validateAgainstSchema(next, schema);
      if (outcome.causes.length > 0) throw invalid(type.kind, type.group, name, outcome.causes);
      if (outcome.pruned.length > 0 && scope !== "status") {
        const unknown = outcome.pruned.map((p) => `unknown field "${p}"`);
        if (options.fieldValidation === "Strict")
          throw badRequest(`strict decoding error: ${unknown.join(", ")}`);
        if (options.fieldValidation === "Warn") warnings.push(...unknown);
      }
    }

    const oldGeneration = before ? Number(metadataOf(before)["generation"] ?? 1) : 0;
    metadata["generation"] =
      before && deepEqual(withoutMetaAndStatus(before), withoutMetaAndStatus(next))
        ? oldGeneration
        : oldGeneration + 1;

    if (ownership === "update") {
      const manager: Manager = {
        manager: options.fieldManager ?? defaultManager(options.userAgent),
        operation: "Update",
        subresource: options.subresource ?? "",
        apiVersion: groupVersion(type.group, options.version),
      };
      metadata["managedFields"] = recordUpdate(
        before,
        next,
        manager,
        this.listTypes(type, options.version),
        scope,
        now,
      );
    }

    if (before && unchanged(before, next)) return { object: before, created: false, warnings };
    if (options.dryRun) {
      const rv = before ? metadataOf(before)["resourceVersion"] : undefined;
      return {
        object: { ...next, metadata: { ...metadata, resourceVersion: rv ?? null } },
        created: !before,
        warnings,
      };
    }
    const key = resourceKey(type.group, type.plural);
    const stored = this.store.commit(before ? "MODIFIED" : "ADDED", key, next, before);
    if (type.group === "apiextensions.k8s.io" && type.kind === "CustomResourceDefinition") {
      this.registry.add(typeFromCrd(stored));
    }
    return { object: stored, created: !before, warnings };
  }
}
