import type { JournalEntry } from "../types.js";

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface LockHandle {
  release(): Promise<void>;
}

/**
 * Where a run's journal and lock live: a local directory, or ConfigMaps and a Lease in a cluster.
 * Implementations must make `append` durable before it resolves and ignore a torn last record on `read`.
 */
export interface JournalStore {
  /** Human description for messages: `.clustershift/shop/journal.jsonl`. */
  readonly location: string;
  read(): Promise<JournalEntry[]>;
  append(entry: JournalEntry): Promise<void>;
  /**
   * Takes the run's lock or throws LockedError(`locked by pid N on HOST since TIME`).
   * A lock whose holder is provably gone (dead pid on this host, expired lease) is taken over, calling `warn`.
   */
  lock(holder: LockHolder, warn: (message: string) => void): Promise<LockHandle>;
  /** Who holds the lock now, if anyone still alive does (for `status`). */
  holder(): Promise<LockHolder | undefined>;
  /** Sensitive before/after images live apart from the journal (mode 0600 file, or a Secret), by key. */
  putSensitive(key: string, value: unknown): Promise<void>;
  getSensitive(key: string): Promise<unknown>;
  /** Removes journal, lock and sensitive values (after a finished rollback, or `--reset`). */
  clear(): Promise<void>;
}
