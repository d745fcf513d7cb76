import { isObject, type Json, type JsonObject } from "./json.js";

/** How a list merges: keyed by fields (`map`), as a set of scalars, or replaced whole (`atomic`). */
/** A map list's `defaults`: what a key field missing from an item stands for (its schema default). */
export type ListType =
  | { type: "map"; keys: readonly string[]; defaults?: Readonly<Record<string, Json>> }
  | { type: "set" }
  | { type: "atomic" };

/**
 * `path` names the fields from the root to the list; list positions on the way are skipped. `atomic`, when
 * given, says which maps and structs are owned and replaced as a whole (`x-kubernetes-map-type: atomic`).
 */
export type ListTypeResolver = ((path: readonly string[], items: readonly Json[]) => ListType) & {
  atomic?: (path: readonly string[]) => boolean;
};

const ATOMIC: ListType = { type: "atomic" };
const SET: ListType = { type: "set" };

/** Merge keys of the built-in kinds' lists (their `patchMergeKey`), by field name. */
const BUILTIN_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  hostAliases: "ip",
  ownerReferences: "uid",
  conditions: "type",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
};

function keyedBy(key: string, items: readonly Json[]): ListType {
  return items.every((item) => isObject(item) && item[key] !== undefined && item[key] !== null)
    ? { type: "map", keys: [key] }
    : ATOMIC;
}

export const builtinListType: ListTypeResolver = (path, items) => {
  const field = path[path.length - 1] ?? "";
  if (field === "finalizers") return SET;
  if (field === "ports") {
    const first = items[0];
    return keyedBy(isObject(first) && first["containerPort"] !== undefined ? "containerPort" : "port", items);
  }
  const key = BUILTIN_KEYS[field];
  return key === undefined ? ATOMIC : keyedBy(key, items);
};

function child(schema: JsonObject, field: string): JsonObject | undefined {
  let node = schema;
  while (isObject(node["items"])) node = node["items"];
  const properties = node["properties"];
  if (isObject(properties) && isObject(properties[field])) return properties[field];
  const additional = node["additionalProperties"];
  return isObject(additional) ? additional : undefined;
}

/** List types of a custom resource, from `x-kubernetes-list-type` in its schema; untyped lists are atomic. */
export function schemaListType(schema: JsonObject | undefined): ListTypeResolver {
  const nodeAt = (path: readonly string[]): JsonObject | undefined => {
    let node: JsonObject | undefined = schema;
    for (const field of path) {
      node = node && child(node, field);
      if (!node) return undefined;
    }
    return node;
  };
  const resolver: ListTypeResolver = (path, items) => {
    if (path[0] === "metadata" || !schema) return builtinListType(path, items);
    let node: JsonObject | undefined = schema;
    for (const field of path) {
      node = child(node, field);
      if (!node) return ATOMIC;
    }
    const listType = node["x-kubernetes-list-type"];
    if (listType === "set") return SET;
    if (listType === "map") {
      const keys = node["x-kubernetes-list-map-keys"];
      if (Array.isArray(keys) && keys.length > 0) return { type: "map", keys: keys.map(String) };
    }
    return ATOMIC;
  };
  resolver.atomic = (path) =>
    path[0] !== "metadata" && schema !== undefined && nodeAt(path)?.["x-kubernetes-map-type"] === "atomic";
  return resolver;
}

/** The key of a list-map item as the real server writes it in managedFields: `{"name":"app"}`. */
export function itemKey(
  item: Json,
  keys: readonly string[],
  defaults: Readonly<Record<string, Json>> = {},
): string {
  const key: JsonObject = {};
  if (isObject(item)) for (const k of keys) key[k] = item[k] ?? defaults[k] ?? null;
  return JSON.stringify(key);
}
