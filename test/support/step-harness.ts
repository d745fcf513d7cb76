import type {
  ChangeEntry,
  JournaledChange,
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

/** A minimal playbook: only source and target, the rest from `spec`. */
export function testPlaybook(spec: Record<string, unknown> = {}, name = "test-run"): Playbook {
  return playbookSchema.parse({
    apiVersion: "clustershift.dev/v1alpha1",
    kind: "Playbook",
    metadata: { name },
    spec: { source: { context: "source" }, target: { context: "target" }, ...spec },
  });
}

export function recordingProgress(): RecordedProgress {
  const lines: string[] = [];
  return {
    lines,
    wait: (address, detail) => lines.push(`wait ${address}: ${detail}`),
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
  };
}

/**
 * Contexts for driving one step without the engine: an in-memory write-ahead journal that records each change
 * before its write, like the engine's, so tests can roll back with what was journaled.
 */
export function stepHarness(options: {
  kubeconfig: string;
  playbook?: Playbook;
  step?: string;
  kind?: StepKind;
}): StepHarness {
  const entries: ChangeEntry[] = [];
  const applied = new Set<number>();
  const progress = recordingProgress();
  const runOptions: RunOptions = {
    playbookFile: "test.yaml",
    stateDir: ".clustershift-test",
    nonInteractive: true,
    kubeconfig: options.kubeconfig,
  };
  let seq = 0;
  const ctx: WriteContext = {
    playbook: options.playbook ?? testPlaybook(),
    options: runOptions,
    progress,
    signal: new AbortController().signal,
    clients: new Map(),
    async change<T>(change: JournaledChange, write: () => Promise<T>): Promise<T> {
      const entry: ChangeEntry = {
        ...structuredClone(change),
        type: "change",
        seq: ++seq,
        time: new Date().toISOString(),
        step: options.step ?? "mirror-workloads",
        kind: options.kind ?? "mirror-workloads",
      };
      entries.push(entry);
      const result = await write();
      applied.add(entry.seq);
      return result;
    },
    async note() {},
  };
  return { ctx, entries, applied, progress, rollbackEntries: () => [...entries].reverse() };
}
