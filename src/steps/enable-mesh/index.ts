import { isDeepStrictEqual } from "node:util";
import { RuntimeError } from "../../engine/errors.js";
import { targetOf } from "../../engine/targets.js";
import type { Change, Step, WriteContext } from "../../engine/types.js";
import { formatDuration } from "../../playbook/duration.js";
import { clusterName } from "../../providers/gke/names.js";
import {
  clusterResourceLink,
  controlPlaneProgress,
  findByMembership,
  linksCluster,
  membershipResource,
  meshSpec,
} from "../../providers/gke/hub.js";
import { gkeHub } from "../../providers/gke/index.js";
import { poll, pollInterval } from "../../providers/gke/poll.js";
import type { HubPort } from "../../providers/gke/port.js";
import { FEATURE_IMAGE, fleetFeatureResource, fleetMembershipResource } from "../../resources/fleet.js";
import { specOf, specPlan } from "../spec-plan.js";
import {
  ACTIVE_WAIT,
  featureAddress,
  meshInstance,
  membershipAddress,
  specAddress,
  type MeshInstance,
} from "./spec.js";

export type { MeshInstance } from "./spec.js";

/** Provisioning a managed control plane takes about ten minutes; Google allows for more. */
const ACTIVE_TIMEOUT_MS = 30 * 60_000;

/**
 * Fleet-managed Cloud Service Mesh for the GKE target: `gcloud container fleet memberships register`,
 * `gcloud container fleet mesh enable`, `gcloud container fleet mesh update --management automatic`, then the
 * wait for the managed control plane. Rollback undoes only what this run did.
 */
