import { hostname } from "node:os";
import type { Playbook } from "../playbook/schema.js";
import { planDrift } from "./drift.js";
import { DriftError, GateFailedError, messageOf, RuntimeError, UsageError } from "./errors.js";
import { plural } from "../render/words.js";
import { STEP_FAILED_NOTE, STEP_STOPPED_NOTE, type EventSink } from "./events.js";
import { Journal } from "./journal/journal.js";
import type { JournalReader, JournalStore } from "./journal/store.js";
import { NO_CHANGES, planRun, type PlannedStep, type RunPlan } from "./planner.js";
import { scheduleOf } from "./schedule.js";
import { readerClients, writerClients } from "./readers.js";
import { placeOf } from "./targets.js";
import type { Registry } from "./registry.js";
import {
  describePhase,
  foldJournal,
  gatePassed,
  isStepDone,
  refuseIfFinished,
  type RunState,
} from "./run-state.js";
import type {
  ChangeEntry,
  GateContext,
  JournalEntry,
  JournaledChange,
  PlannedGate,
  ReadContext,
  RunOptions,
  StepKind,
  StepPlan,
  WriteContext,
} from "./types.js";

export interface Engine {
  registry: Registry;
  playbook: Playbook;
  options: RunOptions;
  store: JournalStore;
  sink: EventSink;
  signal: AbortSignal;
}

/**
 * What `plan` and `status` run on: the journal as a reader only, so neither can create state (a Namespace, a
 * ConfigMap, a Lease) or append to it.
 */
export type ReadEngine = Omit<Engine, "store"> & { store: JournalReader };

export type RunOutcome =
  | { outcome: "completed"; message: string }
  | { outcome: "waiting-for-approval"; message: string }
  | { outcome: "cancelled"; message: string };

/**
 * A read-only context; `step` names the step whose progress events are reported, `journal` (when open)
 * gives the steps this run's journaled changes and notes as they stand now.
 */
export function readContext(
  engine: ReadEngine,
  clients = new Map<string, unknown>(),
  step = "",
  journal?: { readonly entries: readonly JournalEntry[] },
): ReadContext {
  const { sink } = engine;
  const state = journal ? foldJournal(journal.entries) : undefined;
  return {
    journaled: state?.pending ?? [],
    journaledNotes: state?.notes ?? [],
    playbook: engine.playbook,
    options: engine.options,
    signal: engine.signal,
    clients: readerClients(clients),
    progress: {
      wait: (address, detail) => sink.emit({ type: "wait-progress", step, address, detail }),
      info: (message) => sink.emit({ type: "info", step, message }),
      warn: (message) => sink.emit({ type: "warn", step, message }),
    },
  };
}

export async function plan(engine: ReadEngine): Promise<RunPlan> {
  const entries = await engine.store.read();
  return planRun(engine.registry, readContext(engine, new Map(), "", { entries }), foldJournal(entries));
}

/**
 * Runs or resumes the migration. Plans everything first (reads only), lets `approve` see the plan, then per
 * step: re-plan, stop on drift, apply (write-ahead journal), verify, run the gates.
 */
export async function apply(
  engine: Engine,
  approve: (plan: RunPlan) => Promise<boolean>,
): Promise<RunOutcome> {
  return withLock(engine, async (journal) => {
    const clients = new Map<string, unknown>();
    const approved = await planRun(
      engine.registry,
      readContext(engine, clients, "", journal),
      foldJournal(journal.entries),
    );
    // Nothing to approve and nothing to journal: apply after a finished run changes nothing.
    if (approved.complete) return { outcome: "completed", message: NO_CHANGES };
    if (!(await approve(approved)))
      return { outcome: "cancelled", message: "Apply cancelled; nothing changed." };

    await journal.append({
      type: "run-started",
      playbook: engine.playbook.metadata.name,
      pid: process.pid,
      host: hostname(),
    });
    engine.sink.emit({
      type: "run-started",
      playbook: engine.playbook.metadata.name,
      steps: approved.steps.map(({ plan }) => ({ id: plan.id, title: plan.title })),
    });

    const outcome = await runSchedule(engine, journal, clients, approved);
    if (outcome) return outcome;
    await journal.append({ type: "run-finished" });
    return { outcome: "completed", message: "Migration complete." };
  });
}

