import { constants } from "node:fs";
import { createHash } from "node:crypto";
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
  writeFile,
  type FileHandle,
} from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { LockedError, messageOf, RuntimeError } from "../errors.js";
import { sleep } from "../sleep.js";
import type { JournalEntry } from "../types.js";
import type { JournalStore, LockHandle, LockHolder } from "./store.js";
import { upgradeEntry } from "../targets.js";

/** `.clustershift/<playbook>/`: journal.jsonl (append-only, fsync'd), lock.json, sensitive/ (mode 0700). */
export class LocalJournalStore implements JournalStore {
  readonly location: string;
  readonly groupCommit = true;
  private readonly journalPath: string;
  private readonly lockPath: string;
  private readonly sensitiveDir: string;
  private tornTailChecked = false;
  /** Records waiting for the next group commit, and the commit under way (see append). */
  private queued: { record: Buffer; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private committing: Promise<void> | undefined;

  constructor(
    stateDir: string,
    private readonly playbookName: string,
  ) {
    const dir = join(stateDir, playbookName);
    this.location = dir;
    this.journalPath = join(dir, "journal.jsonl");
    this.lockPath = join(dir, "lock.json");
    this.sensitiveDir = join(dir, "sensitive");
  }

  async read(): Promise<JournalEntry[]> {
    const text = await readFile(this.journalPath, "utf8").catch(ifMissing(""));
    const lines = text.split("\n");
    const entries: JournalEntry[] = [];
    for (const [index, line] of lines.entries()) {
      if (line === "") continue;
      try {
        entries.push(upgradeEntry(JSON.parse(line) as JournalEntry));
      } catch (error) {
        // Only the last record can be torn (killed mid-write); anything else is damage we must not paper over.
        if (index === lines.length - 1) break;
        throw new Error(`${this.journalPath}:${index + 1}: unreadable journal record`, { cause: error });
      }
    }
    return entries;
  }

  /**
   * Group commit: resolves once the record is whole on disk (written, then fsync'd), so the caller's API write
   * that follows it is write-ahead logged. Records appended while a commit is under way (concurrent changes) go
   * to disk together in the next one, with one write and one fsync for all: the first record waits for nobody,
   * and N concurrent changes cost about two fsyncs, not N. A commit that fails (a full disk) is cut back to the
   * journal's size before it and fails every record in it: none of their changes is made.
   */
  append(entry: JournalEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ record: Buffer.from(JSON.stringify(entry) + "\n"), resolve, reject });
      this.committing ??= this.commitQueued();
    });
  }

  /**
   * Commits until the queue is empty; says so in the same tick, so that the next append starts a new round. The
   * journal file stays open for the round (a burst of changes costs one open, not one per commit) and is closed
   * when the queue runs dry, so that no descriptor outlives the writes.
   */
  private async commitQueued(): Promise<void> {
    let file: { handle: FileHandle; size: number } | undefined;
    try {
      for (;;) {
        const batch = this.queued.splice(0);
        if (batch.length === 0) {
          this.committing = undefined;
          return;
        }
        try {
          file ??= await this.openJournal();
          file.size = await this.commit(file, Buffer.concat(batch.map((queued) => queued.record)));
          for (const queued of batch) queued.resolve();
        } catch (error) {
          for (const queued of batch) queued.reject(error);
          // After a failed commit the file is opened (and its size read) afresh.
          await file?.handle.close().catch(() => undefined);
          file = undefined;
        }
      }
    } finally {
      await file?.handle.close().catch(() => undefined);
    }
  }

  private async openJournal(): Promise<{ handle: FileHandle; size: number }> {
    await mkdir(this.location, { recursive: true });
    if (!this.tornTailChecked) {
      await this.dropTornTail();
      this.tornTailChecked = true;
    }
    const handle = await open(this.journalPath, "a", 0o600);
    try {
      return { handle, size: (await handle.stat()).size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Writes and fsyncs `records` at the end of the journal; returns its new size. */
  private async commit(file: { handle: FileHandle; size: number }, records: Buffer): Promise<number> {
    const { handle, size } = file;
    try {
      await writeAll(handle, records);
      await handle.sync();
      // A journal file just made exists for sure only once its directory entry is on disk too.
      if (size === 0) await syncDirectory(this.location);
      return size + records.length;
    } catch (error) {
      // A record cut short (a full disk writes part of it, then fails) would be dropped as "killed mid-write"
      // by the next reader, and the change after it forgotten by rollback: cut it off and stop before the write.
      await handle
        .truncate(size)
        .then(() => handle.sync())
        .catch(() => undefined);
      throw new RuntimeError(
        `cannot write the journal ${this.journalPath} (${(error as NodeJS.ErrnoException).code ?? messageOf(error)}): ` +
          "the change was not made; free space and run apply again",
        { cause: error },
      );
    }
  }

  async lock(holder: LockHolder, warn: (message: string) => void): Promise<LockHandle> {
    await mkdir(this.location, { recursive: true });
    const temp = `${this.lockPath}.${holder.pid}.tmp`;
    await writeFile(temp, JSON.stringify(holder) + "\n", { mode: 0o600 });
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          // link() fails if the lock exists: an atomic create of an already complete file.
          await link(temp, this.lockPath);
          break;
        } catch (error) {
          if (!isCode(error, "EEXIST")) throw error;
        }
        const text = await readFile(this.lockPath, "utf8").catch(ifMissing(undefined));
        if (text === undefined) continue; // released (or taken over) between our link and our read
        const current = parseHolder(text);
        if (current && !isStale(current)) {
          throw new LockedError(`locked by pid ${current.pid} on ${current.host} since ${current.since}`);
        }
        if (await this.takeOver(text, temp)) {
          warn(
            current
              ? `taking over the lock of pid ${current.pid} on ${current.host} (since ${current.since}): that process is gone`
              : `taking over an unreadable lock file ${this.lockPath}`,
          );
          break;
        }
        // Another process is taking this stale lock over: once it has, its lock is live and we are refused.
        if (attempt > 200)
          throw new LockedError(`another process is taking over the stale lock ${this.lockPath}`);
        await sleep(25);
      }
    } finally {
      await unlink(temp).catch(ifMissing(undefined));
    }
    return {
      release: async () => {
        const current = await this.readLock();
        if (current?.pid === holder.pid && current.host === holder.host) {
          await unlink(this.lockPath).catch(ifMissing(undefined));
        }
      },
    };
  }

  /**
   * Replaces the stale lock whose file reads `stale` by ours, unless another process does. Reading "stale",
   * unlinking it and linking ours would let two runners that saw the same stale lock both win. Instead, each
   * stale lock has one ticket (`lock.json.takeover-<hash of its text>-<n>`, created by an exclusive link):
   * only the ticket's holder replaces that lock, by an atomic rename over it, after reading it once more. A
   * ticket whose holder died passes to ticket n+1. Returns false when someone else holds the live ticket.
   */
  private async takeOver(stale: string, temp: string): Promise<boolean> {
    const key = createHash("sha256").update(stale).digest("hex").slice(0, 16);
    const prefix = `${this.lockPath}.takeover-${key}-`;
    for (let n = 0; ; n++) {
      const ticket = `${prefix}${n}`;
      try {
        await link(temp, ticket);
      } catch (error) {
        if (!isCode(error, "EEXIST")) throw error;
        const holder = parseHolder(await readFile(ticket, "utf8").catch(ifMissing("")));
        if (holder && !isStale(holder)) return false;
        continue;
      }
      try {
        const now = await readFile(this.lockPath, "utf8").catch(ifMissing(undefined));
        if (now !== stale) return false; // replaced or released meanwhile: start again from the top
        await rename(temp, this.lockPath);
        return true;
      } finally {
        await this.removeTickets(prefix);
      }
    }
  }

  private async removeTickets(prefix: string): Promise<void> {
    const dir = this.location;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (path.startsWith(prefix)) await unlink(path).catch(ifMissing(undefined));
    }
  }

  async holder(): Promise<LockHolder | undefined> {
    const current = await this.readLock();
    return current && !isStale(current) ? current : undefined;
  }

  async putSensitive(key: string, value: unknown): Promise<void> {
    await mkdir(this.sensitiveDir, { recursive: true, mode: 0o700 });
    const path = join(this.sensitiveDir, `${key}.json`);
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      await handle.write(JSON.stringify(value));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async getSensitive(key: string): Promise<unknown> {
    return JSON.parse(await readFile(join(this.sensitiveDir, `${key}.json`), "utf8")) as unknown;
  }

  async dropSensitive(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) await rm(join(this.sensitiveDir, `${key}.json`), { force: true });
    // The removals must outlive a crash as surely as the values did: a secret "deleted" but back after a power cut
    // is not deleted.
    const dir = await open(this.sensitiveDir, "r").catch(ifMissing(undefined));
    if (!dir) return;
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async clear(): Promise<void> {
    await rm(this.location, { recursive: true, force: true });
  }

  toString(): string {
    return `local journal of ${this.playbookName}`;
  }

  private async readLock(): Promise<LockHolder | undefined> {
    try {
      return JSON.parse(await readFile(this.lockPath, "utf8")) as LockHolder;
    } catch {
      return undefined;
    }
  }

  /** A record cut short by a kill would glue itself to the next one; cut it off before appending. */
  private async dropTornTail(): Promise<void> {
    const text = await readFile(this.journalPath, "utf8").catch(ifMissing(""));
    if (text === "" || text.endsWith("\n")) return;
    const keep = text.lastIndexOf("\n") + 1;
    const handle = await open(this.journalPath, "r+");
    try {
      await handle.truncate(Buffer.byteLength(text.slice(0, keep)));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** fsync of a directory: makes a new entry in it (a file just created) durable. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** FileHandle.write may write part of a buffer (a nearly full disk): write the rest, or fail. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    if (bytesWritten === 0) throw Object.assign(new Error("no space written"), { code: "ENOSPC" });
    offset += bytesWritten;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(text) as LockHolder;
    return typeof holder.pid === "number" && typeof holder.host === "string" ? holder : undefined;
  } catch {
    return undefined;
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return isCode(error, "ESRCH");
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

function ifMissing<T>(fallback: T): (error: unknown) => T {
  return (error: unknown) => {
    if (isCode(error, "ENOENT")) return fallback;
    throw error;
  };
}