export const enableMeshStep: Step<MeshInstance> = {
  kind: "enable-mesh",
  needs: ["provision-cluster"],

  expand(playbook) {
    const instance = meshInstance(playbook);
    if (!instance) return [];
    return [
      {
        id: "enable-mesh",
        title: `Enable ${instance.management} Cloud Service Mesh on ${instance.cluster.name}`,
        spec: instance,
      },
    ];
  },

  async plan(instance, ctx) {
    const spec = instance.spec;
    const hub = gkeHub(ctx);
    const changes: Change[] = [];

    const membership = await hub.getMembership(spec.membership);
    if (!membership) {
      changes.push({
        action: "create",
        address: membershipAddress(spec),
        after: membershipResource(spec.cluster),
        detail: `cluster ${clusterName(spec.cluster)}`,
      });
    } else if (!linksCluster(membership.resourceLink, spec.cluster)) {
      throw new RuntimeError(
        `fleet membership ${spec.membership} exists for ${membership.resourceLink ?? "a non-GKE cluster"}, ` +
          `not for ${clusterResourceLink(spec.cluster)}. Unregister it ` +
          `(gcloud container fleet memberships unregister ${spec.cluster.name} --project ${spec.cluster.project}) ` +
          "or give the target cluster another name.",
      );
    } else {
      changes.push({ action: "no-op", address: membershipAddress(spec), detail: "registered" });
    }

    const feature = await hub.getFeature(spec.cluster.project);
    changes.push(
      feature
        ? {
            action: "no-op",
            address: featureAddress(spec),
            detail: `enabled${feature.state ? `, ${feature.state}` : ""}`,
          }
        : {
            action: "create",
            address: featureAddress(spec),
            after: { featureId: "servicemesh" },
            detail: "enable servicemesh",
          },
    );

    const desired = meshSpec(spec.management);
    const current = feature ? findByMembership(feature.specs, spec.membership) : undefined;
    const detail = `management ${spec.management}`;
    if (current && isDeepStrictEqual(current[1], desired)) {
      changes.push({ action: "no-op", address: specAddress(spec), detail });
    } else if (current) {
      changes.push({
        action: "update",
        address: specAddress(spec),
        before: current[1],
        after: desired,
        detail,
      });
    } else {
      changes.push({ action: "create", address: specAddress(spec), after: desired, detail });
    }

    const state = feature ? findByMembership(feature.states, spec.membership)?.[1] : undefined;
    if (spec.management === "automatic" && state?.controlPlane !== "ACTIVE") {
      changes.push({
        action: "wait",
        address: ACTIVE_WAIT,
        detail: `${spec.membership}, up to ${formatDuration(ACTIVE_TIMEOUT_MS)}`,
      });
    }
    return specPlan("enable-mesh", instance, changes);
  },

  async apply(plan, ctx) {
    const spec = specOf<MeshInstance>(plan);
    const planned = (address: string) =>
      plan.changes.find((c) => c.address === address && c.action !== "no-op");

    const membership = planned(membershipAddress(spec));
    if (membership?.action === "create") {
      await fleetMembershipResource.write(
        {
          address: membership.address,
          action: "create",
          target: { type: "fleet.membership", name: spec.membership },
          after: { resourceLink: clusterResourceLink(spec.cluster) },
        },
        ctx,
      );
    }
    const feature = planned(featureAddress(spec));
    if (feature?.action === "create") {
      await fleetFeatureResource.write(
        {
          address: feature.address,
          action: "create",
          target: { type: "fleet.feature", project: spec.cluster.project },
          after: FEATURE_IMAGE,
        },
        ctx,
      );
    }
    const meshSpecChange = planned(specAddress(spec));
    if (meshSpecChange?.action === "create" || meshSpecChange?.action === "update") {
      await fleetFeatureResource.write(
        {
          address: meshSpecChange.address,
          action: meshSpecChange.action,
          target: { type: "fleet.feature", project: spec.cluster.project, membershipSpec: spec.membership },
          ...(meshSpecChange.action === "update"
            ? { before: meshSpecChange.before as Record<string, unknown> }
            : {}),
          after: meshSpecChange.after as Record<string, unknown>,
        },
        ctx,
      );
    }
    if (planned(ACTIVE_WAIT)) await waitActive(spec, gkeHub(ctx), ctx);
  },

  async verify(plan, ctx) {
    const spec = specOf<MeshInstance>(plan);
    const feature = await gkeHub(ctx).getFeature(spec.cluster.project);
    const current = feature ? findByMembership(feature.specs, spec.membership)?.[1] : undefined;
    if (!isDeepStrictEqual(current, meshSpec(spec.management))) {
      return {
        outcome: "failed",
        detail: `servicemesh spec of ${spec.membership} is not management ${spec.management}`,
      };
    }
    if (spec.management === "manual") {
      return { outcome: "passed", detail: "manual management: install the control plane with asmcli" };
    }
    const state = feature ? findByMembership(feature.states, spec.membership)?.[1] : undefined;
    return state?.controlPlane === "ACTIVE"
      ? { outcome: "passed", detail: "managed control plane ACTIVE" }
      : { outcome: "failed", detail: `managed control plane is ${state?.controlPlane ?? "not reported"}` };
  },

  async rollback(entries, ctx) {
    for (const entry of entries) {
      const target = targetOf(entry, "fleet.feature", "fleet.membership");
      if (target.type === "fleet.feature") await fleetFeatureResource.revert(entry, ctx);
      else await fleetMembershipResource.revert(entry, ctx);
    }
  },
};

async function waitActive(spec: MeshInstance, hub: HubPort, ctx: WriteContext): Promise<void> {
  await poll(
    async () => {
      const feature = await hub.getFeature(spec.cluster.project);
      return controlPlaneProgress(
        spec.membership,
        feature ? findByMembership(feature.states, spec.membership)?.[1] : undefined,
      );
    },
    {
      what: `controlPlaneManagement ACTIVE on ${spec.membership}`,
      timeoutMs: ACTIVE_TIMEOUT_MS,
      signal: ctx.signal,
      onProgress: (detail) => ctx.progress.wait(ACTIVE_WAIT, detail),
      ...pollInterval(ctx),
    },
  );
}
