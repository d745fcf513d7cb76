import { clone, deepEqual, isObject, type Json, type JsonObject } from "./json.js";
import { itemKey, type ListTypeResolver } from "./list-types.js";
import { ApiError } from "./status.js";

/**
 * Field ownership as the real server tracks it for server-side apply. A field set holds paths; a path is the
 * fieldsV1 segments (`f:spec`, `k:{"name":"app"}`, `v:"x"`) joined by SEP. A path is in the set when its node
 * is owned itself: a leaf, an empty map, an atomic list, or a list-map item (`.` in fieldsV1).
 */
export type FieldSet = Set<string>;

const SEP = "\n";

/** Which top-level parts of an object a write may own: everything but status, or only status. */
export type FieldScope = "all" | "main" | "status";

export type Operation = "Apply" | "Update";

export interface Manager {
  manager: string;
  operation: Operation;
  /** `status` for writes to the status subresource, else empty. */
  subresource: string;
  apiVersion: string;
}

interface Entry {
  manager: Manager;
  time: string;
  fields: FieldSet;
}

const METADATA_FIELDS = new Set(["labels", "annotations", "finalizers", "ownerReferences"]);

function join(prefix: string, segment: string): string {
  return prefix === "" ? segment : prefix + SEP + segment;
}

/**
 * `containers`: maps, structs and lists are members themselves, as the real server's comparison of two objects
 * counts them (what an Update adds: `.` in fieldsV1); an applied configuration owns only leaves and list items.
 */
function walk(
  value: Json,
  prefix: string,
  names: string[],
  out: FieldSet,
  lists: ListTypeResolver,
  containers: boolean,
): void {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 || containers || lists.atomic?.(names)) out.add(prefix);
    if (lists.atomic?.(names)) return;
    for (const key of keys)
      walk(value[key] as Json, join(prefix, `f:${key}`), [...names, key], out, lists, containers);
    return;
  }
  if (Array.isArray(value) && value.length > 0) {
    const type = lists(names, value);
    if (type.type === "map") {
      if (containers) out.add(prefix);
      for (const item of value) {
        const itemPath = join(prefix, `k:${itemKey(item, type.keys, type.defaults)}`);
        out.add(itemPath);
        if (isObject(item)) {
          for (const key of Object.keys(item)) {
            walk(item[key] as Json, join(itemPath, `f:${key}`), [...names, key], out, lists, containers);
          }
        }
      }
      return;
    }
    if (type.type === "set") {
      if (containers) out.add(prefix);
      for (const item of value) out.add(join(prefix, `v:${JSON.stringify(item)}`));
      return;
    }
  }
  out.add(prefix);
}

export function fieldSet(
  object: JsonObject,
  lists: ListTypeResolver,
  scope: FieldScope,
  containers = false,
): FieldSet {
  const out: FieldSet = new Set();
  for (const [key, value] of Object.entries(object)) {
    if (key === "apiVersion" || key === "kind") continue;
    if (scope === "status" ? key !== "status" : scope === "main" && key === "status") continue;
    if (key === "metadata") {
      if (!isObject(value)) continue;
      for (const [metaKey, metaValue] of Object.entries(value)) {
        if (METADATA_FIELDS.has(metaKey))
          walk(metaValue, `f:metadata${SEP}f:${metaKey}`, ["metadata", metaKey], out, lists, containers);
      }
      continue;
    }
    walk(value, `f:${key}`, [key], out, lists, containers);
  }
  return out;
}

interface TreeNode {
  self: boolean;
  children: Map<string, TreeNode>;
}

