import type { ClusterRef } from "./port.js";

/** `projects/P/locations/L/clusters/N`, as the cluster manager names clusters. */
export function clusterName(ref: ClusterRef): string {
  return `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}

/** The cluster as other Google APIs link to it. */
export function clusterResourceLink(ref: ClusterRef): string {
  return `//container.googleapis.com/${clusterName(ref)}`;
}

/** Fleet memberships of GKE clusters live in `global`, as `gcloud container fleet memberships register` puts them. */
export const MEMBERSHIP_LOCATION = "global";

export function membershipName(project: string, id: string): string {
  return `projects/${project}/locations/${MEMBERSHIP_LOCATION}/memberships/${id}`;
}

export function featureName(project: string): string {
  return `projects/${project}/locations/global/features/servicemesh`;
}
