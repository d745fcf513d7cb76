import type { GateContext } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import { recordingProgress, testRunOptions } from "../support/step-harness.js";

export interface RecordedGateContext extends GateContext {
  lines: string[];
  notes: { note: string; data?: unknown }[];
}

/** A GateContext that records progress lines (`= ADDRESS: DETAIL`, `i MESSAGE`, `! MESSAGE`) and journal notes. */
export function gateContext(
  clients = new Map<string, unknown>(),
  signal = new AbortController().signal,
): RecordedGateContext {
  const progress = recordingProgress({ wait: "=", info: "i", warn: "!" });
  const notes: { note: string; data?: unknown }[] = [];
  return {
    playbook: {} as Playbook,
    options: testRunOptions(),
    signal,
    clients,
    progress,
    note: (note, data) => {
      notes.push({ note, data });
      return Promise.resolve();
    },
    lines: progress.lines,
    notes,
  };
}