export function toFieldsV1(fields: FieldSet): JsonObject {
  const root: TreeNode = { self: false, children: new Map() };
  for (const path of fields) {
    let node = root;
    for (const segment of path.split(SEP)) {
      let next = node.children.get(segment);
      if (!next) {
        next = { self: false, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.self = true;
  }
  const encode = (node: TreeNode): JsonObject => {
    const out: JsonObject = {};
    if (node.self && node.children.size > 0) out["."] = {};
    for (const key of [...node.children.keys()].sort()) out[key] = encode(node.children.get(key) as TreeNode);
    return out;
  };
  return encode(root);
}

export function fromFieldsV1(tree: Json | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: Json | undefined, prefix: string): void => {
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && prefix !== "") out.add(prefix);
    for (const key of keys) {
      if (key === ".") out.add(prefix);
      else visit(node[key], join(prefix, key));
    }
  };
  visit(tree, "");
  return out;
}

function findItem(list: Json[], segment: string): number {
  if (segment.startsWith("v:")) {
    const wanted = JSON.parse(segment.slice(2)) as Json;
    return list.findIndex((item) => deepEqual(item, wanted));
  }
  const wanted = JSON.parse(segment.slice(2)) as JsonObject;
  const keys = Object.keys(wanted);
  return list.findIndex((item) => isObject(item) && keys.every((k) => deepEqual(item[k] ?? null, wanted[k])));
}

function step(node: Json | undefined, segment: string): Json | undefined {
  if (segment.startsWith("f:")) return isObject(node) ? node[segment.slice(2)] : undefined;
  if (!Array.isArray(node)) return undefined;
  return node[findItem(node, segment)];
}

export function valueAt(object: Json, path: string): Json | undefined {
  let node: Json | undefined = object;
  for (const segment of path.split(SEP)) {
    node = step(node, segment);
    if (node === undefined) return undefined;
  }
  return node;
}

/** Removes the node at `path`, then any map it leaves empty. */
function removePath(object: JsonObject, path: string): void {
  const segments = path.split(SEP);
  const parents: Json[] = [object];
  for (const segment of segments.slice(0, -1)) {
    const next = step(parents[parents.length - 1], segment);
    if (next === undefined) return;
    parents.push(next);
  }
  for (let i = segments.length - 1; i >= 0; i--) {
    const parent = parents[i];
    const segment = segments[i] ?? "";
    if (segment.startsWith("f:") && isObject(parent)) delete parent[segment.slice(2)];
    else if (Array.isArray(parent)) {
      const at = findItem(parent, segment);
      if (at >= 0) parent.splice(at, 1);
    }
    const emptied = isObject(parent) && Object.keys(parent).length === 0 && i > 1;
    if (!emptied) return;
  }
}

/** Readable path as the real server prints it in conflicts: `.spec.containers[name="app"].image`. */
export function describePath(path: string): string {
  return path
    .split(SEP)
    .map((segment) => {
      if (segment.startsWith("f:")) return `.${segment.slice(2)}`;
      if (segment.startsWith("v:")) return `[=${segment.slice(2)}]`;
      const key = JSON.parse(segment.slice(2)) as JsonObject;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    })
    .join("");
}

function sameManager(a: Manager, b: Manager): boolean {
  return a.manager === b.manager && a.operation === b.operation && a.subresource === b.subresource;
}

function decode(object: JsonObject | undefined): Entry[] {
  const metadata = object?.["metadata"];
  const raw = isObject(metadata) ? metadata["managedFields"] : undefined;
  if (!Array.isArray(raw)) return [];
  return raw.filter(isObject).map((e) => ({
    manager: {
      manager: typeof e["manager"] === "string" ? e["manager"] : "",
      operation: e["operation"] === "Apply" ? "Apply" : "Update",
      subresource: typeof e["subresource"] === "string" ? e["subresource"] : "",
      apiVersion: typeof e["apiVersion"] === "string" ? e["apiVersion"] : "",
    },
    time: typeof e["time"] === "string" ? e["time"] : "",
    fields: fromFieldsV1(e["fieldsV1"]),
  }));
}

/** The real server's order: Apply before Update, then by time (seconds), manager, apiVersion, subresource. */
function compareEntries(p: Entry, q: Entry): number {
  const by = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return (
    by(p.manager.operation, q.manager.operation) ||
    by(p.time, q.time) ||
    by(p.manager.manager, q.manager.manager) ||
    by(p.manager.apiVersion, q.manager.apiVersion) ||
    by(p.manager.subresource, q.manager.subresource)
  );
}

function encode(entries: Entry[]): Json[] {
  return [...entries]
    .sort(compareEntries)
    .filter((e) => e.fields.size > 0)
    .map((e) => {
      const out: JsonObject = {
        manager: e.manager.manager,
        operation: e.manager.operation,
        apiVersion: e.manager.apiVersion,
        time: e.time,
        fieldsType: "FieldsV1",
        fieldsV1: toFieldsV1(e.fields),
      };
      if (e.manager.subresource !== "") out["subresource"] = e.manager.subresource;
      return out;
    });
}

function isLeafValuePath(path: string): boolean {
  const last = path.slice(path.lastIndexOf(SEP) + 1);
  return last.startsWith("f:");
}

function entryFor(entries: Entry[], manager: Manager, now: string): Entry {
  let entry = entries.find((e) => sameManager(e.manager, manager));
  if (!entry) {
    entry = { manager, time: now, fields: new Set() };
    entries.push(entry);
  }
  entry.manager = manager;
  return entry;
}

/**
 * managedFields after a non-apply write (create, update, patch): the writer takes every field it changed,
 * the others lose those fields, and removed fields leave every owner.
 */
export function recordUpdate(
  before: JsonObject | undefined,
  after: JsonObject,
  manager: Manager,
  lists: ListTypeResolver,
  scope: FieldScope,
  now: string,
  zero: JsonObject = {},
): Json[] {
  const entries = decode(before);
  // What a create compares with: the kind's zero value (the real server's Go structs that are always there).
  const oldSet = fieldSet(before ?? zero, lists, scope, true);
  const newSet = fieldSet(after, lists, scope, true);
  // A map, struct or list that holds members changes only by its members; a leaf (or atomic value) by its value.
  const parents = new Set<string>();
  for (const p of newSet) {
    for (let i = p.lastIndexOf(SEP); i > 0; i = p.lastIndexOf(SEP, i - 1)) parents.add(p.slice(0, i));
  }
  const changed = [...newSet].filter(
    (p) =>
      !oldSet.has(p) ||
      (!parents.has(p) && isLeafValuePath(p) && !deepEqual(valueAt(before ?? zero, p), valueAt(after, p))),
  );
  const removed = [...oldSet].filter((p) => !newSet.has(p));
  for (const entry of entries) {
    for (const p of removed) entry.fields.delete(p);
    if (!sameManager(entry.manager, manager)) for (const p of changed) entry.fields.delete(p);
  }
  if (changed.length > 0) {
    const entry = entryFor(entries, manager, now);
    for (const p of changed) entry.fields.add(p);
    entry.time = now;
  }
  return encode(entries);
}

/**
 * Server-side apply: merges `applied` into `live`, removes fields this manager applied before and no longer
 * applies (unless someone else owns them), and refuses to change another manager's field unless forced.
 * Returns the merged object carrying its new managedFields.
 */
/**
 * Fills the key fields that list-map items of an applied configuration leave out with their defaults (a
 * container port's protocol), as the real server does before it compares the configuration with the object.
 */
function withKeyDefaults(value: Json, names: string[], lists: ListTypeResolver): Json {
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value))
      out[key] = withKeyDefaults(child, [...names, key], lists);
    return out;
  }
  if (!Array.isArray(value)) return value;
  const type = lists(names, value);
  return value.map((item) => {
    const filled = withKeyDefaults(item, names, lists);
    if (type.type !== "map" || !isObject(filled) || !type.defaults) return filled;
    for (const key of type.keys) {
      const fallback = type.defaults[key];
      if (filled[key] === undefined && fallback !== undefined) filled[key] = clone(fallback);
    }
    return filled;
  });
}

