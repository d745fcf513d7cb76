import { isDeepStrictEqual } from "node:util";
import { DriftError, RuntimeError } from "../engine/errors.js";
import { targetOf, type FleetFeatureTarget, type FleetMembershipTarget } from "../engine/targets.js";
import type { JournaledChange, ReadContext } from "../engine/types.js";
import { findByMembership, linksCluster } from "../providers/gke/hub.js";
import { gkeHub } from "../providers/gke/index.js";
import { OPERATION_TIMEOUT_MS, waitForHubOperation } from "../providers/gke/operations.js";
import { pollInterval } from "../providers/gke/poll.js";
import type { ClusterRef, HubOperation, HubPort } from "../providers/gke/port.js";
import { differingPaths, type Resource, type ResourceChange } from "./resource.js";

/** A membership as clustershift compares it: the GKE cluster it stands for. */
export interface MembershipImage {
  /** `//container.googleapis.com/projects/P/locations/L/clusters/C`. */
  resourceLink: string;
}

/**
 * The `servicemesh` feature (`{featureId: "servicemesh"}` while it is enabled) or, for a target with
 * `membershipSpec`, that membership's entry of the feature's `membershipSpecs` (`{mesh: {management: …}}`).
 */
export type FeatureImage = Record<string, unknown>;

export type FleetMembershipChange = ResourceChange<FleetMembershipTarget, MembershipImage>;
export type FleetFeatureChange = ResourceChange<FleetFeatureTarget, FeatureImage>;

export const FEATURE_IMAGE: FeatureImage = { featureId: "servicemesh" };

const NOTHING_WRITTEN =
  "Nothing was written; run `clustershift plan` again to see the change against what is there now.";

/** The cluster a membership's resource link names. */
export function clusterOfLink(resourceLink: string): ClusterRef {
  const match =
    /^\/\/container\.googleapis\.com\/projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/.exec(
      resourceLink,
    );
  if (!match) throw new Error(`${resourceLink} is not a GKE cluster's resource link: this is a bug`);
  return { project: match[1]!, location: match[2]!, name: match[3]! };
}

/**
 * Fleet memberships (`gcloud container fleet memberships register/unregister`). `write` registers the cluster
 * while the name is still free; a membership of that name that appeared since the plan for another cluster is
 * drift (nothing sent), one for this cluster already is `after`. `revert` unregisters what a create made and
 * re-registers what a delete removed; a second time finds it done.
 */
export const fleetMembershipResource: Resource<FleetMembershipTarget, MembershipImage> = {
  type: "fleet.membership",

  async read(target: FleetMembershipTarget, ctx: ReadContext) {
    const membership = await gkeHub(ctx).getMembership(target.name);
    return membership && { resourceLink: membership.resourceLink ?? "" };
  },

  async write(change, ctx) {
    const hub = gkeHub(ctx);
    const name = change.target.name;
    const live = await hub.getMembership(name);
    if (change.action === "delete") {
      if (!live) return;
      const before = change.before?.resourceLink;
      if (before !== undefined && live.resourceLink !== before)
        throw drift(change.address, `it now stands for ${live.resourceLink ?? "a non-GKE cluster"}`);
      await ctx.change(journaled(change), () =>
        settle(hub, hub.deleteMembership(name), ctx, change.address, `unregister ${name}`),
      );
      return;
    }
    const after = required(change);
    const cluster = clusterOfLink(after.resourceLink);
    if (live && linksCluster(live.resourceLink, cluster)) return;
    if (live) {
      throw drift(
        change.address,
        `it was registered meanwhile for ${live.resourceLink ?? "a non-GKE cluster"}`,
      );
    }
    if (change.action === "update") throw drift(change.address, "it was unregistered meanwhile");
    await ctx.change(journaled(change), () =>
      settle(hub, hub.createMembership(name, cluster), ctx, change.address, `register ${name}`),
    );
  },

  async revert(entry, ctx) {
    const target = targetOf(entry, "fleet.membership");
    const hub = gkeHub(ctx);
    if (entry.action === "create") {
      await settle(hub, hub.deleteMembership(target.name), ctx, entry.address, `unregister ${target.name}`);
      return;
    }
    const before = entry.before as MembershipImage | undefined;
    if (!before?.resourceLink)
      throw new RuntimeError(
        `journal entry ${entry.seq} (${entry.address}) has no before-image: this is a bug`,
      );
    const live = await hub.getMembership(target.name);
    if (live) return;
    await settle(
      hub,
      hub.createMembership(target.name, clusterOfLink(before.resourceLink)),
      ctx,
      entry.address,
      `register ${target.name}`,
    );
  },
};

