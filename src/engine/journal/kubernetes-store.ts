import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import { LockedError, RuntimeError } from "../errors.js";
import type { JournalEntry } from "../types.js";
import { formatDuration } from "../../playbook/duration.js";
import { isApiStatus } from "../../providers/kubernetes/errors.js";
import type { ClusterPort, KubeObject, ObjectRef } from "../../providers/kubernetes/port.js";
import type { JournalStore, LockHandle, LockHolder } from "./store.js";
import { upgradeEntry } from "../targets.js";

export interface KubernetesStoreOptions {
  /** Journal entries per ConfigMap. */
  chunkEntries?: number;
  /** A chunk is closed before its data passes this size: objects are limited to 1 MiB. */
  chunkBytes?: number;
  leaseDurationSeconds?: number;
  /** How often a held lease is renewed; a third of its duration by default. */
  renewEveryMs?: number;
  /** How long to wait for a namespace being deleted to be gone before making it again. */
  namespaceDeletionTimeoutMs?: number;
  /**
   * This machine's clock, used only when the API server cannot tell its own (a fake port): Lease times are read
   * and written on the server's clock (its `Date` header), so that no runner's clock error moves them.
   */
  now?: () => Date;
}

const MANAGED_BY = { "app.kubernetes.io/managed-by": "clustershift" };

/**
 * A run's journal and lock in a cluster, so that operators and CI runners share one run:
 * entries in ConfigMaps `clustershift-<playbook>-journal-<n>` (chunks of entries keyed by zero-padded seq),
 * sensitive values in Secrets `clustershift-<playbook>-sensitive-<n>`, the lock in a coordination.k8s.io/v1
 * Lease `clustershift-<playbook>`. Every write is a create or a compare-and-swap on the resourceVersion we last
 * saw, so two writers can never both append: the second gets a conflict and stops.
 */
export class KubernetesJournalStore implements JournalStore {
  readonly location: string;
  private readonly journal: ChunkedMap;
  private readonly sensitive: ChunkedMap;
  private readonly leaseRef: ObjectRef;
  private readonly leaseSeconds: number;
  private readonly renewEveryMs: number;
  private readonly namespaceDeletionTimeoutMs: number;
  private readonly now: () => Date;
  private namespaceReady: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private held: Lease | undefined;

