import type { Playbook } from "../playbook/schema.js";
import type { Target } from "./targets.js";

/** Step kinds of DESIGN.md; tests may register others. */
export type StepKind =
  | "provision-cluster"
  | "enable-mesh"
  | "install-ingress-gateway"
  | "mirror-workloads"
  | "expose-target"
  | "shift-traffic"
  | "lower-dns-ttl"
  | "cutover-dns"
  | "decommission-source"
  | (string & {});

/**
 * What a step will do to one addressable thing. `after` values may hold
 * {@link KNOWN_AFTER_APPLY} where they depend on an earlier step's result.
 * `sensitive` marks values (Secret data) that output replaces by `(sensitive: N keys)`.
 */
export type Change =
  | { action: "create"; address: string; after: unknown; detail?: string; sensitive?: boolean }
  | {
      action: "update";
      address: string;
      before: unknown;
      after: unknown;
      detail?: string;
      sensitive?: boolean;
    }
  | { action: "delete"; address: string; before: unknown; detail?: string; sensitive?: boolean }
  /** `expectedMs`: how long the wait takes when the plan can tell (an old DNS TTL); the schedule adds it up. */
  | { action: "wait"; address: string; detail: string; expectedMs?: number }
  | { action: "no-op"; address: string; detail?: string };

export type ChangeAction = Change["action"];

/** What users see for each action, as Terraform shows them; gates are `?`. */
export const ACTION_SYMBOL: Record<ChangeAction, string> = {
  create: "+",
  update: "~",
  delete: "-",
  wait: "=",
  "no-op": " ",
};

/** Placeholder for a value an earlier step produces; drift checks skip it. */
export const KNOWN_AFTER_APPLY = "(known after apply)";

/** A gate between steps: the engine runs `pause` and `approval`; others plug in via {@link GateRunner}. */
export interface GateSpec {
  type: string;
  [key: string]: unknown;
}

export interface PlannedGate {
  address: string;
  gate: GateSpec;
  /** What a failed gate does to the run. */
  onFailure: "rollback" | "pause";
  /** Human summary shown in the plan, e.g. `pause 2m`. */
  detail: string;
  /** Step kinds whose journaled changes a failed gate undoes with `onFailure: rollback`; absent: the whole run. */
  rollbackKinds?: StepKind[];
}

export interface StepPlan {
  /** Unique in the run: `mirror-workloads`, `shift-traffic[2]`. */
  id: string;
  kind: StepKind;
  title: string;
  changes: Change[];
  /** Gates run after the step applied and verified. */
  gates: PlannedGate[];
  /** Step-private data that apply needs and the renderer ignores. */
  data?: unknown;
}

export type Verification =
  | { outcome: "passed"; detail?: string }
  | { outcome: "failed"; detail: string }
  | { outcome: "not-supported"; detail?: string };

/** One instance of a step kind enabled by the playbook. */
export interface StepInstance<Spec = unknown> {
  id: string;
  title: string;
  spec: Spec;
}

export interface Step<Spec = unknown> {
  readonly kind: StepKind;
  /**
   * The step kinds whose instances (every one, gates passed) must be done before this one starts; the executor runs
   * steps that do not need each other side by side (engine/schedule.ts). A kind absent from the playbook stands for
   * what it needs in turn. Absent: everything registered before this kind (one after another, as plugins expect).
   * Instances of one kind always run one after another.
   */
  readonly needs?: readonly StepKind[];
  /** The instances this playbook switches on, in order; none when its section is absent. */
  expand(playbook: Playbook): StepInstance<Spec>[];
  /** Reads only. */
  plan(instance: StepInstance<Spec>, ctx: ReadContext): Promise<StepPlan>;
  /** Carries out exactly `plan`, journaling each write through `ctx.change` before making it. */
  apply(plan: StepPlan, ctx: WriteContext): Promise<void>;
  verify(plan: StepPlan, ctx: ReadContext): Promise<Verification>;
  /** Restores the before-images of `entries` (newest first); must be idempotent. */
  rollback(entries: ChangeEntry[], ctx: WriteContext): Promise<void>;
}

/**
 * What a step journals before it writes. `target` is what rollback needs to find the thing again, one member of
 * the closed union of engine/targets.ts (journals written before it are upgraded on read: `upgradeTarget`).
 */
export interface JournaledChange {
  address: string;
  action: "create" | "update" | "delete";
  before?: unknown;
  after?: unknown;
  sensitive?: boolean;
  target?: Target;
}

interface EntryBase {
  seq: number;
  time: string;
}

export type ChangeEntry = EntryBase & JournaledChange & { type: "change"; step: string; kind: StepKind };

/** What `ctx.note` journaled; `step` is the step that noted it (or whose gate did). */
export type NoteEntry = EntryBase & { type: "note"; step: string; note: string; data?: unknown };