/**
 * The fleet's `servicemesh` feature of a project and the per-membership entries of its spec. A membership
 * entry is written with `updateMask=membershipSpecs` under the key the API already uses for it (the project
 * number form), only while it still is the plan's before-image (someone else changed the management since:
 * DriftError naming the fields, nothing sent). The journal keeps the replaced entry (null: none) under that
 * key; `revert` puts it back (`{}` clears it) unless it already is so, and does nothing once the feature is off.
 */
export const fleetFeatureResource: Resource<FleetFeatureTarget, FeatureImage> = {
  type: "fleet.feature",

  async read(target: FleetFeatureTarget, ctx: ReadContext) {
    const feature = await gkeHub(ctx).getFeature(target.project);
    if (!feature) return undefined;
    if (target.membershipSpec === undefined) return FEATURE_IMAGE;
    return findByMembership(feature.specs, target.membershipSpec)?.[1];
  },

  async write(change, ctx) {
    const hub = gkeHub(ctx);
    const { project, membershipSpec } = change.target;
    const feature = await hub.getFeature(project);
    if (membershipSpec === undefined) {
      if (change.action === "delete") {
        if (!feature) return;
        await ctx.change(journaled(change), () =>
          settle(hub, hub.disableFeature(project), ctx, change.address, "disable feature servicemesh"),
        );
        return;
      }
      // Enabled meanwhile, by anyone: that already is `after`, and not ours to disable on rollback.
      if (feature) return;
      await ctx.change(journaled(change), () =>
        settle(hub, hub.enableFeature(project), ctx, change.address, "enable feature servicemesh"),
      );
      return;
    }
    const current = feature ? findByMembership(feature.specs, membershipSpec) : undefined;
    const live = current?.[1];
    const after = change.action === "delete" ? undefined : required(change);
    if (isDeepStrictEqual(live, after)) return;
    if (!feature) throw drift(change.address, "feature servicemesh is not enabled");
    if (!isDeepStrictEqual(live, change.before)) {
      const what =
        live === undefined
          ? "its spec was removed meanwhile"
          : change.before === undefined
            ? "a spec for it was set meanwhile"
            : `${differingPaths(change.before, live).join(", ")} differ from the plan's`;
      throw drift(change.address, what);
    }
    const key = current?.[0] ?? membershipSpec;
    await ctx.change(
      {
        address: change.address,
        action: change.action,
        before: live ?? null,
        ...(after === undefined ? {} : { after }),
        target: { type: "fleet.feature", project, membershipSpec: key },
      },
      () =>
        settle(
          hub,
          hub.updateMembershipSpecs(project, { [key]: after ?? {} }),
          ctx,
          change.address,
          `set ${change.address}`,
        ),
    );
  },

  async revert(entry, ctx) {
    const target = targetOf(entry, "fleet.feature");
    const hub = gkeHub(ctx);
    if (target.membershipSpec === undefined) {
      if (entry.action === "create") {
        await settle(
          hub,
          hub.disableFeature(target.project),
          ctx,
          entry.address,
          "disable feature servicemesh",
        );
      } else if (!(await hub.getFeature(target.project))) {
        await settle(
          hub,
          hub.enableFeature(target.project),
          ctx,
          entry.address,
          "enable feature servicemesh",
        );
      }
      return;
    }
    const feature = await hub.getFeature(target.project);
    if (!feature) return;
    const before = (entry.before ?? undefined) as FeatureImage | undefined;
    const live = findByMembership(feature.specs, target.membershipSpec)?.[1];
    if (isDeepStrictEqual(live, before)) return;
    await settle(
      hub,
      hub.updateMembershipSpecs(target.project, { [target.membershipSpec]: before ?? {} }),
      ctx,
      entry.address,
      `restore ${entry.address}`,
    );
  },
};

function drift(address: string, what: string): DriftError {
  return new DriftError(`${address} changed since the plan: ${what}. ${NOTHING_WRITTEN}`);
}

function journaled<V>(
  change: ResourceChange<FleetMembershipTarget | FleetFeatureTarget, V>,
): JournaledChange {
  return {
    address: change.address,
    action: change.action,
    target: change.target,
    ...(change.before === undefined ? {} : { before: change.before }),
    ...(change.after === undefined ? {} : { after: change.after }),
  };
}

function required<V>(change: ResourceChange<FleetMembershipTarget | FleetFeatureTarget, V>): V {
  if (change.after === undefined)
    throw new Error(`${change.address}: ${change.action} without an after-image: this is a bug`);
  return change.after;
}

/** Waits out a Hub operation; `undefined` (already gone) needs no wait. */
export async function settle(
  hub: HubPort,
  started: Promise<HubOperation | undefined>,
  ctx: ReadContext,
  address: string,
  what: string,
): Promise<void> {
  const operation = await started;
  if (!operation) return;
  await waitForHubOperation(hub, operation, {
    what,
    timeoutMs: OPERATION_TIMEOUT_MS,
    signal: ctx.signal,
    onProgress: (detail) => ctx.progress.wait(address, detail),
    ...pollInterval(ctx),
  });
}