  constructor(
    private readonly port: ClusterPort,
    readonly playbookName: string,
    readonly namespace: string,
    options: KubernetesStoreOptions = {},
  ) {
    const base = `clustershift-${playbookName}`;
    this.location = `kubernetes://${port.context}/${namespace}/${base}`;
    const chunk = { maxEntries: options.chunkEntries ?? 50, maxBytes: options.chunkBytes ?? 512 * 1024 };
    this.journal = new ChunkedMap(port, namespace, "ConfigMap", `${base}-journal`, playbookName, chunk);
    this.sensitive = new ChunkedMap(port, namespace, "Secret", `${base}-sensitive`, playbookName, chunk);
    this.leaseRef = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace, name: base };
    this.leaseSeconds = options.leaseDurationSeconds ?? 60;
    this.renewEveryMs = options.renewEveryMs ?? (this.leaseSeconds * 1000) / 3;
    this.namespaceDeletionTimeoutMs = options.namespaceDeletionTimeoutMs ?? 2 * 60_000;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Reads only (`plan` and `status` come here): a namespace or journal not made yet lists as empty, and nothing is
   * created until the first write.
   */
  async read(): Promise<JournalEntry[]> {
    const records = [...(await this.journal.load())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const entries: JournalEntry[] = [];
    for (const [index, [key, text]] of records.entries()) {
      try {
        entries.push(upgradeEntry(JSON.parse(text) as JournalEntry));
      } catch (error) {
        // Only the newest record may be torn (written by hand or cut short); damage elsewhere must not be hidden.
        if (index === records.length - 1) break;
        throw new RuntimeError(`${this.location}: unreadable journal record ${key}`, { cause: error });
      }
    }
    return entries;
  }

  append(entry: JournalEntry): Promise<void> {
    return this.serialized(async () => {
      await this.held?.assertHeld();
      await this.journal.put(seqKey(entry.seq), JSON.stringify(entry), { unique: true });
    });
  }

  async lock(holder: LockHolder, warn: (message: string) => void): Promise<LockHandle> {
    await this.ensureNamespace();
    const identity = `${holder.pid}@${holder.host}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.port.get(this.leaseRef);
      // Before the time is read: what the Lease we write can be counted on for runs from here.
      const renewedAt = performance.now();
      const now = await this.serverNow();
      const desired = this.leaseObject(identity, holder, now, current);
      try {
        if (!current) return this.hold(await this.port.create(desired), warn, renewedAt);
        const spec = leaseSpec(current);
        const owner = holderOf(current);
        if (spec.holderIdentity) {
          const stale = staleReason(current, now);
          if (stale === undefined) {
            throw new LockedError(`locked by pid ${owner.pid} on ${owner.host} since ${owner.since}`);
          }
          warn(`taking over the lock of pid ${owner.pid} on ${owner.host} (since ${owner.since}): ${stale}`);
        }
        return this.hold(
          await this.port.replace(desired, { resourceVersion: current.metadata.resourceVersion ?? "" }),
          warn,
          renewedAt,
        );
      } catch (error) {
        // Another process created or took the lease between our read and write: look again.
        if (!isApiStatus(error, 409)) throw error;
      }
    }
    throw new LockedError(`${this.location}: the lease keeps changing hands; another process is taking it`);
  }

  putSensitive(key: string, value: unknown): Promise<void> {
    return this.serialized(() => this.sensitive.put(sensitiveKey(key), JSON.stringify(value), {}));
  }

  async holder(): Promise<LockHolder | undefined> {
    const current = await this.port.get(this.leaseRef);
    const live =
      current &&
      leaseSpec(current).holderIdentity &&
      staleReason(current, await this.serverNow()) === undefined;
    return live ? holderOf(current) : undefined;
  }

  async getSensitive(key: string): Promise<unknown> {
    const text = (await this.sensitive.load()).get(sensitiveKey(key));
    if (text === undefined) throw new RuntimeError(`${this.location}: no sensitive value ${key}`);
    return JSON.parse(text) as unknown;
  }

  dropSensitive(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return this.serialized(() => this.sensitive.remove(keys.map(sensitiveKey)));
  }

  async clear(): Promise<void> {
    this.held?.stop();
    await this.journal.clear();
    await this.sensitive.clear();
    await this.port.delete(this.leaseRef);
    this.held = undefined;
  }

  toString(): string {
    return `kubernetes journal of ${this.playbookName} (${this.location})`;
  }

  /**
   * Steps journal from parallel writes; each chunk takes one write at a time (a second one in flight would
   * conflict with the first), in the order given.
   */
  private serialized(write: () => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      await this.ensureNamespace();
      await write();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private ensureNamespace(): Promise<void> {
    this.namespaceReady ??= (async () => {
      const ref = { apiVersion: "v1", kind: "Namespace", name: this.namespace };
      let current: KubeObject | undefined;
      try {
        current = await this.port.get(ref);
      } catch (error) {
        // Allowed into the namespace but not to read Namespaces: it exists, or writes will say so.
        if (isApiStatus(error, 403)) return;
        throw error;
      }
      if (current?.metadata.deletionTimestamp !== undefined) {
        // A namespace being deleted refuses new content (403) and takes its content with it: someone cleaned up
        // the state just before this run. Wait for the namespace controller to finish, then make it again.
        const since = current.metadata.deletionTimestamp;
        await this.waitForNamespaceGone(ref, typeof since === "string" ? since : "a moment ago");
      } else if (current) {
        return;
      }
      try {
        await this.port.create({ ...ref, metadata: { name: this.namespace, labels: MANAGED_BY } });
      } catch (error) {
        if (!isApiStatus(error, 409)) throw error;
      }
    })();
    this.namespaceReady.catch(() => (this.namespaceReady = undefined));
    return this.namespaceReady;
  }

  private async waitForNamespaceGone(ref: ObjectRef, since: string): Promise<void> {
    try {
      await this.port.waitFor(
        ref,
        (object) => (object ? undefined : true),
        this.namespaceDeletionTimeoutMs,
        () => {},
      );
    } catch (error) {
      throw new RuntimeError(
        `${this.location}: namespace ${this.namespace} is being deleted (since ${since}) and still is after ` +
          `${formatDuration(this.namespaceDeletionTimeoutMs)}; its content is not going away ` +
          `(see \`kubectl get namespace ${this.namespace} -o yaml\` for what holds it, e.g. finalizers)`,
        { cause: error },
      );
    }
  }

