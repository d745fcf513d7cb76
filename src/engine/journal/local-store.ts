import { constants } from "node:fs";
import { link, mkdir, open, readFile, rm, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { LockedError, messageOf, RuntimeError } from "../errors.js";
import type { JournalEntry } from "../types.js";
import type { JournalStore, LockHandle, LockHolder } from "./store.js";

/** `.clustershift/<playbook>/`: journal.jsonl (append-only, fsync'd), lock.json, sensitive/ (mode 0700). */
export class LocalJournalStore implements JournalStore {
  readonly location: string;
  private readonly journalPath: string;
  private readonly lockPath: string;
  private readonly sensitiveDir: string;
  private tornTailChecked = false;

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
        entries.push(JSON.parse(line) as JournalEntry);
      } catch (error) {
        // Only the last record can be torn (killed mid-write); anything else is damage we must not paper over.
        if (index === lines.length - 1) break;
        throw new Error(`${this.journalPath}:${index + 1}: unreadable journal record`, { cause: error });
      }
    }
    return entries;
  }

  async append(entry: JournalEntry): Promise<void> {
    await mkdir(this.location, { recursive: true });
    if (!this.tornTailChecked) {
      await this.dropTornTail();
      this.tornTailChecked = true;
    }
    const handle = await open(this.journalPath, "a", 0o600);
    try {
      const { size } = await handle.stat();
      try {
        await writeAll(handle, Buffer.from(JSON.stringify(entry) + "\n"));
        await handle.sync();
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
    } finally {
      await handle.close();
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
          if (!isCode(error, "EEXIST") || attempt > 2) throw error;
          const current = await this.readLock();
          if (current && !isStale(current)) {
            throw new LockedError(`locked by pid ${current.pid} on ${current.host} since ${current.since}`);
          }
          warn(
            current
              ? `taking over the lock of pid ${current.pid} on ${current.host} (since ${current.since}): that process is gone`
              : `taking over an unreadable lock file ${this.lockPath}`,
          );
          await unlink(this.lockPath).catch(ifMissing(undefined));
        }
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

/** FileHandle.write may write part of a buffer (a nearly full disk): write the rest, or fail. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    if (bytesWritten === 0) throw Object.assign(new Error("no space written"), { code: "ENOSPC" });
    offset += bytesWritten;
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
