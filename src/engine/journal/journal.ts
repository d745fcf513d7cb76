import type { ChangeEntry, JournalEntry, JournalEntryInput } from "../types.js";
import { sensitiveSummary } from "../../render/redact.js";
import type { JournalStore } from "./store.js";

/**
 * Numbered, durable entries on top of a {@link JournalStore}. Sensitive before/after images go to the store's
 * sensitive area; the journal line only says `(sensitive: N keys)`.
 */
export class Journal {
  private constructor(
    readonly store: JournalStore,
    private readonly loaded: JournalEntry[],
    private nextSeq: number,
  ) {}

  static async open(store: JournalStore): Promise<Journal> {
    const entries = await store.read();
    const last = entries.at(-1);
    return new Journal(store, entries, last ? last.seq + 1 : 1);
  }

  get entries(): readonly JournalEntry[] {
    return this.loaded;
  }

  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Appends in call order even when steps write concurrently: seq order is file order. Resolves once the record
   * is durable. With a group-committing store, the next record is handed over as soon as this one is (not once it
   * is on disk), so concurrent changes share the store's fsyncs; otherwise records go one at a time.
   */
  append(input: JournalEntryInput): Promise<JournalEntry> {
    const entry = { ...input, seq: this.nextSeq++, time: new Date().toISOString() };
    // A store that takes records one at a time gets its sensitive images one at a time too, as before.
    const prepared = this.store.groupCommit ? this.prepare(entry) : undefined;
    const handedOver = this.tail.then(async () => {
      const stored = await (prepared ?? this.prepare(entry));
      return { stored, durable: this.store.append(stored) };
    });
    const appended = handedOver.then(async ({ stored, durable }) => {
      await durable;
      this.loaded.push(stored);
      crashPointForTests(entry);
      return entry;
    });
    this.tail = (this.store.groupCommit ? handedOver : appended).catch(() => undefined);
    return appended;
  }

  /** The record as the store keeps it: sensitive images in the store's sensitive area first. */
  private async prepare(entry: JournalEntry): Promise<JournalEntry> {
    if (entry.type !== "change" || !entry.sensitive) return entry;
    await this.store.putSensitive(String(entry.seq), { before: entry.before, after: entry.after });
    return { ...entry, ...redactImages(entry) };
  }

  /** The entry with its sensitive images restored from the store, for rollback. */
  async resolve(entry: ChangeEntry): Promise<ChangeEntry> {
    if (!entry.sensitive) return entry;
    const images = (await this.store.getSensitive(String(entry.seq))) as {
      before?: unknown;
      after?: unknown;
    };
    return { ...entry, before: images.before, after: images.after };
  }
}

function redactImages(entry: ChangeEntry): Pick<ChangeEntry, "before" | "after"> {
  const images: Pick<ChangeEntry, "before" | "after"> = {};
  if (entry.before !== undefined) images.before = sensitiveSummary(entry.before);
  if (entry.after !== undefined) images.after = sensitiveSummary(entry.after);
  return images;
}

let journaledChanges = 0;

/**
 * `CLUSTERSHIFT_CRASH_AFTER=N` kills the process (SIGKILL, no cleanup) right after the N-th change record
 * reaches the disk: the crash-safety tests walk N over every point of a run.
 */
function crashPointForTests(entry: JournalEntry): void {
  const crashAfter = process.env.CLUSTERSHIFT_CRASH_AFTER;
  if (!crashAfter || (entry.type !== "change" && entry.type !== "change-applied")) return;
  journaledChanges += 1;
  if (journaledChanges === Number(crashAfter)) process.kill(process.pid, "SIGKILL");
}
