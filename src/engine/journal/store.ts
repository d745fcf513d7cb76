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
 * What `plan`, `status` and the wizard may do with a run's state: read it. Nothing here creates a directory, a
 * Namespace, a ConfigMap, a Secret or a Lease; a journal that does not exist yet reads as empty.
 */
export interface JournalReader {
  /** Human description for messages: `.clustershift/shop/journal.jsonl`. */
  readonly location: string;
  /** Ignores a torn last record. */
  read(): Promise<JournalEntry[]>;
  /** Who holds the lock now, if anyone still alive does (for `status`). */
  holder(): Promise<LockHolder | undefined>;
  getSensitive(key: string): Promise<unknown>;
}

/**
 * Where a run's journal and lock live: a local directory, or ConfigMaps and a Lease in a cluster.
 * Implementations must make `append` durable before it resolves and ignore a torn last record on `read`.
 */
export interface JournalStore extends JournalReader {
  append(entry: JournalEntry): Promise<void>;
  /**
   * True when `append` may be called again before the last call resolved, keeping the records in call order
   * (group commit): the journal then hands it concurrent changes' records at once. Otherwise one at a time.
   */
  readonly groupCommit?: boolean;
  /**
   * Takes the run's lock or throws LockedError(`locked by pid N on HOST since TIME`).
   * A lock whose holder is provably gone (dead pid on this host, expired lease) is taken over, calling `warn`.
   */
  lock(holder: LockHolder, warn: (message: string) => void): Promise<LockHandle>;
  /** Sensitive before/after images live apart from the journal (mode 0600 file, or a Secret), by key. */
  putSensitive(key: string, value: unknown): Promise<void>;
  /**
   * Deletes the sensitive values of `keys` (a finished rollback no longer needs the before-images of Secrets and
   * credentials). A key already gone is not an error.
   */
  dropSensitive(keys: readonly string[]): Promise<void>;
  /** Removes journal, lock and sensitive values (after a finished rollback, or `--reset`). */
  clear(): Promise<void>;
}
