import { readFile, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { DriftError } from "../../src/engine/errors.js";
import type { GkePort } from "../../src/providers/gke/port.js";
import { gkeKubeconfigPatch } from "../../src/providers/gke/kubeconfig.js";
import { playbookSchema } from "../../src/playbook/schema.js";
import { FEATURE_IMAGE, fleetFeatureResource, fleetMembershipResource } from "../../src/resources/fleet.js";
import { gkeClusterResource } from "../../src/resources/gke-cluster.js";
import {
  kubeconfigContextResource,
  readEntries,
  redactedEntries,
} from "../../src/resources/kubeconfig-context.js";
import { gkePlaybook } from "../gke/harness.js";
import { GKE_TEST_TIMING, useGkeWorld } from "../gke/support/env.js";
import { stepHarness, type StepHarness } from "../support/step-harness.js";

const REF = { project: "my-project", location: "us-central1-a", name: "cluster-with-csm" };
const CLUSTER = "projects/my-project/locations/us-central1-a/clusters/cluster-with-csm";
const LINK = `//container.googleapis.com/${CLUSTER}`;
const MEMBERSHIP = "projects/my-project/locations/global/memberships/cluster-with-csm";
const SPEC = { machineType: "e2-standard-4", nodeCount: 2, workloadPool: "my-project.svc.id.goog" };
const MANUAL = { mesh: { management: "MANAGEMENT_MANUAL" } };
const AUTOMATIC = { mesh: { management: "MANAGEMENT_AUTOMATIC" } };

const world = useGkeWorld({ gke: { operationPolls: 1, provisioningPolls: 1 } });
const harnesses: StepHarness[] = [];

/** A step's write context on an in-memory journal, with this world's kubeconfig and fakes. */
function harness(options: { destroyProvisioned?: boolean } = {}): StepHarness {
  const h = stepHarness({
    kubeconfig: world.kubeconfig,
    playbook: playbookSchema.parse(gkePlaybook()),
    step: "provision-cluster",
    kind: "provision-cluster",
  });
  h.ctx = {
    ...h.ctx,
    options: {
      ...h.ctx.options,
      gkeTiming: GKE_TEST_TIMING,
      ...(options.destroyProvisioned ? { destroyProvisioned: true } : {}),
    },
  };
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) await (h.ctx.clients.get("gke") as GkePort | undefined)?.close();
});

describe("gke.cluster compare-and-swap on the GKE API (fake gRPC server from the GKE protos)", () => {
  it("Given a plan to create the cluster, When someone else creates one of that name after the plan, Then write stops with a DriftError naming it and sends no mutating RPC", async () => {
    const h = harness();
    const planned = {
      address: `gke.cluster ${CLUSTER}`,
      action: "create" as const,
      target: { type: "gke.cluster" as const, ...REF },
      after: SPEC,
    };
    world.gke.addRunningCluster(CLUSTER, { ...SPEC, machineType: "e2-standard-2" });

    const write = gkeClusterResource.write(planned, h.ctx);

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(
      `gke.cluster ${CLUSTER} changed since the plan: a cluster of that name was created meanwhile (RUNNING). Nothing was written`,
    );
    expect(world.gke.mutatingCalls()).toEqual([]);
    expect(h.entries).toEqual([]);
  });

  it("Given a plan to delete a cluster, When its node pool was resized after the plan, Then write stops naming the setting and deletes nothing", async () => {
    world.gke.addRunningCluster(CLUSTER, SPEC);
    const h = harness();
    const target = { type: "gke.cluster" as const, ...REF };
    const before = await gkeClusterResource.read(target, h.ctx);
    world.gke.addRunningCluster(CLUSTER, { ...SPEC, nodeCount: 5 });

    const write = gkeClusterResource.write(
      { address: `gke.cluster ${CLUSTER}`, action: "delete", target, before: before! },
      h.ctx,
    );

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow("changed since the plan: nodeCount differ from the plan's");
    expect(world.gke.mutatingCalls()).toEqual([]);
    expect(world.gke.clusters.has(CLUSTER)).toBe(true);
  });

  it("Given a cluster this run created, When reverted twice with --destroy-provisioned, Then it is deleted once and the second revert finds it gone", async () => {
    const h = harness({ destroyProvisioned: true });
    const target = { type: "gke.cluster" as const, ...REF };
    await gkeClusterResource.write(
      { address: `gke.cluster ${CLUSTER}`, action: "create", target, after: SPEC },
      h.ctx,
    );
    const [entry] = h.entries;

    await gkeClusterResource.revert(entry!, h.ctx);
    await gkeClusterResource.revert(entry!, h.ctx);

    expect(world.gke.clusters.size).toBe(0);
    expect(world.gke.mutatingCalls().map((c) => c.method)).toEqual(["createCluster", "deleteCluster"]);
    expect(h.progress.lines).toEqual(
      expect.arrayContaining([`info deleted cluster ${CLUSTER}`, `info cluster ${CLUSTER} was already gone`]),
    );
  });
});