  private leaseObject(
    identity: string,
    holder: LockHolder,
    now: Date,
    current: KubeObject | undefined,
  ): KubeObject {
    const transitions = current ? (leaseSpec(current).leaseTransitions ?? 0) + 1 : 0;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.leaseRef.name,
        namespace: this.namespace,
        labels: { ...MANAGED_BY, "clustershift.dev/playbook": this.playbookName },
        annotations: {
          "clustershift.dev/pid": String(holder.pid),
          "clustershift.dev/host": holder.host,
          "clustershift.dev/since": holder.since,
        },
      },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  /**
   * The server's time (rounded down to its Date header's second), or this machine's when the port cannot tell:
   * Lease renewTimes are written and judged on it, so a runner whose clock is minutes ahead or behind neither
   * takes over a live Lease nor makes its own look expired.
   */
  private async serverNow(): Promise<Date> {
    if (!this.port.serverTime) return this.now();
    return new Date((await this.port.serverTime()).ms);
  }

  private hold(lease: KubeObject, warn: (message: string) => void, renewedAt: number): LockHandle {
    const held = new Lease(
      this.port,
      lease,
      this.renewEveryMs,
      this.leaseSeconds * 1000,
      () => this.serverNow(),
      warn,
      this.location,
      renewedAt,
    );
    this.held = held;
    return {
      release: async () => {
        await held.release();
        if (this.held === held) this.held = undefined;
      },
    };
  }
}

/**
 * A held Lease, renewed in the background by compare-and-swap on its resourceVersion, its renewTime on the server's
 * clock. Losing it (taken over, deleted) stops further appends. A process that could not renew for half the lease
 * (stopped by SIGSTOP, a suspended machine, a starved event loop) renews before its next append: if nobody took
 * the Lease meanwhile the swap succeeds and the run goes on (nobody wanted it, and it was never another's); if
 * someone did, it fails and the append is refused before anything is written.
 */
class Lease {
  lost: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> = Promise.resolve();
  private inFlight = false;

