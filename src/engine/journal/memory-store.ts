import { LockedError } from "../errors.js";
import type { JournalEntry } from "../types.js";
import type { JournalStore, LockHandle, LockHolder } from "./store.js";

/**
 * A run's journal, lock and sensitive values in this process's memory: for tests and the in-process demo, which
 * need the engine's journal semantics without a directory or a cluster. Records are kept as the JSON text a
 * durable store would write, so that what a reader gets back is what a file or a ConfigMap would give (no shared
 * objects, `undefined` fields gone).
 */
export class MemoryJournalStore implements JournalStore {
  readonly location: string;
  readonly groupCommit = true;
  private records: string[] = [];
  private readonly sensitive = new Map<string, string>();
  private held: LockHolder | undefined;

  constructor(name = "memory") {
    this.location = `memory:${name}`;
  }

  read(): Promise<JournalEntry[]> {
    return Promise.resolve(this.records.map((record) => JSON.parse(record) as JournalEntry));
  }

  append(entry: JournalEntry): Promise<void> {
    this.records.push(JSON.stringify(entry));
    return Promise.resolve();
  }

  /** How many records the journal holds: a mark for {@link rewind}. */
  get length(): number {
    return this.records.length;
  }

  /**
   * Forgets the records appended after the first `length`: what a process killed before they were durable leaves
   * behind (a rollback whose reverts were written but not yet journaled).
   */
  rewind(length: number): void {
    this.records = this.records.slice(0, length);
  }

  holder(): Promise<LockHolder | undefined> {
    return Promise.resolve(this.held);
  }

  lock(holder: LockHolder): Promise<LockHandle> {
    const held = this.held;
    if (held) {
      return Promise.reject(new LockedError(`locked by pid ${held.pid} on ${held.host} since ${held.since}`));
    }
    this.held = holder;
    return Promise.resolve({
      release: () => {
        if (this.held === holder) this.held = undefined;
        return Promise.resolve();
      },
    });
  }

  putSensitive(key: string, value: unknown): Promise<void> {
    this.sensitive.set(key, JSON.stringify(value));
    return Promise.resolve();
  }

  getSensitive(key: string): Promise<unknown> {
    const value = this.sensitive.get(key);
    return Promise.resolve(value === undefined ? undefined : (JSON.parse(value) as unknown));
  }

  /** The keys of the sensitive values kept now: a test sees that a finished rollback dropped them. */
  sensitiveKeys(): string[] {
    return [...this.sensitive.keys()];
  }

  dropSensitive(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.sensitive.delete(key);
    return Promise.resolve();
  }

  clear(): Promise<void> {
    this.records = [];
    this.sensitive.clear();
    this.held = undefined;
    return Promise.resolve();
  }
}
