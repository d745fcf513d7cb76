/**
 * Provider methods that change the world (Kubernetes, DNS, GKE, GKE Hub, the sandbox provisioner). A client that
 * `plan`, `verify`, a gate or `status` reaches through {@link readerClients} refuses them.
 */
const WRITE_METHODS: ReadonlySet<string> = new Set([
  "apply",
  "create",
  "replace",
  "delete",
  "changeRecordSets",
  "createCluster",
  "deleteCluster",
  "createMembership",
  "deleteMembership",
  "enableFeature",
  "disableFeature",
  "addCluster",
  "removeCluster",
]);

/** Thrown when read-only code calls a writer: the step broke the contract that plans only read. */
export class ReadOnlyClientError extends Error {
  override readonly name = "ReadOnlyClientError";
}

const readers = new WeakMap<object, object>();

/** `client` with every write method replaced by one that throws {@link ReadOnlyClientError}. */
export function readerOf<T>(client: T, key = "client"): T {
  if (typeof client !== "object" || client === null) return client;
  const cached = readers.get(client);
  if (cached) return cached as T;
  const reader = new Proxy(client, {
    get(target, property, receiver) {
      if (typeof property === "string" && WRITE_METHODS.has(property)) {
        return () =>
          Promise.reject(
            new ReadOnlyClientError(
              `${key}.${property}: a plan, verify or status tried to write; they get readers only: this is a bug`,
            ),
          );
      }
      const value: unknown = Reflect.get(target, property, receiver);
      // Methods run on the client itself: private state (and #fields) is not reachable through the proxy.
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set: () => false,
  });
  readers.set(client, reader);
  return reader;
}

/**
 * The run's memoized clients (`kube:<context>`, `dns:<provider>`) as plan and verify see them: the same clients,
 * made and memoized in the same map, handed out as readers. Apply gets the map behind it ({@link writerClients}).
 */
export class ReaderClientMap extends Map<string, unknown> {
  constructor(readonly writers: Map<string, unknown>) {
    super();
  }

  override get(key: string): unknown {
    return this.writers.has(key) ? readerOf(this.writers.get(key), key) : undefined;
  }

  override set(key: string, value: unknown): this {
    this.writers.set(key, value);
    return this;
  }

  override has(key: string): boolean {
    return this.writers.has(key);
  }

  override delete(key: string): boolean {
    return this.writers.delete(key);
  }

  override clear(): void {
    this.writers.clear();
  }

  override get size(): number {
    return this.writers.size;
  }

  override keys(): MapIterator<string> {
    return this.writers.keys();
  }

  override *entries(): MapIterator<[string, unknown]> {
    for (const [key, value] of this.writers) yield [key, readerOf(value, key)];
  }

  override *values(): MapIterator<unknown> {
    for (const [key, value] of this.writers) yield readerOf(value, key);
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(callback: (value: unknown, key: string, map: Map<string, unknown>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

export function readerClients(clients: Map<string, unknown>): Map<string, unknown> {
  return clients instanceof ReaderClientMap ? clients : new ReaderClientMap(clients);
}

export function writerClients(clients: Map<string, unknown>): Map<string, unknown> {
  return clients instanceof ReaderClientMap ? clients.writers : clients;
}
