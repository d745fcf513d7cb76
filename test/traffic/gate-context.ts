import type { GateContext, RunOptions } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";

export interface RecordedGateContext extends GateContext {
  lines: string[];
  notes: { note: string; data?: unknown }[];
}

/** A GateContext that records progress lines and journal notes. */
export function gateContext(
  clients = new Map<string, unknown>(),
  signal = new AbortController().signal,
): RecordedGateContext {
  const lines: string[] = [];
  const notes: { note: string; data?: unknown }[] = [];
  return {
    playbook: {} as Playbook,
    options: {
      playbookFile: "test.yaml",
      stateDir: ".",
      nonInteractive: true,
    } satisfies RunOptions,
    signal,
    clients,
    progress: {
      wait: (address, detail) => lines.push(`= ${address}: ${detail}`),
      info: (message) => lines.push(`i ${message}`),
      warn: (message) => lines.push(`! ${message}`),
    },
    note: (note, data) => {
      notes.push({ note, data });
      return Promise.resolve();
    },
    lines,
    notes,
  };
}
