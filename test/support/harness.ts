import type { RunEvent } from "../../src/engine/events.js";
import {
  apply,
  plan,
  rollback,
  type Engine,
  type RollbackOptions,
  type RunOutcome,
} from "../../src/engine/executor.js";
import { MemoryJournalStore } from "../../src/engine/journal/memory-store.js";
import type { JournalStore } from "../../src/engine/journal/store.js";
import type { RunPlan } from "../../src/engine/planner.js";
import { Registry } from "../../src/engine/registry.js";
import type {
  ChangeEntry,
  JournalEntry,
  NoteEntry,
  RunOptions,
  Step,
  StepPlan,
  Verification,
} from "../../src/engine/types.js";
import { playbookSchema, type Playbook } from "../../src/playbook/schema.js";
import { testRunOptions } from "./step-harness.js";

export interface HarnessOptions {
  /** KUBECONFIG for the run's clients. */
  kubeconfig?: string;
  /** Options of the run beyond a non-interactive run of `test.yaml` (`destroyProvisioned`, `stateDir`). */
  options?: Partial<RunOptions>;
  /** Where the journal lives: another harness's store continues its run; by default a fresh one in memory. */
  store?: JournalStore;
  /** Aborts the run, as Ctrl-C does, at the first event it accepts. */
  stopWhen?: (event: RunEvent) => boolean;
}

/** What one `apply` did: the plan it was approved with, how it ended, and each applied step's verification. */
export interface Applied {
  outcome: RunOutcome;
  /** The steps' plans as apply showed them for approval (done steps included, with no changes). */
  plans: StepPlan[];
  /** Of the steps this apply carried out, in order. */
  verifications: Verification[];
}

/**
 * The one way tests drive steps: the engine's own `plan`, `apply` and `rollback` (src/engine/executor.ts), on a
 * journal in memory, with every event kept. What a step does here is what it does in a run: re-planned and drift
 * checked before apply, each write journaled first, verified, rolled back in the engine's batches and order.
 */
export class RunHarness {
  readonly registry: Registry;
  readonly playbook: Playbook;
  readonly store: JournalStore;
  /** What the runs emitted, in order. */
  readonly events: RunEvent[] = [];
  readonly engine: Engine;
  private stop = new AbortController();
  /** How long the journal was when the last rollback began. */
  private rollbackMark: number | undefined;

  constructor(
    steps: Registry | readonly Step<unknown>[],
    playbook: Playbook | Record<string, unknown>,
    private readonly options: HarnessOptions = {},
  ) {
    this.registry = steps instanceof Registry ? steps : steps.reduce((r, s) => r.step(s), new Registry());
    this.playbook = playbookSchema.parse(playbook);
    this.store = options.store ?? new MemoryJournalStore(this.playbook.metadata.name);
    const runOptions = testRunOptions({
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...options.options,
    });
    const events = this.events;
    const harness = this as RunHarness;
    this.engine = {
      registry: this.registry,
      playbook: this.playbook,
      options: runOptions,
      store: this.store,
      sink: {
        emit(event) {
          events.push(event);
          if (harness.options.stopWhen?.(event)) harness.stop.abort(new Error("stopped by the test"));
        },
        close: () => undefined,
      },
      get signal() {
        return harness.stop.signal;
      },
    };
  }

  /** The run's plan, as `clustershift plan` makes it (reads only). */
  async plan(): Promise<StepPlan[]> {
    return (await this.runPlan()).steps.map((step) => step.plan);
  }

  runPlan(): Promise<RunPlan> {
    return plan(this.engine);
  }

  /**
   * `clustershift apply --yes`: approves whatever plan it is shown; a stopped run may be applied again. `approve`
   * answers the approval question instead (and may change the world meanwhile, as a slow reviewer lets happen).
   */
  async apply(approve: (plan: RunPlan) => Promise<boolean> = () => Promise.resolve(true)): Promise<Applied> {
    let approved: RunPlan | undefined;
    const from = this.events.length;
    this.stop = new AbortController();
    const outcome = await apply(this.engine, (shown) => {
      approved = shown;
      return approve(shown);
    });
    const verifications = this.events
      .slice(from)
      .flatMap((event) => (event.type === "step-finished" ? [event.verification] : []));
    return { outcome, plans: approved?.steps.map((step) => step.plan) ?? [], verifications };
  }

  /** `clustershift rollback --yes`. */
  rollback(options: RollbackOptions = {}): ReturnType<typeof rollback> {
    this.stop = new AbortController();
    if (this.store instanceof MemoryJournalStore) this.rollbackMark = this.store.length;
    return rollback(this.engine, options);
  }

  /**
   * The last rollback again from the same before-images, as after a process killed once its reverts were written
   * but before the journal said so: a step's rollback must be idempotent.
   */
  rollbackAgain(options: RollbackOptions = {}): ReturnType<typeof rollback> {
    const mark = this.rollbackMark;
    if (!(this.store instanceof MemoryJournalStore) || mark === undefined) {
      throw new Error("rollbackAgain needs a rollback before it, on the harness's journal in memory");
    }
    this.store.rewind(mark);
    return this.rollback(options);
  }

  /** {@link rollback}, then {@link rollbackAgain}. */
  async rollbackTwice(options: RollbackOptions = {}): Promise<void> {
    await this.rollback(options);
    await this.rollbackAgain(options);
  }

  /** Every journal record, oldest first. */
  journal(): Promise<JournalEntry[]> {
    return this.store.read();
  }

  /** The journaled changes, oldest first. */
  async entries(): Promise<ChangeEntry[]> {
    return (await this.journal()).filter((e): e is ChangeEntry => e.type === "change");
  }

  /** The seq of each change whose write finished. */
  async applied(): Promise<Set<number>> {
    return new Set((await this.journal()).flatMap((e) => (e.type === "change-applied" ? [e.ref] : [])));
  }

  /** What the steps noted, oldest first. */
  async notes(): Promise<NoteEntry[]> {
    return (await this.journal()).filter((e): e is NoteEntry => e.type === "note");
  }

  /** Progress as lines: `wait ADDRESS: DETAIL`, `info MESSAGE`, `warn MESSAGE`. */
  get lines(): string[] {
    return this.events.flatMap((event) => {
      if (event.type === "wait-progress") return [`wait ${event.address}: ${event.detail}`];
      if (event.type === "info" || event.type === "warn") return [`${event.type} ${event.message}`];
      return [];
    });
  }
}
