export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Stored objects are never mutated in place, so every write starts from a copy. */
export function clone<T extends Json>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => clone(item)) as T;
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) out[key] = clone(value[key] as Json);
    return out as T;
  }
  return value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) if (!(key in b) || !deepEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

export function objectAt(parent: JsonObject, key: string): JsonObject | undefined {
  const value = parent[key];
  return isObject(value) ? value : undefined;
}

export function stringAt(parent: JsonObject | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === "string" ? value : undefined;
}

/** An object's metadata, or an empty object when it has none (for reading). */
export function metadataOf(object: JsonObject): JsonObject {
  return objectAt(object, "metadata") ?? {};
}

/** Timestamps as the API server writes them: RFC 3339, whole seconds, UTC. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Returns the child object, creating (and attaching) it when absent or not an object. */
export function ensureObject(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/**
 * Keys that appear twice in one object of a JSON text (dotted paths, in order), which JSON.parse silently
 * collapses and the real server's strict decoder reports. Assumes the text parsed as JSON.
 */
export function duplicateFields(text: string): string[] {
  const found: string[] = [];
  const stack: { keys: Set<string>; path: string; key: string | undefined; array: boolean }[] = [];
  let i = 0;
  let expectingKey = false;
  const readString = (): string => {
    let out = "";
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        out += text.slice(i, i + 2);
        i += 2;
      } else {
        out += text[i];
        i++;
      }
    }
    i++;
    return JSON.parse(`"${out}"`) as string;
  };
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return "";
    if (top.array) return top.path;
    return top.path === "" ? (top.key ?? "") : `${top.path}.${top.key ?? ""}`;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "{") {
      stack.push({ keys: new Set(), path: childPath(), key: undefined, array: false });
      expectingKey = true;
      i++;
    } else if (c === "[") {
      stack.push({ keys: new Set(), path: childPath(), key: undefined, array: true });
      i++;
    } else if (c === "}" || c === "]") {
      stack.pop();
      i++;
    } else if (c === ",") {
      expectingKey = stack[stack.length - 1]?.array === false;
      i++;
    } else if (c === '"') {
      const value = readString();
      const top = stack[stack.length - 1];
      if (expectingKey && top && !top.array) {
        const path = top.path === "" ? value : `${top.path}.${value}`;
        if (top.keys.has(value)) found.push(path);
        top.keys.add(value);
        top.key = value;
        expectingKey = false;
      }
    } else {
      i++;
    }
  }
  return found;
}