describe("fleet.membership and fleet.feature compare-and-swap on the GKE Hub API (fake REST server)", () => {
  it("Given a plan to register the membership, When the name is registered for another cluster after the plan, Then write stops with a DriftError naming that cluster and sends nothing", async () => {
    const h = harness();
    const other =
      "//container.googleapis.com/projects/my-project/locations/europe-west1-b/clusters/cluster-with-csm";
    world.hub.memberships.set(MEMBERSHIP, {
      name: MEMBERSHIP,
      endpoint: { gkeCluster: { resourceLink: other } },
    });

    const write = fleetMembershipResource.write(
      {
        address: `fleet membership ${MEMBERSHIP}`,
        action: "create",
        target: { type: "fleet.membership", name: MEMBERSHIP },
        after: { resourceLink: LINK },
      },
      h.ctx,
    );

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(
      `fleet membership ${MEMBERSHIP} changed since the plan: it was registered meanwhile for ${other}. Nothing was written`,
    );
    expect(world.hub.mutatingCalls()).toEqual([]);
    expect(h.entries).toEqual([]);
  });

  it("Given a plan to change this membership's mesh spec from manual, When someone changed the spec after the plan, Then write stops naming the field and sends no PATCH", async () => {
    const h = harness();
    await enableFeature({ [MEMBERSHIP]: MANUAL });
    world.hub.features.get("my-project")!.specs = {
      "projects/123456789012/locations/global/memberships/cluster-with-csm": {
        mesh: { management: "MANAGEMENT_UNSPECIFIED" },
      },
    };

    const write = fleetFeatureResource.write(
      {
        address: "feature servicemesh membership cluster-with-csm",
        action: "update",
        target: { type: "fleet.feature", project: "my-project", membershipSpec: MEMBERSHIP },
        before: MANUAL,
        after: AUTOMATIC,
      },
      h.ctx,
    );

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow("changed since the plan: mesh.management differ from the plan's");
    expect(world.hub.mutatingCalls()).toEqual([]);
  });

  it("Given a membership, the feature and a spec this run wrote, When each is reverted twice, Then the fleet is as before and the second reverts change nothing", async () => {
    const h = harness();
    await fleetMembershipResource.write(
      {
        address: `fleet membership ${MEMBERSHIP}`,
        action: "create",
        target: { type: "fleet.membership", name: MEMBERSHIP },
        after: { resourceLink: LINK },
      },
      h.ctx,
    );
    await fleetFeatureResource.write(
      {
        address: "fleet feature",
        action: "create",
        target: { type: "fleet.feature", project: "my-project" },
        after: FEATURE_IMAGE,
      },
      h.ctx,
    );
    await fleetFeatureResource.write(
      {
        address: "spec",
        action: "create",
        target: { type: "fleet.feature", project: "my-project", membershipSpec: MEMBERSHIP },
        after: AUTOMATIC,
      },
      h.ctx,
    );
    const entries = [...h.entries].reverse();

    const revertAll = async () => {
      for (const entry of entries) {
        if (entry.target?.type === "fleet.membership") await fleetMembershipResource.revert(entry, h.ctx);
        else await fleetFeatureResource.revert(entry, h.ctx);
      }
    };
    await revertAll();
    const afterFirst = world.hub.mutatingCalls().length;
    await revertAll();

    expect(world.hub.memberships.size).toBe(0);
    expect(world.hub.features.size).toBe(0);
    // The second pass only finds things gone: its DELETEs answer 404, and no PATCH is sent.
    const second = world.hub.mutatingCalls().slice(afterFirst);
    expect(second.map((c) => c.method)).toEqual(["DELETE", "DELETE"]);
  });
});

