import { KubernetesJournalStore } from "../engine/journal/kubernetes-store.js";
import type { JournalStore } from "../engine/journal/store.js";
import type { RunOptions } from "../engine/types.js";
import type { Playbook, StateSpec } from "../playbook/schema.js";
import { createClusterClient } from "../providers/kubernetes/client.js";

/** `state: {backend: kubernetes}`: journal ConfigMaps and a Lease in the named cluster, shared by a team or CI. */
export function kubernetesStore(
  playbook: Playbook,
  options: RunOptions,
  state: Extract<StateSpec, { backend: "kubernetes" }>,
): JournalStore {
  const port = createClusterClient(
    state.context,
    options.kubeconfig ? { kubeconfig: options.kubeconfig } : {},
  );
  return new KubernetesJournalStore(port, playbook.metadata.name, state.namespace);
}
