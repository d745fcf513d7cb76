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
  /** The first deferred record that could not be written (see appendDeferred): every later append fails with it. */
  private deferredFailure: { error: Error } | undefined;

  /**
   * Appends in call order even when steps write concurrently: seq order is file order. Resolves once the record
   * is durable. With a group-committing store, the next record is handed over as soon as this one is (not once it
   * is on disk), so concurrent changes share the store's fsyncs; otherwise records go one at a time.
   */
  append(input: JournalEntryInput): Promise<JournalEntry> {
    if (this.deferredFailure) return Promise.reject(this.deferredFailure.error);
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
      // Records reach the disk in seq order: a deferred one before this one has failed or is durable by now.
      if (this.deferredFailure) throw this.deferredFailure.error;
      return entry;
    });
    this.tail = (this.store.groupCommit ? handedOver : appended).catch(() => undefined);
    return appended;
  }

  /**
   * Appends a record nobody needs to wait for: the completion of a change whose intent is already durable. It
   * rides the next group commit instead of costing the writer a commit of its own. A kill before it is durable
   * leaves the change as a crash leaves it between intent and completion, which resume and rollback already
   * handle (they read the live object; nothing reads completions to decide). Every later append is durable only
   * after it (seq order is file order), so a step's `step-finished` vouches for its completions; if it cannot be
   * written, every later append fails with its error.
   */
  appendDeferred(input: JournalEntryInput): void {
    this.append(input).catch((error: unknown) => {
      this.deferredFailure ??= { error: error instanceof Error ? error : new Error(String(error)) };
    });
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
