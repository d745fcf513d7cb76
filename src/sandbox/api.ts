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
import { builtinSchema, builtinShapes, encodeAsGo, zeroObject } from "./builtin-schema.js";
import { hasRules, validateRules } from "./cel.js";
import { validateAgainstSchema } from "./schema.js";
import { validateBuiltin, validateMetadata } from "./validation.js";
import { matchesSelectors, parseFieldSelector, parseLabelSelector, type Selectors } from "./selectors.js";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  gone,
  invalid,
  notFound,
  STALE_OBJECT,
  unsupportedMediaType,
  type StatusCause,
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
  /** Fields the request's JSON body set twice (JSON.parse kept the last). */
  duplicates?: string[] | undefined;
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

export type PropagationPolicy = "Background" | "Foreground" | "Orphan";

export interface DeleteOptions {
  dryRun?: boolean | undefined;
  preconditions?: DeletePreconditions | undefined;
  propagationPolicy?: PropagationPolicy | undefined;
}

export interface DeleteResult {
  /** The object as deleted, or as it now waits for its finalizers (with its deletionTimestamp). */
  object: JsonObject;
  /** Gone now (the answer is a Status), rather than waiting for finalizers (the answer is the object). */
  deleted: boolean;
}

/** The garbage collector's finalizers (k8s.io/apimachinery metav1.FinalizerDeleteDependents, FinalizerOrphanDependents). */
export const FOREGROUND = "foregroundDeletion";
export const ORPHAN = "orphan";

/**
 * What an Update owns: the object as written, less what the server allocated after it took ownership (a
 * Service's cluster IPs, IP families and node ports, unless the writer set them).
 */
function allocatedUnowned(type: ResourceType, requested: JsonObject, next: JsonObject): JsonObject {
  if (type.group !== "" || type.kind !== "Service") return next;
  const owned = clone(next);
  const spec = objectAt(owned, "spec");
  const asked = objectAt(requested, "spec") ?? {};
  if (!spec) return owned;
  for (const field of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"]) {
    if (asked[field] === undefined) delete spec[field];
  }
  const askedPorts = Array.isArray(asked["ports"]) ? asked["ports"] : [];
  if (Array.isArray(spec["ports"])) {
    spec["ports"].forEach((port, i) => {
      const was = askedPorts[i];
      if (isObject(port) && !(isObject(was) && was["nodePort"] !== undefined)) delete port["nodePort"];
    });
  }
  return owned;
}

/** Where Go's base64 decoder stops on `text` (it skips line breaks), or undefined when it decodes. */
function base64Error(text: string): number | undefined {
  let count = 0;
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === "\r" || c === "\n") continue;
    if (c === "=") {
      padding++;
      if (padding > 2) return i;
    } else if (padding > 0 || !/[A-Za-z0-9+/]/.test(c)) {
      return i;
    }
    count++;
  }
  return count % 4 === 0 ? undefined : text.length;
}

/** A Secret's data is base64 on the wire: anything else fails to decode (400) before any validation. */
function checkBase64(secret: JsonObject, version: string): void {
  const data = objectAt(secret, "data");
  if (!data) return;
  for (const value of Object.values(data)) {
    if (typeof value !== "string") continue;
    const at = base64Error(value);
    if (at !== undefined) {
      throw badRequest(
        `Secret in version "${version}" cannot be handled as a Secret: illegal base64 data at input byte ${at}`,
      );
    }
  }
}

function namespaceOf(object: JsonObject): string {
  return stringAt(metadataOf(object), "namespace") ?? "";
}

/** Kinds whose objects carry metadata.generation on the real server (custom resources all do). */
const GENERATION_KINDS = new Set([
  "/Pod",
  "apps/Deployment",
  "apps/StatefulSet",
  "apps/DaemonSet",
  "apps/ReplicaSet",
  "batch/Job",
  "batch/CronJob",
  "networking.k8s.io/Ingress",
  "networking.k8s.io/NetworkPolicy",
  "policy/PodDisruptionBudget",
  "autoscaling/HorizontalPodAutoscaler",
  "apiextensions.k8s.io/CustomResourceDefinition",
]);

function hasGeneration(type: ResourceType): boolean {
  return type.crd !== undefined || GENERATION_KINDS.has(`${type.group}/${type.kind}`);
}

