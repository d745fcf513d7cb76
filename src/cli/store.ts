import { LocalJournalStore } from "../engine/journal/local-store.js";
import type { JournalReader, JournalStore } from "../engine/journal/store.js";
import type { RunOptions } from "../engine/types.js";
import type { Playbook } from "../playbook/schema.js";
import { withCrashPoint } from "./crash-point.js";

/** The journal backend the playbook's `state` section names (with the crash-safety tests' hook, when they set it). */
export async function openStore(playbook: Playbook, options: RunOptions): Promise<JournalStore> {
  return withCrashPoint(await openBackend(playbook, options));
}

async function openBackend(playbook: Playbook, options: RunOptions): Promise<JournalStore> {
  const state = playbook.spec.state;
  switch (state.backend) {
    case "local":
      return new LocalJournalStore(options.stateDir, playbook.metadata.name);
    case "kubernetes": {
      const { kubernetesStore } = await import("./kubernetes-store.js");
      return kubernetesStore(playbook, options, state);
    }
  }
}

/**
 * The same backend for `plan`, `status` and the wizard: readers only. On a cluster its client refuses writes, so
 * neither a Namespace nor a ConfigMap, Secret or Lease can come from a plan.
 */
export async function openReader(playbook: Playbook, options: RunOptions): Promise<JournalReader> {
  const state = playbook.spec.state;
  switch (state.backend) {
    case "local":
      return new LocalJournalStore(options.stateDir, playbook.metadata.name);
    case "kubernetes": {
      const { kubernetesReader } = await import("./kubernetes-store.js");
      return kubernetesReader(playbook, options, state);
    }
  }
}