export function applyConfig(
  live: JsonObject | undefined,
  configuration: JsonObject,
  manager: Manager,
  lists: ListTypeResolver,
  scope: FieldScope,
  force: boolean,
  now: string,
): JsonObject {
  const entries = decode(live);
  // What the manager owns is what it applied (a defaulted key field is not among it); the defaults only let its
  // items be found in the object.
  const applied = withKeyDefaults(configuration, [], lists) as JsonObject;
  const appliedSet = fieldSet(configuration, lists, scope);
  const conflicts: { entry: Entry; path: string }[] = [];
  if (live) {
    for (const entry of entries) {
      if (sameManager(entry.manager, manager)) continue;
      for (const path of appliedSet) {
        if (!entry.fields.has(path) || !isLeafValuePath(path)) continue;
        const current = valueAt(live, path);
        if (current !== undefined && !deepEqual(current, valueAt(applied, path)))
          conflicts.push({ entry, path });
      }
    }
  }
  if (conflicts.length > 0 && !force) throw conflictError(conflicts, manager.apiVersion);
  for (const { entry, path } of conflicts) entry.fields.delete(path);

  const merged = live ? (mergeApplied(live, applied, [], lists) as JsonObject) : clone(applied);
  const own = entryFor(entries, manager, now);
  // Only what the manager owned as a value goes: a map or list it owned as a container (an Update's `.`, kept
  // when kubectl moves a client-side apply's fields to server-side apply) stays while anything is left in it.
  const containers = new Set<string>();
  for (const p of own.fields) {
    for (let i = p.lastIndexOf(SEP); i > 0; i = p.lastIndexOf(SEP, i - 1)) containers.add(p.slice(0, i));
  }
  for (const path of own.fields) {
    if (appliedSet.has(path) || containers.has(path)) continue;
    if (entries.some((e) => e !== own && e.fields.has(path))) continue;
    removePath(merged, path);
  }
  own.fields = appliedSet;
  own.time = now;
  const metadata = merged["metadata"];
  if (isObject(metadata)) metadata["managedFields"] = encode(entries);
  return merged;
}

