import { metadataOf, type JsonObject } from "./json.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  readonly rv: number;
  readonly type: EventType;
  /** `resourceKey` of the object's type. */
  readonly key: string;
  readonly namespace: string;
  readonly object: JsonObject;
  /**
   * The object before a MODIFIED or DELETED event: for watches whose selector it stops (or starts) matching, and
   * to see the collection as it was at an earlier resourceVersion.
   */
  readonly previous?: JsonObject;
}

export type StoreListener = (event: StoreEvent) => void;

const LOG_LIMIT = 50_000;
const LOG_TRIM = 10_000;

/**
 * Objects of one cluster, indexed by type, namespace and name, with one resourceVersion counter and a bounded
 * event log from which watches resume. Stored objects are never mutated: every write stores a new object.
 */
export class ObjectStore {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, Map<string, JsonObject>>>();
  private readonly log: StoreEvent[] = [];
  /** Events at or below this resourceVersion are gone from the log. */
  private compactedTo = 0;
  private readonly listeners = new Set<StoreListener>();
  private readonly queue: StoreEvent[] = [];
  private delivering = false;

  get resourceVersion(): number {
    return this.rv;
  }

  get(key: string, namespace: string, name: string): JsonObject | undefined {
    return this.objects.get(key)?.get(namespace)?.get(name);
  }

  /** Objects of a type, in one namespace or all, sorted by namespace then name like etcd keys. */
  list(key: string, namespace?: string): JsonObject[] {
    const byNamespace = this.objects.get(key);
    if (!byNamespace) return [];
    const namespaces = namespace === undefined ? [...byNamespace.keys()].sort() : [namespace];
    const out: JsonObject[] = [];
    for (const ns of namespaces) {
      const byName = byNamespace.get(ns);
      if (!byName) continue;
      for (const name of [...byName.keys()].sort()) out.push(byName.get(name) as JsonObject);
    }
    return out;
  }

  count(key: string, namespace?: string): number {
    const byNamespace = this.objects.get(key);
    if (!byNamespace) return 0;
    if (namespace !== undefined) return byNamespace.get(namespace)?.size ?? 0;
    let n = 0;
    for (const byName of byNamespace.values()) n += byName.size;
    return n;
  }

  /** Stores (or removes, for DELETED) the object under a new resourceVersion, which it writes into it. */
  commit(type: EventType, key: string, object: JsonObject, previous?: JsonObject): JsonObject {
    const metadata: JsonObject = { ...metadataOf(object), resourceVersion: String(++this.rv) };
    const stored: JsonObject = { ...object, metadata };
    const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "";
    const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
    let byNamespace = this.objects.get(key);
    if (!byNamespace) {
      byNamespace = new Map();
      this.objects.set(key, byNamespace);
    }
    let byName = byNamespace.get(namespace);
    if (!byName) {
      byName = new Map();
      byNamespace.set(namespace, byName);
    }
    previous ??= byName.get(name);
    if (type === "DELETED") {
      byName.delete(name);
      if (byName.size === 0) byNamespace.delete(namespace);
    } else {
      byName.set(name, stored);
    }
    const event: StoreEvent = previous
      ? { rv: this.rv, type, key, namespace, object: stored, previous }
      : { rv: this.rv, type, key, namespace, object: stored };
    this.log.push(event);
    if (this.log.length > LOG_LIMIT) {
      const dropped = this.log.splice(0, LOG_TRIM);
      this.compactedTo = dropped[dropped.length - 1]?.rv ?? this.compactedTo;
    }
    this.deliver(event);
    return stored;
  }

  /** Events after `rv`, or undefined when the log no longer reaches back that far. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedTo) return undefined;
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid]?.rv ?? 0) <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo);
  }

  /**
   * Objects of a type (in one namespace or all, sorted like `list`) as they were at resourceVersion `rv`, or
   * undefined when the event log no longer reaches back that far: what a continued list pages through.
   */
  listAt(key: string, rv: number, namespace?: string): JsonObject[] | undefined {
    const later = this.eventsSince(rv);
    if (later === undefined) return undefined;
    const at = new Map<string, JsonObject>();
    const id = (o: JsonObject): string => {
      const metadata = metadataOf(o);
      const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "";
      return `${namespace}\u0000${typeof metadata["name"] === "string" ? metadata["name"] : ""}`;
    };
    for (const object of this.list(key, namespace)) at.set(id(object), object);
    for (let i = later.length - 1; i >= 0; i--) {
      const event = later[i] as StoreEvent;
      if (event.key !== key || (namespace !== undefined && event.namespace !== namespace)) continue;
      if (event.type === "ADDED") at.delete(id(event.object));
      else if (event.previous) at.set(id(event.previous), event.previous);
    }
    return [...at.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, object]) => object);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listeners that write (controllers) queue their events behind the current one, so every listener sees order. */
  private deliver(event: StoreEvent): void {
    this.queue.push(event);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(next);
          } catch {
            // A failing watcher or controller must not stop the others from seeing the event.
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
