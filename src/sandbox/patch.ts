import { clone, deepEqual, isObject, type Json, type JsonObject } from "./json.js";
import { builtinListType, itemKey, type ListTypeResolver } from "./list-types.js";
import { ApiError } from "./status.js";

/** RFC 7386. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function patchError(message: string): ApiError {
  return new ApiError(
    422,
    "Invalid",
    `the server rejected our request due to an error in our request: ${message}`,
  );
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw patchError(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: Json, parts: readonly string[], path: string): Json {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node)
      ? node[Number(part)]
      : isObject(node)
        ? node[part]
        : undefined;
    if (next === undefined) throw patchError(`path "${path}" does not exist`);
    node = next;
  }
  return node;
}

function index(array: Json[], part: string, path: string, allowEnd: boolean): number {
  if (part === "-" && allowEnd) return array.length;
  const i = Number(part);
  if (!/^\d+$/.test(part) || i > array.length || (!allowEnd && i === array.length)) {
    throw patchError(`index out of range in "${path}"`);
  }
  return i;
}

function getAt(doc: Json, path: string): Json {
  const parts = pointer(path);
  if (parts.length === 0) return doc;
  const parent = parentOf(doc, parts, path);
  const last = parts[parts.length - 1] ?? "";
  const value = Array.isArray(parent)
    ? parent[index(parent, last, path, false)]
    : isObject(parent)
      ? parent[last]
      : undefined;
  if (value === undefined) throw patchError(`path "${path}" does not exist`);
  return value;
}

function removeAt(doc: Json, path: string): Json {
  const parts = pointer(path);
  const parent = parentOf(doc, parts, path);
  const last = parts[parts.length - 1] ?? "";
  if (Array.isArray(parent)) return parent.splice(index(parent, last, path, false), 1)[0] ?? null;
  if (isObject(parent) && last in parent) {
    const value = parent[last] ?? null;
    delete parent[last];
    return value;
  }
  throw patchError(`path "${path}" does not exist`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const parts = pointer(path);
  if (parts.length === 0) return value;
  const parent = parentOf(doc, parts, path);
  const last = parts[parts.length - 1] ?? "";
  if (Array.isArray(parent)) {
    const i = index(parent, last, path, !replace);
    parent.splice(i, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw patchError(`path "${path}" does not exist`);
    parent[last] = value;
  } else {
    throw patchError(`path "${path}" does not exist`);
  }
  return doc;
}

/** RFC 6902. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw patchError("a JSON patch must be an array of operations");
  let doc = clone(target);
  for (const op of operations) {
    if (!isObject(op) || typeof op["op"] !== "string" || typeof op["path"] !== "string") {
      throw patchError("each JSON patch operation needs op and path");
    }
    const path = op["path"];
    const value = op["value"] === undefined ? null : clone(op["value"]);
    const from = typeof op["from"] === "string" ? op["from"] : "";
    switch (op["op"]) {
      case "add":
        doc = addAt(doc, path, value, false);
        break;
      case "replace":
        doc = addAt(doc, path, value, true);
        break;
      case "remove":
        removeAt(doc, path);
        break;
      case "move":
        doc = addAt(doc, path, removeAt(doc, from), false);
        break;
      case "copy":
        doc = addAt(doc, path, clone(getAt(doc, from)), false);
        break;
      case "test":
        if (!deepEqual(getAt(doc, path), op["value"])) throw patchError(`test failed for "${path}"`);
        break;
      default:
        throw patchError(`unknown operation "${op["op"]}"`);
    }
  }
  return doc;
}

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_FROM = "$deleteFromPrimitiveList/";

function strategicList(
  target: Json | undefined,
  patch: Json[],
  path: string[],
  lists: ListTypeResolver,
): Json {
  const current = Array.isArray(target) ? target : [];
  if (patch.some((item) => isObject(item) && item[DIRECTIVE] === "replace")) {
    return patch
      .filter((item) => !(isObject(item) && item[DIRECTIVE] === "replace"))
      .map((item) => clone(item));
  }
  const type = lists(path, [...current, ...patch.filter((item) => !(isObject(item) && item[DIRECTIVE]))]);
  if (type.type === "set") {
    const out = [...current];
    for (const item of patch) if (!out.some((v) => deepEqual(v, item))) out.push(clone(item));
    return out;
  }
  if (type.type === "atomic") return patch.map((item) => strategicMerge(undefined, item, path, lists));
  const out = [...current];
  for (const item of patch) {
    const key = itemKey(item, type.keys, type.defaults);
    const at = out.findIndex((existing) => itemKey(existing, type.keys, type.defaults) === key);
    if (isObject(item) && item[DIRECTIVE] === "delete") {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = strategicMerge(out[at], item, path, lists);
    } else {
      out.push(strategicMerge(undefined, item, path, lists));
    }
  }
  return out;
}

/**
 * Strategic merge patch for the built-in kinds: lists with a known merge key merge item by item, other lists
 * are replaced as in a merge patch; `$patch`, `$retainKeys` and `$deleteFromPrimitiveList` directives apply.
 */
export function strategicMerge(
  target: Json | undefined,
  patch: Json,
  path: string[] = [],
  lists: ListTypeResolver = builtinListType,
): Json {
  if (Array.isArray(patch)) return strategicList(target, patch, path, lists);
  if (!isObject(patch)) return clone(patch);
  if (patch[DIRECTIVE] === "delete") return null;
  const replace = patch[DIRECTIVE] === "replace";
  const out: JsonObject = isObject(target) && !replace ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      const list = out[field];
      if (Array.isArray(list) && Array.isArray(value)) {
        out[field] = list.filter((v) => !value.some((d) => deepEqual(d, v)));
      }
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const merged = strategicMerge(out[key], value, [...path, key], lists);
    if (merged === null) delete out[key];
    else out[key] = merged;
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}
