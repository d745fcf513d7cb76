import { KubernetesJournalStore } from "../engine/journal/kubernetes-store.js";
import type { JournalReader, JournalStore } from "../engine/journal/store.js";
import { readerOf } from "../engine/readers.js";
import type { RunOptions } from "../engine/types.js";
import type { Playbook, StateSpec } from "../playbook/schema.js";
import { createClusterClient } from "../providers/kubernetes/client.js";

type KubernetesState = Extract<StateSpec, { backend: "kubernetes" }>;

/** `state: {backend: kubernetes}`: journal ConfigMaps and a Lease in the named cluster, shared by a team or CI. */
export function kubernetesStore(
  playbook: Playbook,
  options: RunOptions,
  state: KubernetesState,
): JournalStore {
  return new KubernetesJournalStore(portOf(options, state), playbook.metadata.name, state.namespace);
}

/** The same journal for reading only: its client refuses every write. */
export function kubernetesReader(
  playbook: Playbook,
  options: RunOptions,
  state: KubernetesState,
): JournalReader {
  return new KubernetesJournalStore(
    readerOf(portOf(options, state), `kube:${state.context}`),
    playbook.metadata.name,
    state.namespace,
  );
}

function portOf(options: RunOptions, state: KubernetesState) {
  return createClusterClient(state.context, options.kubeconfig ? { kubeconfig: options.kubeconfig } : {});
}