export type JournalEntry =
  | (EntryBase & { type: "run-started"; playbook: string; pid: number; host: string })
  /** `gates`: the addresses of the step's planned gates, so a plan made later knows when none is left. */
  | (EntryBase & { type: "step-started"; step: string; kind: StepKind; gates?: string[] })
  | ChangeEntry
  | (EntryBase & { type: "change-applied"; step: string; ref: number })
  | (EntryBase & { type: "step-finished"; step: string; verification: Verification })
  | NoteEntry
  | (EntryBase & {
      type: "gate";
      step: string;
      address: string;
      state: "waiting" | "passed" | "failed" | "promoted";
      detail?: string;
    })
  | (EntryBase & { type: "run-paused"; step: string; gate: string; reason: string })
  | (EntryBase & { type: "run-finished" })
  | (EntryBase & { type: "rollback-started"; reason: string; kinds?: StepKind[] })
  | (EntryBase & { type: "change-reverted"; ref: number })
  /** `kinds`: only those step kinds were rolled back (a failed traffic gate); absent: the whole run. */
  | (EntryBase & { type: "rollback-finished"; kinds?: StepKind[] })
  /**
   * `rollback --skip-context`: the changes `refs` on `context` were left as they are (a cluster that is gone);
   * they stay journaled, and a later rollback reverts them once the cluster answers again.
   */
  | (EntryBase & { type: "rollback-skipped"; context: string; refs: number[] })
  /** The sensitive before/after images of the reverted changes `refs` were deleted from the state. */
  | (EntryBase & { type: "sensitive-dropped"; refs: number[] })
  /**
   * `clustershift finish` closed the completed migration: its changes are history, rollback refuses, and the
   * sensitive images are deleted (journaled by `sensitive-dropped` after this record).
   */
  | (EntryBase & { type: "journal-closed"; by: "finish" });

export type JournalEntryInput = JournalEntry extends infer E
  ? E extends EntryBase
    ? Omit<E, "seq" | "time">
    : never
  : never;

/** Progress of long waits and notable events; renderers turn these into a tree, lines or NDJSON. */
export interface Progress {
  /** A wait moved on: `detail` says how far (`2/3 replicas ready`, `INSYNC in 12s`). */
  wait(address: string, detail: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface RunOptions {
  playbookFile: string;
  stateDir: string;
  nonInteractive: boolean;
  /** KUBECONFIG path list as the environment gives it. */
  kubeconfig?: string;
  /** Allow rollback to delete provisioned clusters. */
  destroyProvisioned?: boolean;
  /** Rollback restores a DNS record's before-image even when someone changed the record after clustershift. */
  forceRollback?: boolean;
  /**
   * How often the GKE providers poll an operation or a state, and their first retry backoff; absent: 5s and 1s.
   * Injected by the caller (the CLI reads CLUSTERSHIFT_GKE_POLL_INTERVAL / _RETRY_DELAY; tests pass their own).
   */
  gkeTiming?: { pollIntervalMs?: number; retryDelayMs?: number };
}

export interface ReadContext {
  readonly playbook: Playbook;
  readonly options: RunOptions;
  readonly progress: Progress;
  readonly signal: AbortSignal;
  /** Provider clients memoized for the run, keyed by the provider (`kube:<context>`). */
  readonly clients: Map<string, unknown>;
  /**
   * Changes of this run journaled and not reverted, oldest first; absent or empty before the first apply.
   * A step re-planned later in the run finds an earlier step's before-image here (cutover-dns restores
   * the DNS TTL that lower-dns-ttl found, which the record itself no longer shows).
   */
  readonly journaled?: readonly ChangeEntry[];
  /**
   * Notes of this run not undone by a rollback, oldest first; absent or empty before the first apply.
   * A step resumed after a stop finds what it noted before it (lower-dns-ttl: the DNS change id, and when
   * the old-TTL wait ends) instead of starting its waits over. Filter by `step`: every step's notes are here.
   */
  readonly journaledNotes?: readonly NoteEntry[];
}

export interface WriteContext extends ReadContext {
  /** Journals `change` (fsync'd), runs `write`, then journals that it was applied. */
  change<T>(change: JournaledChange, write: () => Promise<T>): Promise<T>;
  /** Journals a fact worth keeping (an analysis measurement, an address found). */
  note(note: string, data?: unknown): Promise<void>;
}

export interface GateContext extends ReadContext {
  note(note: string, data?: unknown): Promise<void>;
  /** The gate's step and address: a pause finds the start an earlier run of it journaled by them. */
  readonly step?: string;
  readonly gate?: string;
}

export type GateOutcome =
  | { outcome: "passed"; detail?: string }
  | { outcome: "failed"; detail: string }
  /** An approval that nobody can give now (non-interactive): the run stops, exit 0. */
  | { outcome: "waiting"; detail: string };

export interface GateRunner {
  readonly type: string;
  /** One line for the plan: `analysis success-rate >= 0.99, 5 × 30s`. */
  describe(gate: GateSpec): string;
  run(gate: GateSpec, ctx: GateContext): Promise<GateOutcome>;
}
