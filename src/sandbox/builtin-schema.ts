import published from "./builtin-schemas.json" with { type: "json" };
import { clone, isObject, type Json, type JsonObject } from "./json.js";
import type { ListType, ListTypeResolver } from "./list-types.js";
import type { ResourceType } from "./resources.js";

/**
 * The built-in kinds' schemas as the real kube-apiserver publishes them (its OpenAPI v3, cut down to field names,
 * types, list and map types and defaults: builtin-schemas.json, written by test/differential from kube-apiserver
 * v1.37.2 and checked against it there). With them the sandbox stores a built-in object as the real server's Go
 * types would: unknown fields dropped (with a warning, or refused under Strict), fields Go always writes present
 * (non-pointer structs as `{}`, required scalars as their zero value, `null` for required lists), empty optional
 * lists and maps left out; and field ownership knows which lists are keyed by what and which maps are atomic.
 */
interface Published {
  kinds: Record<string, string>;
  schemas: Record<string, JsonObject>;
}

const SCHEMAS = published as unknown as Published;

/** Schema objects' names (a kind's, or a `$ref`'s), for what only a name can tell (ALWAYS_WRITTEN). */
const names = new WeakMap<JsonObject, string>();
for (const [name, schema] of Object.entries(SCHEMAS.schemas)) names.set(schema, name);

const resolved = new WeakMap<JsonObject, JsonObject>();

/** A schema node with its `$ref` followed (the referring node's own `default` kept). */
function deref(node: JsonObject | undefined): JsonObject | undefined {
  if (!node) return undefined;
  const ref = node["$ref"];
  if (typeof ref !== "string") return node;
  const target = SCHEMAS.schemas[ref];
  if (!target) return node;
  if (node["default"] === undefined) return target;
  let merged = resolved.get(node);
  if (!merged) {
    merged = { ...target, default: node["default"] };
    resolved.set(node, merged);
    names.set(merged, ref);
  }
  return merged;
}

export function builtinSchema(type: ResourceType): JsonObject | undefined {
  if (type.crd !== undefined) return undefined;
  const name =
    SCHEMAS.kinds[`${type.group === "" ? "" : `${type.group}/`}${type.storageVersion}/${type.kind}`];
  return name ? SCHEMAS.schemas[name] : undefined;
}

function properties(node: JsonObject): JsonObject | undefined {
  return isObject(node["properties"]) ? node["properties"] : undefined;
}

function child(node: JsonObject, key: string): JsonObject | undefined {
  const declared = properties(node)?.[key];
  if (isObject(declared)) return deref(declared);
  const additional = node["additionalProperties"];
  return isObject(additional) ? deref(additional) : undefined;
}

function itemsOf(node: JsonObject): JsonObject | undefined {
  return isObject(node["items"]) ? deref(node["items"]) : undefined;
}

/**
 * Go fields without `omitempty` that the OpenAPI still calls optional: written as `null` when unset. The schema
 * cannot tell them apart; these are the ones the mirrored kinds have.
 */
const ALWAYS_WRITTEN: Readonly<Record<string, readonly string[]>> = {
  "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus": ["currentMetrics"],
};

function required(node: JsonObject): Set<string> {
  const list = node["required"];
  const out = new Set(Array.isArray(list) ? list.filter((k): k is string => typeof k === "string") : []);
  for (const key of ALWAYS_WRITTEN[names.get(node) ?? ""] ?? []) out.add(key);
  return out;
}