describe("kubeconfig.context compare-and-swap on the kubeconfig file", () => {
  const patch = gkeKubeconfigPatch({ ...REF, endpoint: "203.0.113.10" }, "cluster-with-csm");
  const ENTRY = "gke_my-project_us-central1-a_cluster-with-csm";

  it("Given a plan to add the context, When someone adds a context of that name after the plan, Then write stops naming the entry and the file is as they left it", async () => {
    const h = harness();
    const before = redactedEntries(await readEntries(world.kubeconfig, patch));
    const theirs = [
      "apiVersion: v1",
      "kind: Config",
      "contexts:",
      "  - name: cluster-with-csm",
      "    context: {cluster: elsewhere, user: elsewhere}",
      "",
    ].join("\n");
    await writeFile(world.kubeconfig, theirs);

    const write = kubeconfigContextResource.write(
      {
        address: "kubeconfig context cluster-with-csm",
        action: "create",
        target: { type: "kubeconfig.context", file: world.kubeconfig, name: "cluster-with-csm" },
        before,
        after: patch,
      },
      h.ctx,
    );

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(
      `kubeconfig context cluster-with-csm in ${world.kubeconfig} changed since the plan: contexts.cluster-with-csm differ from the plan's. Nothing was written`,
    );
    expect(await readFile(world.kubeconfig, "utf8")).toBe(theirs);
    expect(h.entries).toEqual([]);
  });

  it("Given a plan to replace the context, When someone edits its user's token after the plan, Then write names the field without the token and writes nothing", async () => {
    const h = harness();
    const tokenConfig = (token: string) =>
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `  - name: ${ENTRY}`,
        "    cluster: {server: https://198.51.100.7}",
        "users:",
        `  - name: ${ENTRY}`,
        `    user: {token: ${token}}`,
        "contexts:",
        "  - name: cluster-with-csm",
        `    context: {cluster: ${ENTRY}, user: ${ENTRY}}`,
        "",
      ].join("\n");
    await writeFile(world.kubeconfig, tokenConfig("first-secret"));
    const before = redactedEntries(await readEntries(world.kubeconfig, patch));
    await writeFile(world.kubeconfig, tokenConfig("second-secret"));

    const write = kubeconfigContextResource.write(
      {
        address: "kubeconfig context cluster-with-csm",
        action: "update",
        target: { type: "kubeconfig.context", file: world.kubeconfig, name: "cluster-with-csm" },
        before,
        after: patch,
      },
      h.ctx,
    );

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(`users.${ENTRY}.token differ from the plan's`);
    await expect(write).rejects.not.toThrow(/secret/);
    expect(await readFile(world.kubeconfig, "utf8")).toBe(tokenConfig("second-secret"));
  });

  it("Given a context this run added beside others, When reverted twice, Then the file is byte for byte as before", async () => {
    const h = harness();
    const original = [
      "# mine",
      "apiVersion: v1",
      "kind: Config",
      "current-context: other",
      "clusters:",
      "  - name: a",
      "    cluster:",
      "      server: https://198.51.100.1",
      "users:",
      "  - name: b",
      "    user:",
      "      token: kept",
      "contexts:",
      "  - name: other",
      "    context:",
      "      cluster: a",
      "      user: b",
      "",
    ].join("\n");
    await writeFile(world.kubeconfig, original);
    const target = { type: "kubeconfig.context" as const, file: world.kubeconfig, name: "cluster-with-csm" };
    await kubeconfigContextResource.write(
      {
        address: "kubeconfig context cluster-with-csm",
        action: "create",
        target,
        before: redactedEntries(await readEntries(world.kubeconfig, patch)),
        after: patch,
      },
      h.ctx,
    );
    expect(await kubeconfigContextResource.read(target, h.ctx)).toEqual(patch);

    await kubeconfigContextResource.revert(h.entries[0]!, h.ctx);
    await kubeconfigContextResource.revert(h.entries[0]!, h.ctx);

    expect(await readFile(world.kubeconfig, "utf8")).toBe(original);
  });
});

/** The servicemesh feature on, with `specs` keyed as the API keys them (by project number). */
async function enableFeature(specs: Record<string, unknown>): Promise<void> {
  await fetch(
    `${world.hub.endpoint}/v1/projects/my-project/locations/global/features?featureId=servicemesh`,
    {
      method: "POST",
      body: "{}",
    },
  );
  world.hub.features.get("my-project")!.specs = Object.fromEntries(
    Object.entries(specs).map(([key, value]) => [key.replace("my-project", "123456789012"), value]),
  );
  world.hub.calls.length = 0;
}