/**
 * Stops the other branches of a run: the first branch that stops the run (a failure, a gate that waits or fails)
 * aborts the others and waits until they have settled, so that its records are the journal's last (what `status`,
 * `promote` and a resumed `apply` read). Resolves false for a branch that did not stop the run: another one did.
 */
type Halt = () => Promise<boolean>;

/** What a step running as one branch of the schedule is given beside the run's engine. */
interface Branch {
  halt: Halt;
  /** The step that stopped the run when another branch did (this one then journals only that it was stopped). */
  stoppedBy: () => string | undefined;
  /** The engine with the command's own signal: a rollback after a halt must still write. */
  engine: Engine;
  /**
   * Gates that failed beside the branch that stopped the run: each journaled as failed by its own branch, and
   * acted on (paused or rolled back) by the branch that stops the run, once every branch has settled.
   */
  failedBeside: FailedGate[];
}

interface FailedGate {
  step: string;
  planned: PlannedGate;
  detail: string;
}

/** What a branch the run stopped because another branch stopped it is told. */
export class BranchStoppedError extends Error {
  override readonly name = "AbortError";
  constructor(readonly by: string) {
    super(`stopped because ${by} stopped the run; \`clustershift apply\` resumes it`);
  }
}

/**
 * Runs the approved steps as their schedule allows (engine/schedule.ts): a step starts once every step it needs is
 * done and its gates passed, side by side with whatever else is ready. Each step journals as it did alone (every
 * record names its step), so resume (each branch from where it stopped) and rollback (reverse journal order) are
 * the same as for a run one step after another. Returns a waiting outcome, or undefined once every step is done.
 */