  constructor(
    private readonly port: ClusterPort,
    private lease: KubeObject,
    renewEveryMs: number,
    private readonly durationMs: number,
    private readonly serverNow: () => Promise<Date>,
    private readonly warn: (message: string) => void,
    private readonly location: string,
    /** performance.now() before the server time of the last successful write of the Lease was read. */
    private renewedAt: number,
  ) {
    this.timer = setInterval(() => void this.renewOnce(), renewEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Throws LockedError unless the Lease is still ours, renewing it first when it may have run out. */
  async assertHeld(): Promise<void> {
    if (!this.lost && performance.now() - this.renewedAt > this.durationMs / 2) {
      await this.renewing;
      if (performance.now() - this.renewedAt > this.durationMs / 2) await this.renewOnce();
    }
    if (this.lost) throw new LockedError(`${this.location}: ${this.lost}`);
  }

  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    if (this.lost) return;
    const spec = { ...leaseSpec(this.lease) };
    delete spec.holderIdentity;
    try {
      await this.port.replace(
        { ...this.lease, spec },
        { resourceVersion: this.lease.metadata.resourceVersion ?? "" },
      );
    } catch (error) {
      // Already taken over or removed: nothing of ours to release.
      if (!isApiStatus(error, 409) && !isApiStatus(error, 404)) throw error;
    }
  }

  private renewOnce(): Promise<void> {
    // A renewal still retrying (a slow or lossy API server) holds the version the next one would swap on: a
    // second one in flight would conflict with it and take our own lease for a takeover.
    if (this.inFlight) return this.renewing;
    this.inFlight = true;
    this.renewing = this.renew().finally(() => (this.inFlight = false));
    return this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const started = performance.now();
    const away = started - this.renewedAt;
    try {
      const spec = { ...leaseSpec(this.lease), renewTime: microTime(await this.serverNow()) };
      this.lease = await this.port.replace(
        { ...this.lease, spec },
        { resourceVersion: this.lease.metadata.resourceVersion ?? "" },
      );
      this.renewedAt = started;
    } catch (error) {
      if (isApiStatus(error, 409) || isApiStatus(error, 404)) {
        this.lost =
          away > this.durationMs
            ? `the lock was taken over by another process while this one could not renew its lease for ${formatDuration(away)} (stopped or suspended?); stopped before writing anything more`
            : "the lock was taken over by another process";
        this.stop();
        this.warn(this.lost);
      }
      // Other failures: the next tick tries again while the lease still runs.
    }
  }
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

function leaseSpec(lease: KubeObject): LeaseSpec {
  return lease.spec ?? {};
}

/** Why a held lease may be taken over, or undefined while its holder may still be at work. */
function staleReason(lease: KubeObject, now: Date): string | undefined {
  const spec = leaseSpec(lease);
  const owner = holderOf(lease);
  if (owner.host === hostname() && !isAlive(owner.pid)) return "that process is gone";
  const expiresAt =
    Date.parse(spec.renewTime ?? spec.acquireTime ?? "") + (spec.leaseDurationSeconds ?? 0) * 1000;
  // `now` is the server's time rounded down to its second, and so is a renewTime written by clustershift: a lease
  // counts as expired only a second past its end, so that rounding never makes a live one look expired.
  // A lease without times cannot be shown to be live: treat it as expired.
  if (!(expiresAt + 1000 > now.getTime()))
    return `its lease expired at ${new Date(expiresAt || 0).toISOString()}`;
  return undefined;
}

function holderOf(lease: KubeObject): { pid: number; host: string; since: string } {
  const annotations = lease.metadata.annotations ?? {};
  const spec = leaseSpec(lease);
  const [pid = "?", host = "?"] = (spec.holderIdentity ?? "").split("@");
  return {
    pid: Number(annotations["clustershift.dev/pid"] ?? pid),
    host: annotations["clustershift.dev/host"] ?? host,
    since: annotations["clustershift.dev/since"] ?? spec.acquireTime ?? "?",
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== "ESRCH";
  }
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function seqKey(seq: number): string {
  return String(seq).padStart(10, "0");
}

/** Secret keys allow `[-._a-zA-Z0-9]`; anything else is hashed. */
function sensitiveKey(key: string): string {
  return /^[-._a-zA-Z0-9]{1,200}$/.test(key)
    ? key
    : `h-${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
}

interface Chunk {
  index: number;
  resourceVersion: string;
  data: Record<string, string>;
  bytes: number;
}

/**
 * A string map spread over numbered ConfigMaps or Secrets. New entries go into the newest chunk by
 * compare-and-swap, or into a new chunk by create-only; a conflict means another writer and is never retried.
 */
class ChunkedMap {
  private tail: Chunk | undefined;
  /** Every record, once loaded; later chunks win. */
  private values: Map<string, string> | undefined;

  constructor(
    private readonly port: ClusterPort,
    private readonly namespace: string,
    private readonly kind: "ConfigMap" | "Secret",
    private readonly prefix: string,
    private readonly playbook: string,
    private readonly limits: { maxEntries: number; maxBytes: number },
  ) {}

  private get selector(): string {
    return `clustershift.dev/playbook=${this.playbook},clustershift.dev/part=${this.kind === "Secret" ? "sensitive" : "journal"}`;
  }

  async load(): Promise<Map<string, string>> {
    const chunks = (
      await this.port.list("v1", this.kind, { namespace: this.namespace, labelSelector: this.selector })
    )
      .map((object) => this.chunkOf(object))
      .filter((chunk): chunk is Chunk => chunk !== undefined)
      .sort((a, b) => a.index - b.index);
    this.tail = chunks[chunks.length - 1];
    this.values = new Map(chunks.flatMap((chunk) => Object.entries(chunk.data)));
    return assembled(this.values);
  }

  /**
   * `unique`: a readable record under `key` means another writer (journal); otherwise the newest chunk wins.
   * A record bigger than a chunk is split: its parts go first, each into chunks of its own, and the record's
   * key last, holding a manifest (count and SHA-256 of the whole). A writer killed between them leaves parts
   * without a manifest, which no reader returns: the record is whole or absent.
   */
  async put(key: string, value: string, options: { unique?: boolean }): Promise<void> {
    if (!this.values) await this.load();
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (options.unique && isJson(this.values?.get(key))) {
      throw new LockedError(
        `${this.prefix}: record ${key} already exists; another process is writing this journal`,
      );
    }
    if (size > this.limits.maxBytes) {
      const parts = splitUtf8(value, this.limits.maxBytes - Buffer.byteLength(partKey(key, 0)) - 16);
      for (const [index, part] of parts.entries()) await this.putOne(partKey(key, index), part, {});
      await this.putOne(key, manifestOf(value, parts.length), options);
      return;
    }
    await this.putOne(key, value, options);
  }

  private async putOne(key: string, value: string, options: { unique?: boolean }): Promise<void> {
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (options.unique && isJson(this.values?.get(key))) {
      throw new LockedError(
        `${this.prefix}: record ${key} already exists; another process is writing this journal`,
      );
    }
    const tail = this.tail;
    if (
      !tail ||
      Object.keys(tail.data).length >= this.limits.maxEntries ||
      tail.bytes + size > this.limits.maxBytes
    ) {
      const index = tail ? tail.index + 1 : 0;
      this.tail = await this.write(
        { index, resourceVersion: "", data: { [key]: value }, bytes: size },
        "create",
      );
    } else {
      const data = { ...tail.data };
      if (options.unique) {
        // A record torn by hand or by a dying writer would otherwise end up in the middle of the journal.
        for (const [k, v] of Object.entries(data)) if (!isJson(v) && !isPartKey(k)) delete data[k];
      }
      data[key] = value;
      this.tail = await this.write({ ...tail, data, bytes: dataBytes(data) }, "replace");
    }
    this.values?.set(key, value);
  }

  /** Deletes `keys` from every chunk that holds one; a chunk left empty is deleted. */
  async remove(keys: readonly string[]): Promise<void> {
    const drop = new Set(keys);
    const objects = await this.port.list("v1", this.kind, {
      namespace: this.namespace,
      labelSelector: this.selector,
    });
    for (const object of objects) {
      const chunk = this.chunkOf(object);
      // A big record's parts go with it.
      const dropped = (key: string) =>
        drop.has(key) || (isPartKey(key) && drop.has(key.replace(/\.part-\d+$/, "")));
      if (!chunk || !Object.keys(chunk.data).some(dropped)) continue;
      const data = Object.fromEntries(Object.entries(chunk.data).filter(([key]) => !dropped(key)));
      if (Object.keys(data).length === 0) {
        await this.port.delete({
          apiVersion: "v1",
          kind: this.kind,
          namespace: this.namespace,
          name: object.metadata.name,
        });
      } else {
        await this.write({ ...chunk, data, bytes: dataBytes(data) }, "replace");
      }
    }
    this.tail = undefined;
    this.values = undefined;
  }

  async clear(): Promise<void> {
    const objects = await this.port.list("v1", this.kind, {
      namespace: this.namespace,
      labelSelector: this.selector,
    });
    for (const object of objects) {
      await this.port.delete({
        apiVersion: "v1",
        kind: this.kind,
        namespace: this.namespace,
        name: object.metadata.name,
      });
    }
    this.tail = undefined;
    this.values = undefined;
  }

  private async write(chunk: Chunk, how: "create" | "replace"): Promise<Chunk> {
    const object = this.objectOf(chunk);
    try {
      const written =
        how === "create"
          ? await this.port.create(object)
          : await this.port.replace(object, { resourceVersion: chunk.resourceVersion });
      return { ...chunk, resourceVersion: written.metadata.resourceVersion ?? "" };
    } catch (error) {
      if (!isApiStatus(error, 409)) throw error;
      // A retried request may have landed on an earlier try; then the chunk holds exactly what we wrote.
      if (error.attempts === 1) throw this.conflict(object);
      const now = await this.port.get({
        apiVersion: "v1",
        kind: this.kind,
        namespace: this.namespace,
        name: object.metadata.name,
      });
      const mine = now && this.chunkOf(now);
      if (mine && sameData(mine.data, chunk.data)) return mine;
      throw this.conflict(object);
    }
  }

  private conflict(object: KubeObject): LockedError {
    this.values = undefined;
    return new LockedError(
      `${this.kind} ${this.namespace}/${object.metadata.name} was written by another process: ` +
        "two runs are using this journal; take the lock first",
    );
  }

  private objectOf(chunk: Chunk): KubeObject {
    const metadata = {
      name: `${this.prefix}-${chunk.index}`,
      namespace: this.namespace,
      labels: {
        ...MANAGED_BY,
        "clustershift.dev/playbook": this.playbook,
        "clustershift.dev/part": this.kind === "Secret" ? "sensitive" : "journal",
        "clustershift.dev/chunk": String(chunk.index),
      },
    };
    if (this.kind === "ConfigMap") return { apiVersion: "v1", kind: "ConfigMap", metadata, data: chunk.data };
    const data = Object.fromEntries(
      Object.entries(chunk.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    return { apiVersion: "v1", kind: "Secret", metadata, type: "Opaque", data };
  }

  private chunkOf(object: KubeObject): Chunk | undefined {
    const index = Number(object.metadata.name.slice(this.prefix.length + 1));
    if (!object.metadata.name.startsWith(`${this.prefix}-`) || !Number.isInteger(index)) return undefined;
    const raw = (object.data ?? {}) as Record<string, string>;
    const data =
      this.kind === "ConfigMap"
        ? { ...raw }
        : Object.fromEntries(
            Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
          );
    return { index, resourceVersion: object.metadata.resourceVersion ?? "", data, bytes: dataBytes(data) };
  }
}

const PARTS = "clustershift.dev/parts";

/** Where part `index` of the big record `key` is kept. */
function partKey(key: string, index: number): string {
  return `${key}.part-${index}`;
}

function isPartKey(key: string): boolean {
  return /\.part-\d+$/.test(key);
}

function manifestOf(value: string, parts: number): string {
  return JSON.stringify({
    [PARTS]: parts,
    bytes: Buffer.byteLength(value),
    sha256: createHash("sha256").update(value).digest("hex"),
  });
}

/** `value` cut into pieces of at most `maxBytes` bytes of UTF-8, never inside a character. */
function splitUtf8(value: string, maxBytes: number): string[] {
  const bytes = Buffer.from(value, "utf8");
  const parts: string[] = [];
  for (let start = 0; start < bytes.length;) {
    let end = Math.min(start + maxBytes, bytes.length);
    // 0b10xxxxxx is a continuation byte: back off to the start of its character.
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString("utf8"));
    start = end;
  }
  return parts;
}

/**
 * The records as readers see them: big records put back together from their parts, parts themselves left out. A
 * manifest whose parts are missing or do not add up reads as a torn record (not JSON), like a cut-off one.
 */
function assembled(values: ReadonlyMap<string, string>): Map<string, string> {
  const records = new Map<string, string>();
  for (const [key, value] of values) {
    if (isPartKey(key)) continue;
    const manifest = parseManifest(value);
    if (!manifest) {
      records.set(key, value);
      continue;
    }
    const parts = Array.from({ length: manifest.parts }, (_, i) => values.get(partKey(key, i)));
    const whole = parts.every((part) => part !== undefined) ? parts.join("") : undefined;
    const intact =
      whole !== undefined && createHash("sha256").update(whole).digest("hex") === manifest.sha256;
    records.set(key, intact ? whole : `(torn: parts of ${key} missing or damaged)`);
  }
  return records;
}

function parseManifest(value: string): { parts: number; sha256: string } | undefined {
  if (!value.startsWith(`{"${PARTS}":`)) return undefined;
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const parts = parsed[PARTS];
    return typeof parts === "number" && typeof parsed.sha256 === "string"
      ? { parts, sha256: parsed.sha256 }
      : undefined;
  } catch {
    return undefined;
  }
}

function dataBytes(data: Record<string, string>): number {
  return Object.entries(data).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

function isJson(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
