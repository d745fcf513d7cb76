import { hostname } from "node:os";
import { UsageError } from "../../engine/errors.js";
import type { ReadEngine } from "../../engine/executor.js";
import { Journal } from "../../engine/journal/journal.js";
import type { JournalStore } from "../../engine/journal/store.js";
import { expandSteps } from "../../engine/planner.js";
import { describePhase, foldJournal, gatePassed, isStepDone, type RunState } from "../../engine/run-state.js";
import type { ChangeEntry, JournalEntry } from "../../engine/types.js";

/**
 * `clustershift finish`: closes a completed migration. Refuses (exit 2, nothing written, not even a lock) unless
 * every enabled step is done and every gate passed; then journals the close, deletes every sensitive value
 * (Secrets' before/after images, a provisioned cluster's credentials) from the state and journals that too.
 * From then on rollback refuses: see `refuseIfFinished`. Running it again finishes an interrupted finish.
 */
export async function finish(reader: ReadEngine, openStore: () => Promise<JournalStore>): Promise<string> {
  const name = reader.playbook.metadata.name;
  // Checked on the reader first, so that a refusal creates nothing: no state directory, Namespace or Lease.
  refuseUnlessComplete(reader, foldJournal(await reader.store.read()));

  const store = await openStore();
  const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const warn = (message: string) => reader.sink.emit({ type: "warn", message });
  const lock = await store.lock(holder, warn);
  let message: string;
  try {
    const journal = await Journal.open(store);
    const before = foldJournal(journal.entries);
    // The journal may have moved between the first look and the lock (a rollback in another terminal).
    refuseUnlessComplete(reader, before);
    // Closed first: from this record on rollback refuses, so it never looks for a value deleted below.
    if (before.finished === undefined) await journal.append({ type: "journal-closed", by: "finish" });
    const sensitive = journal.entries
      .filter((entry): entry is ChangeEntry => entry.type === "change" && entry.sensitive === true)
      .map((entry) => entry.seq)
      .filter((seq) => !before.dropped.has(seq));
    // Every key up to the next seq, not only the journaled ones: a value stored just before a crash that kept its
    // change record from the journal would otherwise outlive the migration. A key already gone is no error.
    await store.dropSensitive(everySeq(journal.entries).map(String));
    if (sensitive.length > 0) await journal.append({ type: "sensitive-dropped", refs: sensitive });
    const state = foldJournal(journal.entries);
    message =
      before.finished === undefined
        ? `Finished ${name}: the journal is closed and the migration is final; deleted ${sensitive.length} ` +
          `before-image(s) of Secrets and credentials from ${store.location}. Rollback is no longer possible.`
        : `${name} was already finished at ${before.finished}; the journal is closed and ` +
          `${state.dropped.size} before-image(s) of Secrets and credentials are deleted from ${store.location}.`;
  } finally {
    await lock.release();
  }
  return message;
}

function refuseUnlessComplete(reader: ReadEngine, state: RunState): void {
  if (state.finished !== undefined) return;
  const steps = expandSteps(reader.registry, reader).map(({ instance }) => instance.id);
  const open = steps.filter((id) => !isStepDone(state, id) || gatesOpen(state, id).length > 0);
  if (steps.length > 0 && open.length === 0) return;
  const name = reader.playbook.metadata.name;
  const what = open.map((id) => {
    const gates = gatesOpen(state, id);
    return isStepDone(state, id) ? `${id} (gate ${gates.join(", ")} not passed)` : id;
  });
  throw new UsageError(
    `finish refused: ${name} is ${describePhase(state)}, and finish closes only a completed migration; ` +
      `${steps.length - open.length} of ${steps.length} step(s) done, not done: ${what.join(", ")}. ` +
      "Nothing was changed. Run `clustershift apply` to complete it (or `clustershift rollback` to go back).",
  );
}

/** The gates the step was planned with (or has recorded) that have not passed or been promoted. */
function gatesOpen(state: RunState, id: string): string[] {
  const step = state.steps.get(id);
  if (!step) return [];
  const gates = step.plannedGates ?? [...step.gates.keys()];
  return gates.filter((address) => !gatePassed(state, id, address));
}

/** 1 … the seq the next record would get: every key a sensitive value of this journal can be stored under. */
function everySeq(entries: readonly JournalEntry[]): number[] {
  const next = (entries.at(-1)?.seq ?? 0) + 1;
  return Array.from({ length: next }, (_, index) => index + 1);
}