/** ObjectMeta's fields: any other is unknown, dropped with a warning (or refused under Strict). */
const OBJECT_META_FIELDS = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

function pruneMetadata(metadata: JsonObject): string[] {
  const unknown: string[] = [];
  for (const key of Object.keys(metadata)) {
    if (OBJECT_META_FIELDS.has(key)) continue;
    delete metadata[key];
    unknown.push(`metadata.${key}`);
  }
  return unknown;
}

/** An object being deleted may lose finalizers, never gain one. */
function finalizerCauses(type: ResourceType, before: JsonObject, next: JsonObject): StatusCause[] {
  if (!metadataOf(before)["deletionTimestamp"]) return [];
  const old = new Set(stringsAt(metadataOf(before), "finalizers"));
  const added = stringsAt(metadataOf(next), "finalizers").filter((f) => !old.has(f));
  if (added.length === 0) return [];
  const cause: StatusCause = {
    reason: "FieldValueForbidden",
    field: "metadata.finalizers",
    message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`,
  };
  // The real server checks a custom resource's metadata twice (generic and custom-resource validation) and
  // reports this twice.
  return type.crd === undefined ? [cause] : [cause, cause];
}

function stringsAt(parent: JsonObject, key: string): string[] {
  const value = parent[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

const NAMESPACES = resourceKey("", "namespaces");
/** What the real server adds when a schema error keeps it from running a CRD's validation rules. */
const RULES_NOT_CHECKED = {
  reason: "FieldValueInvalid",
  field: "<nil>",
  message:
    "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
};
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

/** The real server's token: base64url of `{"v","rv","start"}`, the key to start after (here namespace NUL name). */
function encodeContinue(rv: number, namespace: string, name: string): string {
  return Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv, start: `${namespace}\u0000${name}\u0000` }),
  ).toString("base64url");
}

function invalidContinue(why: string): ApiError {
  return badRequest(`invalid continue token: continue key is not valid: ${why}`);
}

function decodeContinue(token: string): { rv: number; namespace: string; name: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch (error) {
    throw invalidContinue(error instanceof Error ? error.message : String(error));
  }
  const field = (key: string): unknown => (isObject(parsed) ? parsed[key] : undefined);
  const version = field("v");
  if (version !== "meta.k8s.io/v1") {
    throw invalidContinue(
      `server does not recognize this encoded version ${typeof version === "string" ? version : JSON.stringify(version ?? "")}`,
    );
  }
  const rv = field("rv");
  if (typeof rv !== "number" || rv <= 0) {
    throw invalidContinue("incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
  }
  const start = field("start");
  if (typeof start !== "string" || start === "") {
    throw invalidContinue("encoded start key empty (version meta.k8s.io/v1)");
  }
  const [namespace = "", name = ""] = start.split("\u0000");
  return { rv, namespace, name };
}

const CONTINUE_EXPIRED =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

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
    if (type.crd !== undefined) return schemaListType(type.schemas?.get(version));
    const schema = builtinSchema(type);
    if (!schema) return builtinListType;
    let shapes = this.shapes.get(schema);
    if (!shapes) {
      shapes = builtinShapes(schema, builtinListType);
      this.shapes.set(schema, shapes);
    }
    return shapes;
  }

  private readonly shapes = new WeakMap<JsonObject, ListTypeResolver>();

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
    const scope = type.namespaced ? ns : undefined;
    // A continued list pages through the collection as it was at the first page's resourceVersion.
    const from = options.continue ? decodeContinue(options.continue) : undefined;
    let rv = this.store.resourceVersion;
    let candidates: JsonObject[];
    if (from) {
      const snapshot = this.store.listAt(key, from.rv, scope);
      if (!snapshot) throw gone(CONTINUE_EXPIRED);
      rv = from.rv;
      candidates = snapshot.filter((o) => {
        const m = metadataOf(o);
        const ons = stringAt(m, "namespace") ?? "";
        return ons > from.namespace || (ons === from.namespace && (stringAt(m, "name") ?? "") > from.name);
      });
    } else if (byName && ns !== undefined) {
      const one = this.store.get(key, ns, byName.value);
      candidates = one ? [one] : [];
    } else {
      candidates = this.store.list(key, scope);
    }
    const items = candidates.filter((o) => matchesSelectors(selectors, o));
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (options.limit !== undefined && options.limit > 0 && items.length > options.limit) {
      result.items = items.slice(0, options.limit);
      const last = metadataOf(result.items[result.items.length - 1] as JsonObject);
      result.continue = encodeContinue(rv, stringAt(last, "namespace") ?? "", stringAt(last, "name") ?? "");
      // The real server counts what is left only when it need not filter (no label or field selector).
      if (!options.labelSelector && !options.fieldSelector)
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
    if (type.crd !== undefined && !stringAt(metadataOf(object), "resourceVersion")) {
      // Custom resources, unlike most built-in kinds, take no unconditional update.
      throw new ApiError(
        422,
        "Invalid",
        `${resourceKey(type.group, type.plural)} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update`,
        {
          name,
          group: type.group,
          kind: type.plural,
          causes: [
            {
              reason: "FieldValueInvalid",
              message: "Invalid value: 0: must be specified for an update",
              field: "metadata.resourceVersion",
            },
          ],
        },
      );
    }
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
    this.checkAppliedFields(type, namespace, name, applied, options.version);
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

  /**
   * DELETE as the real server carries it out: an object with finalizers (or deleted in the foreground or as an
   * orphan, which add the garbage collector's finalizer) only gets a deletionTimestamp and stays until the last
   * finalizer is removed; others go at once. A namespace turns Terminating (the controllers empty it).
   */
  delete(type: ResourceType, namespace: string, name: string, options: DeleteOptions = {}): DeleteResult {
    const before = this.get(type, namespace, name);
    const metadata = metadataOf(before);
    const pre = options.preconditions;
    const kindName = type.crd === undefined ? type.kind : type.plural;
    if (pre?.uid && pre.uid !== stringAt(metadata, "uid")) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${kindName} "${name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${stringAt(metadata, "uid") ?? ""}). The object might have been deleted and then recreated`,
        { name, group: type.group, kind: kindName },
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== stringAt(metadata, "resourceVersion")) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${kindName} "${name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${stringAt(metadata, "resourceVersion") ?? ""}). The object might have been modified`,
        { name, group: type.group, kind: kindName },
      );
    }
    const isNamespace = type.group === "" && type.kind === "Namespace";
    if (isNamespace && PROTECTED_NAMESPACES.has(name))
      throw forbidden(type, name, "this namespace may not be deleted");
    if (isNamespace) {
      // Like the real namespace controller, content goes later (see Controllers): the namespace is Terminating now.
      if (metadata["deletionTimestamp"] || options.dryRun) return { object: before, deleted: false };
      const terminating: JsonObject = {
        ...before,
        metadata: { ...metadata, deletionTimestamp: timestamp() },
        status: { phase: "Terminating" },
      };
      return { object: this.store.commit("MODIFIED", NAMESPACES, terminating, before), deleted: false };
    }
    const finalizers = stringsAt(metadata, "finalizers");
    const policy = options.propagationPolicy ?? "Background";
    const collector = policy === "Foreground" ? FOREGROUND : policy === "Orphan" ? ORPHAN : undefined;
    const wanted = collector && !finalizers.includes(collector) ? [...finalizers, collector] : finalizers;
    if (wanted.length === 0) {
      if (options.dryRun) return { object: before, deleted: true };
      const deleted = this.store.commit("DELETED", resourceKey(type.group, type.plural), before);
      if (type.group === "apiextensions.k8s.io" && type.kind === "CustomResourceDefinition")
        this.unserve(name);
      return { object: deleted, deleted: true };
    }
    if (metadata["deletionTimestamp"] && wanted.length === finalizers.length)
      return { object: before, deleted: false };
    const next: JsonObject = {
      ...before,
      metadata: {
        ...metadata,
        deletionTimestamp: stringAt(metadata, "deletionTimestamp") ?? timestamp(),
        deletionGracePeriodSeconds: 0,
        finalizers: wanted,
        // The real server counts the deletion as a change of the spec's intent where the kind has a generation.
        ...(typeof metadata["generation"] === "number" && !metadata["deletionTimestamp"]
          ? { generation: metadata["generation"] + 1 }
          : {}),
      },
    };
    if (options.dryRun) return { object: next, deleted: false };
    return {
      object: this.store.commit("MODIFIED", resourceKey(type.group, type.plural), next, before),
      deleted: false,
    };
  }

  /** A deleted CRD's kind is no longer served, and its objects go with it. */
  private unserve(crd: string): void {
    const served = this.registry.all().find((t) => t.crd === crd);
    if (!served) return;
    const key = resourceKey(served.group, served.plural);
    for (const object of this.store.list(key)) this.store.commit("DELETED", key, object);
    this.registry.remove(served);
  }

  /** Removes a namespace whose content is all gone (the namespace controller's last step). */
  finalizeNamespace(name: string): void {
    const namespace = this.store.get(NAMESPACES, "", name);
    if (!namespace || !metadataOf(namespace)["deletionTimestamp"]) return;
    this.store.commit("DELETED", NAMESPACES, namespace);
  }

  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
    deleteOptions: DeleteOptions,
  ): JsonObject[] {
    return this.list(type, namespace, { ...options, limit: undefined, continue: undefined }).items.map(
      (object) => {
        const metadata = metadataOf(object);
        return this.delete(
          type,
          stringAt(metadata, "namespace") ?? "",
          stringAt(metadata, "name") ?? "",
          deleteOptions,
        ).object;
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

  /**
   * Server-side apply builds a typed object of what was applied: a field its schema does not declare fails the
   * request (500, whatever the field validation asked), where other writes drop it with a warning.
   */
  private checkAppliedFields(
    type: ResourceType,
    namespace: string,
    name: string,
    applied: JsonObject,
    version: string,
  ): void {
    const unknown: string[] = [];
    const schema = type.schemas?.get(version);
    if (schema) unknown.push(...validateAgainstSchema(clone(applied), schema).pruned.sort());
    const goSchema = builtinSchema(type);
    if (goSchema) unknown.push(...encodeAsGo(clone(applied), goSchema).sort());
    // The real server finds the object's own fields first, then ObjectMeta's.
    unknown.push(
      ...Object.keys(metadataOf(applied))
        .filter((key) => !OBJECT_META_FIELDS.has(key))
        .sort()
        .map((key) => `metadata.${key}`),
    );
    if (unknown.length === 0) return;
    const who = type.namespaced ? `${namespace}/${name}` : name;
    // Go's GroupVersionKind string ("/v1, Kind=ConfigMap" for the core group) and structured-merge-diff's error
    // list (one error on its own, several under "errors:").
    const errors = unknown.map((p) => `.${p}: field not declared in schema`);
    const listed =
      errors.length === 1 ? (errors[0] ?? "") : ["errors:", ...errors.map((e) => `  ${e}`)].join("\n");
    throw new ApiError(
      500,
      "",
      `failed to create typed patch object (${who}; ${type.group}/${version}, Kind=${type.kind}): ${listed}`,
    );
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
      const error = forbidden(
        type,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      if (error.details)
        error.details.causes = [
          {
            reason: "NamespaceTerminating",
            message: `namespace ${namespace} is being terminated`,
            field: "metadata.namespace",
          },
        ];
      throw error;
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
        `the API version in the data (${typeof apiVersion === "string" ? apiVersion : JSON.stringify(apiVersion)}) does not match the expected API version (${expected})`,
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
      if (old["deletionGracePeriodSeconds"] !== undefined)
        metadata["deletionGracePeriodSeconds"] = old["deletionGracePeriodSeconds"];
      metadata["uid"] = old["uid"] ?? randomUUID();
      metadata["creationTimestamp"] = old["creationTimestamp"] ?? now;
    } else {
      const problem = nameError(type, name);
      if (problem) throw problem;
      metadata["uid"] = randomUUID();
      metadata["creationTimestamp"] = now;
    }
    if (type.group === "" && type.kind === "Secret") checkBase64(next, options.version);
    const requested = clone(next);
    prepareKind({ type, next, before, dryRun: options.dryRun === true, addresses: this.addresses });

    const warnings: string[] = [];
    const unknown = scope === "status" ? [] : pruneMetadata(metadata);
    const goSchema = builtinSchema(type);
    if (goSchema) {
      const dropped = encodeAsGo(next, goSchema);
      if (scope !== "status") unknown.push(...dropped);
    }
    const schema = type.schemas?.get(options.version);
    const causes: StatusCause[] = [];
    if (scope !== "status") {
      causes.push(...validateMetadata(next));
      if (before) causes.push(...finalizerCauses(type, before, next));
      causes.push(...validateBuiltin(type, next, before));
    }
    if (schema) {
      const outcome = validateAgainstSchema(next, schema);
      causes.push(...outcome.causes);
      if (outcome.blocking && hasRules(schema)) causes.push(RULES_NOT_CHECKED);
      else if (hasRules(schema)) causes.push(...validateRules(next, before, schema));
      if (scope !== "status") unknown.push(...outcome.pruned);
    }
    if (causes.length > 0) {
      // What a create allocated for an object that is refused is given back, as the real registry does.
      if (!before && !options.dryRun && type.group === "" && type.kind === "Service") {
        const key = `${namespaceOf(next)}/${name}`;
        this.addresses.release(key);
        this.addresses.nodePortsFor(key, [], false);
      }
      throw invalid(type.kind, type.group, name, causes);
    }
    const duplicates = scope === "status" ? [] : (options.duplicates ?? []);
    if (unknown.length > 0 || duplicates.length > 0) {
      const texts = [
        ...duplicates.map((p) => `duplicate field "${p}"`),
        ...unknown.sort().map((p) => `unknown field "${p}"`),
      ];
      if (options.fieldValidation === "Strict") {
        throw badRequest(
          `${type.kind} in version "${options.version}" cannot be handled as a ${type.kind}: strict decoding error: ${texts.join(", ")}`,
        );
      }
      if (options.fieldValidation !== "Ignore") warnings.push(...texts);
    }

    if (hasGeneration(type)) {
      const oldGeneration = before ? Number(metadataOf(before)["generation"] ?? 1) : 0;
      metadata["generation"] =
        before && (scope === "status" || deepEqual(withoutMetaAndStatus(before), withoutMetaAndStatus(next)))
          ? oldGeneration
          : oldGeneration + 1;
    } else {
      delete metadata["generation"];
    }

    if (ownership === "update") {
      const manager: Manager = {
        manager: options.fieldManager ?? defaultManager(options.userAgent),
        operation: "Update",
        subresource: options.subresource ?? "",
        apiVersion: groupVersion(type.group, options.version),
      };
      // Like the real server, managedFields sent with the object replace the stored ones (how kubectl moves a
      // client-side apply's fields to server-side apply); the write's own changes are then recorded on top.
      const given = scope === "status" ? undefined : metadata["managedFields"];
      const base =
        before && Array.isArray(given) && given.length > 0
          ? { ...before, metadata: { ...metadataOf(before), managedFields: given } }
          : before;
      metadata["managedFields"] = recordUpdate(
        base,
        allocatedUnowned(type, requested, next),
        manager,
        this.listTypes(type, options.version),
        scope,
        now,
        goSchema ? zeroObject(goSchema) : {},
      );
    }

    if (before && unchanged(before, next)) return { object: before, created: false, warnings };
    if (options.dryRun) {
      const rv = before ? metadataOf(before)["resourceVersion"] : undefined;
      return {
        object: { ...next, metadata: rv === undefined ? metadata : { ...metadata, resourceVersion: rv } },
        created: !before,
        warnings,
      };
    }
    if (
      before &&
      metadata["deletionTimestamp"] &&
      type.kind !== "Namespace" &&
      stringsAt(metadataOf(before), "finalizers").length > 0 &&
      stringsAt(metadata, "finalizers").length === 0
    ) {
      // The last finalizer is gone: the object is deleted, and the answer is its last state.
      const gone = this.store.commit("DELETED", resourceKey(type.group, type.plural), next, before);
      return { object: gone, created: false, warnings };
    }
    const key = resourceKey(type.group, type.plural);
    const stored = this.store.commit(before ? "MODIFIED" : "ADDED", key, next, before);
    if (type.group === "apiextensions.k8s.io" && type.kind === "CustomResourceDefinition") {
      this.registry.add(typeFromCrd(stored));
    }
    return { object: stored, created: !before, warnings };
  }
}
