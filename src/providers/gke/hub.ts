import { RuntimeError } from "../../engine/errors.js";
import type { PollResult } from "./poll.js";
import { clusterName, clusterResourceLink } from "./names.js";
import type { ClusterRef, MembershipMeshState } from "./port.js";

export { clusterResourceLink, featureName, membershipName, MEMBERSHIP_LOCATION } from "./names.js";

/** The body of `memberships.create` for a GKE cluster with fleet workload identity. */
export function membershipResource(ref: ClusterRef) {
  return {
    endpoint: { gkeCluster: { resourceLink: clusterResourceLink(ref) } },
    authority: {
      issuer: `https://container.googleapis.com/v1/${clusterName(ref)}`,
    },
  };
}

/** True when a membership's resourceLink names this cluster (the API may write the project as its number). */
export function linksCluster(resourceLink: string | undefined, ref: ClusterRef): boolean {
  const match =
    /^\/\/container\.googleapis\.com\/projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/.exec(
      resourceLink ?? "",
    );
  if (!match) return false;
  const [, project, location, name] = match;
  return (
    (project === ref.project || /^\d+$/.test(project!)) && location === ref.location && name === ref.name
  );
}

/**
 * The entry of a `membershipSpecs`/`membershipStates` map for a membership. The API returns keys with the
 * project number, so keys match on what follows the project.
 */
export function findByMembership<T>(map: Record<string, T>, membership: string): [string, T] | undefined {
  const suffix = membership.replace(/^projects\/[^/]+/, "");
  return Object.entries(map).find(
    ([key]) => key === membership || key.replace(/^projects\/[^/]+/, "") === suffix,
  );
}

export type MeshManagement = "automatic" | "manual";

export function meshSpec(management: MeshManagement): Record<string, unknown> {
  return { mesh: { management: management === "automatic" ? "MANAGEMENT_AUTOMATIC" : "MANAGEMENT_MANUAL" } };
}

const FAILED = new Set(["FAILED_PRECONDITION", "STALLED", "NEEDS_ATTENTION"]);

/**
 * One look at the managed control plane of a membership: ACTIVE ends the wait; FAILED_PRECONDITION, STALLED
 * and NEEDS_ATTENTION end it with Google's details, which name the fix; anything else (DISABLED, PROVISIONING,
 * DEGRADED while Google repairs, not reported yet) keeps waiting.
 */
export function controlPlaneProgress(
  membership: string,
  state: MembershipMeshState | undefined,
): PollResult<string> {
  const current = state?.controlPlane ?? "";
  if (current === "ACTIVE") return { done: true, value: current };
  const details = (state?.controlPlaneDetails ?? [])
    .map((d) => [d.code, d.details].filter(Boolean).join(": "))
    .filter(Boolean);
  if (FAILED.has(current)) {
    throw new RuntimeError(
      `managed control plane of ${membership} is ${current}` +
        (details.length
          ? `:\n  ${details.join("\n  ")}`
          : state?.description
            ? `: ${state.description}`
            : "") +
        "\n  See https://cloud.google.com/service-mesh/docs/managed/provision-managed-anthos-service-mesh#troubleshooting",
    );
  }
  const shown = current || "not reported yet";
  return { done: false, detail: details.length ? `${shown}: ${details.join("; ")}` : shown };
}
