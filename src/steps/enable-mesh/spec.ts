import type { Playbook } from "../../playbook/schema.js";
import { membershipName, type MeshManagement } from "../../providers/gke/hub.js";
import type { ClusterRef } from "../../providers/gke/port.js";
import { provisionInstance } from "../provision-cluster/spec.js";

export interface MeshInstance {
  cluster: ClusterRef;
  /** `projects/P/locations/global/memberships/<cluster name>`. */
  membership: string;
  management: MeshManagement;
}

/**
 * Fleet mesh for a GKE target. A sandbox target gets no instance: its clusters serve the Istio CRDs from
 * creation and have no fleet, so there is nothing to enable.
 */
export function meshInstance(playbook: Playbook): MeshInstance | undefined {
  const instance = provisionInstance(playbook);
  if (instance?.provider !== "gke") return undefined;
  return {
    cluster: instance.ref,
    membership: membershipName(instance.ref.project, instance.ref.name),
    management: playbook.spec.target.provision?.mesh?.management ?? "automatic",
  };
}

export function membershipAddress(instance: MeshInstance): string {
  return `fleet membership ${instance.membership}`;
}

export function featureAddress(instance: MeshInstance): string {
  return `fleet feature projects/${instance.cluster.project}/locations/global/features/servicemesh`;
}

export function specAddress(instance: MeshInstance): string {
  return `feature servicemesh membership ${instance.cluster.name}`;
}

export const ACTIVE_WAIT = "controlPlaneManagement ACTIVE";