function conflictError(conflicts: { entry: Entry; path: string }[], apiVersion: string): ApiError {
  // The real server names the other manager's apiVersion only when it is not the one being applied.
  const who = (e: Entry): string =>
    e.manager.apiVersion === apiVersion
      ? `"${e.manager.manager}"`
      : `"${e.manager.manager}" using ${e.manager.apiVersion}`;
  const causes = conflicts.map(({ entry, path }) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${who(entry)}`,
    field: describePath(path),
  }));
  const byManager = new Map<string, string[]>();
  for (const { entry, path } of conflicts) {
    byManager.set(who(entry), [...(byManager.get(who(entry)) ?? []), describePath(path)]);
  }
  const n = conflicts.length;
  const first = conflicts[0];
  const message =
    n === 1 && first
      ? `Apply failed with 1 conflict: conflict with ${who(first.entry)}: ${describePath(first.path)}`
      : `Apply failed with ${n} conflicts: ${[...byManager]
          .map(([manager, paths]) => `conflicts with ${manager}:\n${paths.map((p) => `- ${p}`).join("\n")}`)
          .join("\n")}`;
  return new ApiError(409, "Conflict", message, { causes });
}

function mergeApplied(live: Json | undefined, applied: Json, names: string[], lists: ListTypeResolver): Json {
  if (isObject(applied)) {
    if (!isObject(live)) return clone(applied);
    const out: JsonObject = { ...live };
    for (const [key, value] of Object.entries(applied))
      out[key] = mergeApplied(live[key], value, [...names, key], lists);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const type = lists(names, [...live, ...applied]);
    if (type.type === "map") {
      const out = [...live];
      for (const item of applied) {
        const key = itemKey(item, type.keys, type.defaults);
        const at = out.findIndex((existing) => itemKey(existing, type.keys, type.defaults) === key);
        if (at >= 0) out[at] = mergeApplied(out[at], item, names, lists);
        else out.push(clone(item));
      }
      return out;
    }
    if (type.type === "set") {
      const out = [...live];
      for (const item of applied) if (!out.some((v) => deepEqual(v, item))) out.push(clone(item));
      return out;
    }
  }
  return clone(applied);
}
