import type {
  ChangeEntry,
  JournaledChange,
  NoteEntry,
  Progress,
  RunOptions,
  StepKind,
  WriteContext,
} from "../../src/engine/types.js";
import { playbookSchema, type Playbook } from "../../src/playbook/schema.js";

export interface RecordedProgress extends Progress {
  readonly lines: string[];
}

export interface StepHarness {
  ctx: WriteContext;
  /** Journaled changes, oldest first. */
  readonly entries: ChangeEntry[];
  /** seq of each change whose write finished. */
  readonly applied: Set<number>;
  readonly progress: RecordedProgress;
  /** What the engine hands to `rollback`: the step's change entries, newest first. */
  rollbackEntries(): ChangeEntry[];
}

/** The GKE target cluster of DESIGN.md's example playbook. */
export const GKE_PROVISION = {
  provider: "gke",
  project: "my-project",
  location: "us-central1-a",
  name: "cluster-with-csm",
  machineType: "e2-standard-4",
  nodeCount: 2,
} as const;

/** The target's ingress gateway of Google's migration guide (DESIGN.md's example playbook). */
export const ASM_INGRESS = {
  namespace: "asm-ingress",
  service: "asm-ingressgateway",
  gateway: "asm-ingress/asm-ingressgateway",
} as const;

/** A playbook as its file holds it, before parsing. */
export function playbookDocument(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "clustershift.dev/v1alpha1", kind: "Playbook", metadata: { name }, spec };
}

/** A minimal playbook: only source and target, the rest from `spec`. */
export function testPlaybook(spec: Record<string, unknown> = {}, name = "test-run"): Playbook {
  return playbookSchema.parse(
    playbookDocument(name, { source: { context: "source" }, target: { context: "target" }, ...spec }),
  );
}

/** The options of a non-interactive run of `test.yaml`; `options` adds to or overrides them. */
export function testRunOptions(options: Partial<RunOptions> = {}): RunOptions {
  return { playbookFile: "test.yaml", stateDir: ".clustershift-test", nonInteractive: true, ...options };
}

/**
 * Progress that keeps each line as `wait ADDRESS: DETAIL`, `info MESSAGE`, `warn MESSAGE` (other `labels` for
 * other prefixes), and hands it to `onLine` once kept.
 */
export function recordingProgress(
  labels: Record<keyof Progress, string> = { wait: "wait", info: "info", warn: "warn" },
  onLine: (line: string) => void = () => undefined,
): RecordedProgress {
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    onLine(line);
  };
  return {
    lines,
    wait: (address, detail) => keep(`${labels.wait} ${address}: ${detail}`),
    info: (message) => keep(`${labels.info} ${message}`),
    warn: (message) => keep(`${labels.warn} ${message}`),
  };
}

/**
 * An in-memory write-ahead journal like the engine's: a change is journaled before its write and stays when
 * the write fails, so tests can roll back with what was journaled.
 */
export class MemoryJournal {
  /** Journaled changes, oldest first. */
  readonly entries: ChangeEntry[] = [];
  /** What the steps noted (`ctx.note`), oldest first. */
  readonly notes: NoteEntry[] = [];
  /** seq of each change whose write finished. */
  readonly applied = new Set<number>();
  private seq = 0;

  /** `ctx.change` and `ctx.note` for one step, journaling here. */
  writer(step: string, kind: StepKind): Pick<WriteContext, "change" | "note"> {
    return {
      change: async <T>(change: JournaledChange, write: () => Promise<T>): Promise<T> => {
        const entry: ChangeEntry = {
          ...structuredClone(change),
          type: "change",
          ...this.stamp(),
          step,
          kind,
        };
        this.entries.push(entry);
        const result = await write();
        this.applied.add(entry.seq);
        return result;
      },
      note: (note: string, data?: unknown) => {
        this.notes.push({ type: "note", ...this.stamp(), step, note, data: structuredClone(data) });
        return Promise.resolve();
      },
    };
  }

  /** What the engine hands to `rollback`: the change entries, newest first. */
  newestFirst(): ChangeEntry[] {
    return [...this.entries].reverse();
  }

  private stamp(): { seq: number; time: string } {
    return { seq: ++this.seq, time: new Date().toISOString() };
  }
}

/** `ctx` as the engine hands it to rollback, which journals nothing: a change only writes, a note is dropped. */
export function unjournaled(ctx: WriteContext): WriteContext {
  return { ...ctx, change: (_change, write) => write(), note: () => Promise.resolve() };
}

/** Contexts for driving one step without the engine, on an in-memory write-ahead journal. */
export function stepHarness(options: {
  kubeconfig: string;
  playbook?: Playbook;
  step?: string;
  kind?: StepKind;
}): StepHarness {
  const journal = new MemoryJournal();
  const progress = recordingProgress();
  const ctx: WriteContext = {
    playbook: options.playbook ?? testPlaybook(),
    options: testRunOptions({ kubeconfig: options.kubeconfig }),
    progress,
    signal: new AbortController().signal,
    clients: new Map(),
    ...journal.writer(options.step ?? "mirror-workloads", options.kind ?? "mirror-workloads"),
  };
  return {
    ctx,
    entries: journal.entries,
    applied: journal.applied,
    progress,
    rollbackEntries: () => journal.newestFirst(),
  };
}
