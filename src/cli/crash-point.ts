import type { JournalEntry } from "../engine/types.js";
import type { JournalStore, LockHandle, LockHolder } from "../engine/journal/store.js";

/**
 * The crash-safety tests' hook, injected here at the CLI so that the journal and the stores read nothing from the
 * environment: `CLUSTERSHIFT_CRASH_AFTER=N` kills the process (SIGKILL, no cleanup) right after the N-th change
 * record (intent or completion) reaches the disk. The tests walk N over every point of a run.
 */
export function withCrashPoint(store: JournalStore, env: NodeJS.ProcessEnv = process.env): JournalStore {
  const crashAfter = Number(env.CLUSTERSHIFT_CRASH_AFTER);
  if (!Number.isInteger(crashAfter) || crashAfter < 1) return store;
  return new CrashingStore(store, crashAfter, () => process.kill(process.pid, "SIGKILL"));
}

/** Counts change records as `append` makes them durable and calls `crash` once the `after`-th one is. */
export class CrashingStore implements JournalStore {
  private durableChanges = 0;

  constructor(
    private readonly inner: JournalStore,
    private readonly after: number,
    private readonly crash: () => void,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  get groupCommit(): boolean {
    return this.inner.groupCommit === true;
  }

  async append(entry: JournalEntry): Promise<void> {
    await this.inner.append(entry);
    if (entry.type !== "change" && entry.type !== "change-applied") return;
    this.durableChanges += 1;
    if (this.durableChanges === this.after) this.crash();
  }

  read(): Promise<JournalEntry[]> {
    return this.inner.read();
  }

  holder(): Promise<LockHolder | undefined> {
    return this.inner.holder();
  }

  getSensitive(key: string): Promise<unknown> {
    return this.inner.getSensitive(key);
  }

  lock(holder: LockHolder, warn: (message: string) => void): Promise<LockHandle> {
    return this.inner.lock(holder, warn);
  }

  putSensitive(key: string, value: unknown): Promise<void> {
    return this.inner.putSensitive(key, value);
  }

  dropSensitive(keys: readonly string[]): Promise<void> {
    return this.inner.dropSensitive(keys);
  }

  clear(): Promise<void> {
    return this.inner.clear();
  }
}
