import type { RunEvent } from "../../src/engine/events.js";
import type { Engine } from "../../src/engine/executor.js";
import { LocalJournalStore } from "../../src/engine/journal/local-store.js";
import type { JournalStore } from "../../src/engine/journal/store.js";
import type { Registry } from "../../src/engine/registry.js";
import type { Playbook } from "../../src/playbook/schema.js";
import { testRunOptions } from "./step-harness.js";

export interface InProcessEngine {
  engine: Engine;
  /** What the run emitted, in order. */
  events: RunEvent[];
}

/**
 * The engine in this process, non-interactive, journaling in `stateDir` (or `store`) and recording its events;
 * `stopWhen` aborts the run, as Ctrl-C does, at the first event it accepts.
 */
export function inProcessEngine(options: {
  registry: Registry;
  playbook: Playbook;
  stateDir: string;
  playbookFile?: string;
  kubeconfig?: string;
  store?: JournalStore;
  stopWhen?: (event: RunEvent) => boolean;
}): InProcessEngine {
  const { registry, playbook, stateDir, kubeconfig, stopWhen } = options;
  const events: RunEvent[] = [];
  const stop = new AbortController();
  const engine: Engine = {
    registry,
    playbook,
    options: testRunOptions({
      playbookFile: options.playbookFile ?? "test.yaml",
      stateDir,
      ...(kubeconfig === undefined ? {} : { kubeconfig }),
    }),
    store: options.store ?? new LocalJournalStore(stateDir, playbook.metadata.name),
    sink: {
      emit(event) {
        events.push(event);
        if (stopWhen?.(event)) stop.abort(new Error("stopped by the test"));
      },
      close: () => undefined,
    },
    signal: stop.signal,
  };
  return { engine, events };
}
