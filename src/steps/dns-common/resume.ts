import type { NoteEntry, ReadContext } from "../../engine/types.js";

/**
 * Notes a DNS stage journals so that a run stopped halfway (crash, Ctrl-C, INSYNC timeout) picks its waits up
 * where they were instead of starting them over:
 * - `dns-change` `{address, change}` once the zone accepted the batch (the id is known only then);
 * - `dns-insync` `{change}` once that change is INSYNC;
 * - `ttl-wait` `{until}` (ISO time) when the old-TTL countdown starts, before the first second of it.
 */
export const CHANGE_NOTE = "dns-change";
export const INSYNC_NOTE = "dns-insync";
export const TTL_WAIT_NOTE = "ttl-wait";

/** What an earlier, stopped apply of this step got through. */
export interface EarlierProgress {
  /** Id of the last batch the zone accepted. */
  change?: string;
  /** That batch was seen INSYNC. */
  insync: boolean;
  /** Epoch ms at which the old TTL has run out. */
  ttlUntil?: number;
}

export function earlierProgress(ctx: Pick<ReadContext, "journaledNotes">, step: string): EarlierProgress {
  const notes = (ctx.journaledNotes ?? []).filter((note) => note.step === step);
  const change = stringField(lastNote(notes, CHANGE_NOTE), "change");
  const insync =
    change !== undefined &&
    notes.some((note) => note.note === INSYNC_NOTE && stringField(note, "change") === change);
  const until = Date.parse(stringField(lastNote(notes, TTL_WAIT_NOTE), "until") ?? "");
  return {
    ...(change === undefined ? {} : { change }),
    insync,
    ...(Number.isNaN(until) ? {} : { ttlUntil: until }),
  };
}

function lastNote(notes: readonly NoteEntry[], name: string): NoteEntry | undefined {
  return notes.findLast((note) => note.note === name);
}

function stringField(note: NoteEntry | undefined, field: string): string | undefined {
  const value = (note?.data as Record<string, unknown> | undefined)?.[field];
  return typeof value === "string" ? value : undefined;
}