/** A struct (declared properties), as opposed to a map (additionalProperties) or a free-form object. */
function isStruct(node: JsonObject): boolean {
  return properties(node) !== undefined;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/**
 * Stores `object` as the real server's Go types would write it, in place; returns the paths of the unknown
 * fields it dropped. `metadata` (ObjectMeta, checked apart) is left as it is at the root.
 */
export function encodeAsGo(object: JsonObject, schema: JsonObject): string[] {
  const unknown: string[] = [];
  visitObject(object, schema, "", unknown, true);
  return unknown;
}

function visitObject(
  value: JsonObject,
  schema: JsonObject,
  path: string,
  unknown: string[],
  root: boolean,
): void {
  const declared = properties(schema);
  const additional = isObject(schema["additionalProperties"])
    ? deref(schema["additionalProperties"])
    : undefined;
  if (!declared && !additional) return; // free-form (RawExtension, JSON): kept as sent
  const needed = required(schema);
  for (const key of Object.keys(value)) {
    if (root && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
    const sub = declared ? (isObject(declared[key]) ? deref(declared[key]) : undefined) : additional;
    const childPath = declared ? join(path, key) : `${path}[${key}]`;
    if (!sub) {
      delete value[key];
      unknown.push(join(path, key));
      continue;
    }
    const v = value[key] as Json;
    const optional =
      !declared || (!needed.has(key) && (declared[key] as JsonObject)["default"] === undefined);
    if (v === null) {
      if (optional) delete value[key];
      continue;
    }
    if (Array.isArray(v)) {
      if (v.length === 0 && optional) {
        delete value[key];
        continue;
      }
      const items = itemsOf(sub);
      if (items)
        v.forEach(
          (item, i) => isObject(item) && visitObject(item, items, `${childPath}[${i}]`, unknown, false),
        );
      continue;
    }
    if (isObject(v)) {
      if (Object.keys(v).length === 0 && optional && !isStruct(sub)) {
        delete value[key];
        continue;
      }
      visitObject(v, sub, childPath, unknown, false);
    }
  }
  if (!declared) return;
  for (const [key, raw] of Object.entries(declared)) {
    if (value[key] !== undefined || !isObject(raw)) continue;
    if (root && key === "metadata") continue;
    const fallback = raw["default"];
    if (fallback !== undefined) {
      value[key] = clone(fallback);
      const sub = deref(raw);
      if (isObject(value[key]) && sub) visitObject(value[key], sub, join(path, key), unknown, false);
    } else if (needed.has(key)) {
      value[key] = null;
    }
  }
}

/** The object Go's zero value of the kind would be (what is "already there" before a create). */
export function zeroObject(schema: JsonObject): JsonObject {
  let zero = zeros.get(schema);
  if (!zero) {
    zero = { metadata: {} };
    encodeAsGo(zero, schema);
    zeros.set(schema, zero);
  }
  return zero;
}

const zeros = new WeakMap<JsonObject, JsonObject>();

function nodeAt(schema: JsonObject, path: readonly string[]): JsonObject | undefined {
  let node: JsonObject | undefined = schema;
  for (const field of path) {
    while (node && itemsOf(node)) node = itemsOf(node);
    if (!node) return undefined;
    node = child(node, field);
  }
  return node;
}

const ATOMIC: ListType = { type: "atomic" };

/** List and map types of a built-in kind, from its published schema. */
export function builtinShapes(schema: JsonObject, fallback: ListTypeResolver): ListTypeResolver {
  const resolver = ((path: readonly string[], items: readonly Json[]): ListType => {
    if (path[0] === "metadata") return fallback(path, items);
    const node = nodeAt(schema, path);
    if (!node) return fallback(path, items);
    const listType = node["x-kubernetes-list-type"];
    if (listType === "set") return { type: "set" };
    if (listType === "map") {
      const keys = node["x-kubernetes-list-map-keys"];
      if (Array.isArray(keys) && keys.length > 0) {
        // A key field left out of an item is its default (a container port without protocol is TCP's).
        const items = itemsOf(node);
        const defaults: Record<string, Json> = {};
        for (const key of keys.map(String)) {
          const field = items && properties(items)?.[key];
          if (isObject(field) && field["default"] !== undefined) defaults[key] = field["default"];
        }
        return { type: "map", keys: keys.map(String), defaults };
      }
    }
    return ATOMIC;
  }) as ListTypeResolver;
  resolver.atomic = (path) => {
    if (path[0] === "metadata") return false;
    const node = nodeAt(schema, path);
    return node?.["x-kubernetes-map-type"] === "atomic";
  };
  return resolver;
}