async function runSchedule(
  engine: Engine,
  journal: Journal,
  clients: Map<string, unknown>,
  approved: RunPlan,
): Promise<RunOutcome | undefined> {
  const schedule = scheduleOf(engine.registry, approved.steps);
  const planned = new Map(approved.steps.map((planned) => [planned.plan.id, planned]));
  const stop = new AbortController();
  const run: Engine = { ...engine, signal: AbortSignal.any([engine.signal, stop.signal]) };
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let leader: string | undefined;
  let outcome: RunOutcome | undefined;
  let failure: { error: unknown } | undefined;
  const failedBeside: FailedGate[] = [];

  const haltFor =
    (id: string): Halt =>
    async () => {
      if (leader !== undefined) return false;
      leader = id;
      stop.abort(new BranchStoppedError(id));
      const others = [...running].filter(([other]) => other !== id).map(([, task]) => task);
      await Promise.allSettled(others);
      return true;
    };
  // A branch that another one stopped journals only that (a step-stopped note, before the stopping branch's records):
  // its step is started and not finished, which a resumed run carries on from, as after SIGINT.
  const stoppedBy = (id: string) =>
    leader !== undefined && leader !== id && !engine.signal.aborted ? leader : undefined;

  const start = (id: string) => {
    const step = planned.get(id);
    if (!step) throw new Error(`step ${id} is scheduled but not planned: this is a bug`);
    const branch: Branch = { halt: haltFor(id), stoppedBy: () => stoppedBy(id), engine, failedBeside };
    const task = runStep(run, journal, clients, step, branch)
      .then(
        (result) => {
          if (result) outcome ??= result;
          else done.add(id);
        },
        (error: unknown) => {
          if (stoppedBy(id) === undefined) failure ??= { error };
        },
      )
      .finally(() => running.delete(id));
    running.set(id, task);
  };

  for (;;) {
    if (leader === undefined && !run.signal.aborted) {
      for (const { id, needs } of schedule) {
        if (!done.has(id) && !running.has(id) && needs.every((need) => done.has(need))) start(id);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure) throw failure.error;
  if (outcome) return outcome;
  // Stopped between steps (SIGINT after one finished, before the next started): as a step would have been.
  run.signal.throwIfAborted();
  if (done.size < schedule.length) throw new Error("the run ended with steps not started: this is a bug");
  return undefined;
}

/** One step of a run: re-plan, stop on drift, apply (write-ahead journal), verify, then its gates. */
async function runStep(
  engine: Engine,
  journal: Journal,
  clients: Map<string, unknown>,
  { step, instance, plan: approvedPlan }: PlannedStep,
  branch: Branch,
): Promise<RunOutcome | undefined> {
  const { halt, stoppedBy } = branch;
  const id = approvedPlan.id;
  const began = Date.now();
  /** A branch another one stopped says so, in the journal and to the renderer: it did not fail. */
  const stopped = async (by: string, gate?: string) => {
    await journalNote(journal, id, STEP_STOPPED_NOTE, { by, ...(gate === undefined ? {} : { gate }) });
    engine.sink.emit({ type: "step-stopped", step: id, by, elapsedMs: Date.now() - began });
  };
  const ctx = readContext(engine, clients, id, journal);
  let gates = approvedPlan.gates;
  if (isStepDone(foldJournal(journal.entries), id)) {
    engine.sink.emit({
      type: "step-skipped",
      step: id,
      title: approvedPlan.title,
      reason: "already done",
    });
  } else {
    const started = Date.now();
    engine.sink.emit({ type: "step-started", step: id, title: approvedPlan.title });
    try {
      const fresh = await step.plan(instance, ctx);
      const drift = planDrift(approvedPlan, fresh);
      if (drift.length > 0) {
        throw new DriftError(
          [
            `${id}: the plan changed since it was shown; nothing of this step was changed:`,
            ...drift.map((line) => `  ${line}`),
            "Run `clustershift plan` to review, then `clustershift apply` again.",
          ].join("\n"),
        );
      }
      gates = fresh.gates;
      await journal.append({
        type: "step-started",
        step: id,
        kind: step.kind,
        gates: fresh.gates.map((gate) => gate.address),
      });
      await step.apply(fresh, writeContext(engine, journal, ctx, fresh));
      const verification = await step.verify(fresh, ctx);
      await journal.append({ type: "step-finished", step: id, verification });
      if (verification.outcome === "failed") {
        throw new RuntimeError(`${id}: verification failed: ${verification.detail}`);
      }
      engine.sink.emit({
        type: "step-finished",
        step: id,
        verification,
        elapsedMs: Date.now() - started,
      });
    } catch (error) {
      const by = stoppedBy();
      if (by !== undefined) {
        await stopped(by);
        throw error;
      }
      if ((await halt()) || stoppedBy() === undefined) {
        await journalFailure(journal, id, error);
        await besideFailure(branch, journal);
      }
      engine.sink.emit({
        type: "step-failed",
        step: id,
        error: messageOf(error),
        elapsedMs: Date.now() - started,
      });
      throw error;
    }
  }
  for (const gate of gates) {
    if (gatePassed(foldJournal(journal.entries), id, gate.address)) continue;
    let outcome: RunOutcome | undefined;
    try {
      outcome = await runGate(engine, journal, ctx, id, gate, branch);
    } catch (error) {
      // A failed gate journals itself (rolled back or paused); a gate that could not run at all does not.
      if (!(error instanceof GateFailedError)) {
        const by = stoppedBy();
        if (by !== undefined) await stopped(by, gate.address);
        else if ((await halt()) || stoppedBy() === undefined) {
          await journalFailure(journal, id, error, gate.address);
          await besideFailure(branch, journal);
        }
      }
      throw error;
    }
    if (outcome) return outcome;
  }
  return undefined;
}

async function runGate(
  engine: Engine,
  journal: Journal,
  ctx: ReadContext,
  step: string,
  planned: PlannedGate,
  { halt, engine: outer, failedBeside }: Branch,
): Promise<RunOutcome | undefined> {
  const { sink } = engine;
  const runner = engine.registry.getGate(planned.gate.type);
  sink.emit({ type: "gate-waiting", step, address: planned.address, detail: planned.detail });
  const gateCtx: GateContext = {
    ...ctx,
    step,
    gate: planned.address,
    note: (note, data) => journal.append({ type: "note", step, note, data }).then(() => undefined),
  };
  const result = await runner.run(planned.gate, gateCtx);
  // A gate that stops the run (waits for approval, pauses, rolls back) does so once the other branches have stopped:
  // its records come last, and a rollback reverts nothing another branch is still writing.
  if (result.outcome !== "passed" && !(await halt())) {
    if (result.outcome !== "failed") {
      throw engine.signal.reason instanceof Error
        ? engine.signal.reason
        : new BranchStoppedError("another step");
    }
    // Failed while another branch stopped the run: journaled as failed all the same (not as a gate that never
    // ran, which the next apply would run again as if nothing happened), and acted on by the branch that stops
    // the run, which waits until this one has settled.
    await journal.append({
      type: "gate",
      step,
      address: planned.address,
      state: "failed",
      detail: result.detail,
    });
    sink.emit({ type: "gate-failed", step, address: planned.address, detail: result.detail });
    failedBeside.push({ step, planned, detail: result.detail });
    throw new GateFailedError(`gate ${planned.address} failed: ${result.detail}`);
  }
  await journal.append({
    type: "gate",
    step,
    address: planned.address,
    state: result.outcome,
    detail: result.detail ?? "",
  });
  switch (result.outcome) {
    case "passed":
      sink.emit({
        type: "gate-passed",
        step,
        address: planned.address,
        detail: result.detail ?? planned.detail,
      });
      return undefined;
    case "waiting":
      sink.emit({ type: "gate-waiting", step, address: planned.address, detail: result.detail });
      // A gate that failed beside this one decides: the run is paused or rolled back, not left waiting.
      if (failedBeside.length > 0)
        throw new GateFailedError(await onGateFailures(engine, outer, journal, failedBeside.splice(0)));
      return {
        outcome: "waiting-for-approval",
        message: `Waiting for approval at ${planned.address}. Run \`${command(engine, "promote")}\` and then \`${command(engine, "apply")}\` to go on, or \`${command(engine, "rollback")}\` to go back.`,
      };
    case "failed": {
      sink.emit({ type: "gate-failed", step, address: planned.address, detail: result.detail });
      const failures = [{ step, planned, detail: result.detail }, ...failedBeside.splice(0)];
      throw new GateFailedError(await onGateFailures(engine, outer, journal, failures));
    }
  }
}

/**
 * What failed gates do to the run, all at once: each pauses it (`onFailure: pause`), unless one rolls back, which
 * then reverts the kinds of every gate that rolls back (the whole run if one names no kinds). A pausing gate whose
 * step the rollback leaves alone stays journaled as failed, and the next apply runs it again.
 */
async function onGateFailures(
  engine: Engine,
  outer: Engine,
  journal: Journal,
  failures: readonly FailedGate[],
): Promise<string> {
  // The gate's address names its step already (`shift-traffic[2]/analysis`).
  const reasons = failures.map(({ planned, detail }) => `gate ${planned.address} failed: ${detail}`);
  const text = reasons.join("; ");
  const rollbacks = failures.filter(({ planned }) => planned.onFailure === "rollback");
  if (rollbacks.length === 0) {
    for (const [i, { step, planned }] of failures.entries())
      await journal.append({ type: "run-paused", step, gate: planned.address, reason: reasons[i] ?? text });
    return `${text}. The run is paused where it is: \`${command(engine, "promote")}\` then \`${command(engine, "apply")}\` goes on, \`${command(engine, "rollback")}\` goes back.`;
  }
  const kinds = rollbacks.some(({ planned }) => planned.rollbackKinds === undefined)
    ? undefined
    : [...new Set(rollbacks.flatMap(({ planned }) => planned.rollbackKinds ?? []))];
  // The other branches are stopped (their signal aborted): the revert runs on the command's own.
  const reverted = await revert(outer, journal, text, kinds);
  return `${text}. Rolled back ${plural(reverted, "change")}${scopeText(kinds)}.`;
}

/** The branch that stopped the run with an error acts on the gates that failed beside it, if any did. */
async function besideFailure({ engine: outer, failedBeside }: Branch, journal: Journal): Promise<void> {
  // After SIGINT nothing more is written beyond why the run stopped: the gates stay journaled as failed.
  if (failedBeside.length === 0 || outer.signal.aborted) return;
  const message = await onGateFailures(outer, outer, journal, failedBeside.splice(0));
  outer.sink.emit({ type: "warn", message });
}

export interface RollbackOptions {
  /**
   * Contexts whose changes are left as they are (a cluster that is gone for good): everything else is reverted,
   * and what was skipped is journaled and stays pending, for a later rollback once the cluster answers again.
   */
  skipContexts?: readonly string[];
}

/** Undoes every journaled change newest first, from their before-images, except on `skipContexts`. */
export async function rollback(
  engine: Engine,
  options: RollbackOptions = {},
): Promise<{ reverted: number; skipped: number; message: string }> {
  return withLock(engine, async (journal) => {
    const state = foldJournal(journal.entries);
    refuseIfFinished(engine.playbook.metadata.name, state);
    if (state.pending.length === 0 && state.phase.phase !== "rolling-back") {
      await dropRevertedSecrets(engine, journal);
      return { reverted: 0, skipped: 0, message: "Nothing to roll back." };
    }
    const skip = new Set(options.skipContexts ?? []);
    const reverted = await revert(engine, journal, "rollback requested", undefined, skip);
    const left = foldJournal(journal.entries).pending;
    await dropRevertedSecrets(engine, journal);
    if (left.length === 0) {
      return {
        reverted,
        skipped: 0,
        message: `Rolled back ${plural(reverted, "change")}; the clusters and DNS are as they were.`,
      };
    }
    const where = [...skip].filter((context) => left.some((e) => placeOf(e).context === context));
    return {
      reverted,
      skipped: left.length,
      message:
        `Rolled back ${plural(reverted, "change")}; skipped ${plural(left.length, "change")} on context ${where.join(", ")}, ` +
        "which stay journaled: run `clustershift rollback` again once the cluster answers, to revert them too.",
    };
  });
}

/**
 * Deletes the sensitive images (Secret data, credentials) of changes that are reverted: nothing will need them
 * again, and a secret should not outlive the migration in a state directory or a state Secret.
 */
async function dropRevertedSecrets(engine: Engine, journal: Journal): Promise<void> {
  const state = foldJournal(journal.entries);
  const pending = new Set(state.pending.map((entry) => entry.seq));
  const refs = journal.entries
    .filter((entry): entry is ChangeEntry => entry.type === "change" && entry.sensitive === true)
    .map((entry) => entry.seq)
    .filter((seq) => !pending.has(seq) && !state.dropped.has(seq));
  if (refs.length === 0) return;
  await engine.store.dropSensitive(refs.map(String));
  await journal.append({ type: "sensitive-dropped", refs });
}

async function revert(
  engine: Engine,
  journal: Journal,
  reason: string,
  kinds?: StepKind[],
  skipContexts: ReadonlySet<string> = new Set(),
): Promise<number> {
  const scope = (entry: ChangeEntry) => !kinds || kinds.includes(entry.kind);
  const all = foldJournal(journal.entries).pending.filter(scope).reverse();
  const skipped = (entry: ChangeEntry) => {
    const context = placeOf(entry).context;
    return context !== undefined && skipContexts.has(context);
  };
  const pending = all.filter((entry) => !skipped(entry));
  await journal.append(
    kinds ? { type: "rollback-started", reason, kinds } : { type: "rollback-started", reason },
  );
  const steps = new Map<string, number>();
  for (const entry of pending) steps.set(entry.step, (steps.get(entry.step) ?? 0) + 1);
  engine.sink.emit({
    type: "rollback-started",
    reason,
    steps: [...steps].map(([step, changes]) => ({ step, changes })),
  });
  for (const context of skipContexts) {
    const refs = all.filter((entry) => placeOf(entry).context === context).map((entry) => entry.seq);
    if (refs.length === 0) continue;
    await journal.append({ type: "rollback-skipped", context, refs });
    engine.sink.emit({
      type: "warn",
      message: `skipping ${plural(refs.length, "change")} on context ${context} (--skip-context); they stay journaled`,
    });
  }
  const clients = new Map<string, unknown>();
  for (const batch of rollbackBatches(pending)) {
    const [first] = batch as [ChangeEntry];
    // With the journal: a step sees what this run created (mirror-workloads deletes a namespace, not its contents).
    const ctx = readContext(engine, clients, first.step, journal);
    const step = engine.registry.getStep(first.kind);
    // Rollback writes are not journaled again: the before-images already say where to go back to.
    const undo: WriteContext = {
      ...ctx,
      clients: writerClients(ctx.clients),
      change: (_change, write) => write(),
      note: () => Promise.resolve(),
    };
    await step.rollback(await Promise.all(batch.map((entry) => journal.resolve(entry))), undo);
    // Together: the journal commits them as a group. A kill before they are durable leaves the batch pending, and
    // the next rollback reverts it again from the same before-images (a delete of what is gone is no change).
    await Promise.all(batch.map((entry) => journal.append({ type: "change-reverted", ref: entry.seq })));
    for (const entry of batch) {
      engine.sink.emit({
        type: "change-reverted",
        step: entry.step,
        address: entry.address,
        action: entry.action,
      });
    }
  }
  await journal.append(kinds ? { type: "rollback-finished", kinds } : { type: "rollback-finished" });
  engine.sink.emit({ type: "rollback-finished", reverted: pending.length });
  return pending.length;
}

/** Most changes one step reverts in one call: what a kill during rollback makes it do again. */
const ROLLBACK_BATCH = 256;

/**
 * The pending changes, newest first, in runs of one step each: a step reverts a run in one call, in its own order
 * and with its own concurrency (mirror-workloads deletes objects in parallel, their namespaces after them), as the
 * step contract allows; one call per change would revert a 2,000-object mirror one request at a time.
 */
function rollbackBatches(pending: readonly ChangeEntry[]): ChangeEntry[][] {
  const batches: ChangeEntry[][] = [];
  for (const entry of pending) {
    const last = batches.at(-1);
    if (last && last[0]?.step === entry.step && last.length < ROLLBACK_BATCH) last.push(entry);
    else batches.push([entry]);
  }
  return batches;
}

/** Passes the gate the run waits at (an approval, or a failed gate with `onFailure: pause`). */
export async function promote(engine: Engine): Promise<string> {
  return withLock(engine, async (journal) => {
    const { phase } = foldJournal(journal.entries);
    if (phase.phase !== "waiting-for-approval" && phase.phase !== "paused") {
      throw new UsageError(`nothing to promote: the run is ${describePhase(foldJournal(journal.entries))}`);
    }
    // Gates that failed at once (on branches side by side) paused the run together: promoted together.
    const paused = phase.phase === "paused" ? pausedGates(journal.entries) : [];
    const gates = paused.length > 0 ? paused : [{ step: phase.step, gate: phase.gate }];
    for (const { step, gate } of gates)
      await journal.append({ type: "gate", step, address: gate, state: "promoted" });
    return `Promoted ${gates.map((g) => g.gate).join(", ")}. Run \`${command(engine, "apply")}\` to go on.`;
  });
}

/** The gates that paused the run since it last started and have not been passed or promoted since. */
function pausedGates(entries: readonly JournalEntry[]): { step: string; gate: string }[] {
  const paused = new Map<string, { step: string; gate: string }>();
  for (const entry of entries) {
    if (entry.type === "run-started") paused.clear();
    else if (entry.type === "run-paused") paused.set(entry.gate, { step: entry.step, gate: entry.gate });
    else if (entry.type === "gate" && (entry.state === "passed" || entry.state === "promoted"))
      paused.delete(entry.address);
  }
  return [...paused.values()];
}

export async function readState(store: JournalReader): Promise<RunState> {
  return foldJournal(await store.read());
}

function writeContext(engine: Engine, journal: Journal, ctx: ReadContext, plan: StepPlan): WriteContext {
  const { id: step, kind } = plan;
  // A change the plan marked sensitive stays sensitive in the journal even if the step forgets to say so.
  const sensitive = new Set(
    plan.changes.filter((c) => "sensitive" in c && c.sensitive).map((c) => c.address),
  );
  return {
    ...ctx,
    // Apply writes through the run's clients themselves; plan and verify got them behind readerClients.
    clients: writerClients(ctx.clients),
    async change<T>(change: JournaledChange, write: () => Promise<T>): Promise<T> {
      // After SIGINT or SIGTERM no new write starts; one already journaled and under way finishes.
      engine.signal.throwIfAborted();
      const marked = sensitive.has(change.address) ? { ...change, sensitive: true } : change;
      const entry = await journal.append({ type: "change", step, kind, ...marked });
      const result = await write();
      // Write-ahead needs the intent durable before the write; the completion rides the next group commit.
      journal.appendDeferred({ type: "change-applied", step, ref: entry.seq });
      engine.sink.emit({ type: "change-applied", step, address: change.address, action: change.action });
      return result;
    },
    note: (note, data) => journal.append({ type: "note", step, note, data }).then(() => undefined),
  };
}

async function withLock<T>(engine: Engine, body: (journal: Journal) => Promise<T>): Promise<T> {
  const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const lock = await engine.store.lock(holder, (message) => engine.sink.emit({ type: "warn", message }));
  let result: T;
  try {
    result = await body(await Journal.open(engine.store));
  } catch (error) {
    // What stopped the run is what the user must see: a lock that cannot be released too (a full or read-only
    // disk) is said beside it, never in its place.
    await lock.release().catch((releaseError: unknown) => {
      engine.sink.emit({ type: "warn", message: `could not release the lock: ${messageOf(releaseError)}` });
    });
    throw error;
  }
  await lock.release();
  return result;
}

/**
 * Journals why the run stopped, for `status` to say: a note, which every reader of the journal already knows and
 * steps look up only by their own note names. A journal that cannot be written (the very error, perhaps) is left
 * as it is: the error still reaches the user from the CLI.
 */
async function journalFailure(journal: Journal, step: string, error: unknown, gate?: string): Promise<void> {
  await journalNote(journal, step, STEP_FAILED_NOTE, {
    error: messageOf(error),
    ...(gate === undefined ? {} : { gate }),
  });
}

async function journalNote(journal: Journal, step: string, note: string, data: object): Promise<void> {
  await journal.append({ type: "note", step, note, data }).catch(() => undefined);
}

/** A command to paste: it names this run's playbook, and its state directory unless it is the default one. */
function command(engine: Pick<Engine, "options">, verb: string): string {
  const { playbookFile, stateDir } = engine.options;
  const word = (text: string) =>
    /^[\w./~:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
  const state = stateDir === ".clustershift" ? "" : ` --state-dir ${word(stateDir)}`;
  return `clustershift ${verb} -f ${word(playbookFile)}${state}`;
}

function scopeText(kinds: StepKind[] | undefined): string {
  return kinds ? ` of ${kinds.join(", ")}` : "";
}
