import { describe, expect, it } from "vitest";
import { enableMeshStep } from "../../src/steps/enable-mesh/index.js";
import { gkePlaybook } from "./harness.js";
import { useGkeWorld } from "./support/env.js";

const MEMBERSHIP = "projects/my-project/locations/global/memberships/cluster-with-csm";
const FEATURE = "projects/my-project/locations/global/features/servicemesh";
const BY_NUMBER = "projects/123456789012/locations/global/memberships/cluster-with-csm";

describe("enable-mesh on the fleet", () => {
  const world = useGkeWorld({
    hub: {
      controlPlane: [
        { state: "DISABLED" },
        { state: "PROVISIONING" },
        { state: "PROVISIONING" },
        { state: "ACTIVE" },
      ],
    },
  });

  it("Given a project without fleet mesh, When planned, Then it shows membership, feature, spec and wait, and only reads", async () => {
    const [plan] = await world.run(enableMeshStep, gkePlaybook()).plan();

    expect(plan!.changes.map((c) => [c.action, c.address, "detail" in c ? c.detail : undefined])).toEqual([
      [
        "create",
        `fleet membership ${MEMBERSHIP}`,
        "cluster projects/my-project/locations/us-central1-a/clusters/cluster-with-csm",
      ],
      ["create", `fleet feature ${FEATURE}`, "enable servicemesh"],
      ["create", "feature servicemesh membership cluster-with-csm", "management automatic"],
      ["wait", "controlPlaneManagement ACTIVE", `${MEMBERSHIP}, up to 30m`],
    ]);
    expect(world.hub.mutatingCalls()).toEqual([]);
  });

  it("Given a project without fleet mesh, When applied, Then it registers, enables, sets automatic management and waits for ACTIVE", async () => {
    const run = world.run(enableMeshStep, gkePlaybook());

    const { verifications } = await run.apply();

    expect(world.hub.mutatingCalls()).toEqual([
      {
        method: "POST",
        path: "/v1/projects/my-project/locations/global/memberships?membershipId=cluster-with-csm",
        body: {
          endpoint: {
            gkeCluster: {
              resourceLink:
                "//container.googleapis.com/projects/my-project/locations/us-central1-a/clusters/cluster-with-csm",
            },
          },
          authority: {
            issuer:
              "https://container.googleapis.com/v1/projects/my-project/locations/us-central1-a/clusters/cluster-with-csm",
          },
        },
      },
      {
        method: "POST",
        path: "/v1/projects/my-project/locations/global/features?featureId=servicemesh",
        body: {},
      },
      {
        method: "PATCH",
        path: `/v1/${FEATURE}?updateMask=membershipSpecs`,
        body: { membershipSpecs: { [MEMBERSHIP]: { mesh: { management: "MANAGEMENT_AUTOMATIC" } } } },
      },
    ]);
    expect(run.lines.filter((e) => e.startsWith("wait controlPlaneManagement"))).toEqual([
      "wait controlPlaneManagement ACTIVE: DISABLED",
      "wait controlPlaneManagement ACTIVE: PROVISIONING",
    ]);
    expect(verifications).toEqual([{ outcome: "passed", detail: "managed control plane ACTIVE" }]);

    const [again] = await world.run(enableMeshStep, gkePlaybook()).plan();
    expect(again!.changes.map((c) => c.action)).toEqual(["no-op", "no-op", "no-op"]);
  });

  it("Given everything was created by the run, When rolled back twice, Then spec, feature and membership are gone and the second rollback changes nothing", async () => {
    const run = world.run(enableMeshStep, gkePlaybook());
    await run.apply();
    const before = world.hub.mutatingCalls().length;

    await run.rollback();
    const first = world.hub.mutatingCalls().slice(before);
    // Again from the same before-images, as after a rollback killed before its reverts were journaled.
    await run.rollbackAgain();

    expect(first.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PATCH /v1/${FEATURE}?updateMask=membershipSpecs`,
      `DELETE /v1/${FEATURE}`,
      `DELETE /v1/${MEMBERSHIP}`,
    ]);
    expect(first[0]!.body).toEqual({ membershipSpecs: { [MEMBERSHIP]: {} } });
    expect(world.hub.features.size).toBe(0);
    expect(world.hub.memberships.size).toBe(0);
  });

  it("Given the feature is on with this membership set to manual, When applied and rolled back, Then only the spec changes and comes back as it was", async () => {
    await seedFeature(world, { [MEMBERSHIP]: { mesh: { management: "MANAGEMENT_MANUAL" } } });
    const run = world.run(enableMeshStep, gkePlaybook());

    const [plan] = await run.plan();
    await run.apply();
    await run.rollback();

    expect(plan!.changes.map((c) => [c.action, c.address])).toEqual([
      ["create", `fleet membership ${MEMBERSHIP}`],
      ["no-op", `fleet feature ${FEATURE}`],
      ["update", "feature servicemesh membership cluster-with-csm"],
      ["wait", "controlPlaneManagement ACTIVE"],
    ]);
    expect(world.hub.features.get("my-project")?.specs).toEqual({
      [BY_NUMBER]: { mesh: { management: "MANAGEMENT_MANUAL" } },
    });
    expect(
      world.hub
        .mutatingCalls()
        .map((c) => c.method)
        .filter((m) => m === "DELETE"),
    ).toEqual(["DELETE"]);
  });

  it("Given manual management, When applied, Then the spec says MANAGEMENT_MANUAL and nothing waits for a managed control plane", async () => {
    const playbook = gkePlaybook();
    (
      playbook.spec as { target: { provision: { mesh: { management: string } } } }
    ).target.provision.mesh.management = "manual";
    const run = world.run(enableMeshStep, playbook);

    const [plan] = await run.plan();
    const { verifications } = await run.apply();

    expect(plan!.changes.map((c) => c.action)).toEqual(["create", "create", "create"]);
    expect(world.hub.mutatingCalls().at(-1)?.body).toEqual({
      membershipSpecs: { [MEMBERSHIP]: { mesh: { management: "MANAGEMENT_MANUAL" } } },
    });
    expect(verifications).toEqual([
      { outcome: "passed", detail: "manual management: install the control plane with asmcli" },
    ]);
  });

  it("Given a membership of that name for another cluster, When planned, Then it says so and how to free the name", async () => {
    await seedMembership(
      world,
      "//container.googleapis.com/projects/my-project/locations/europe-west1-b/clusters/cluster-with-csm",
    );

    await expect(world.run(enableMeshStep, gkePlaybook()).plan()).rejects.toThrow(
      `fleet membership ${MEMBERSHIP} exists for //container.googleapis.com/projects/my-project/locations/europe-west1-b/clusters/cluster-with-csm, ` +
        "not for //container.googleapis.com/projects/my-project/locations/us-central1-a/clusters/cluster-with-csm. " +
        "Unregister it (gcloud container fleet memberships unregister cluster-with-csm --project my-project) or give the target cluster another name.",
    );
  });

  it("Given the caller may not register memberships, When applied, Then the error names gkehub.memberships.create and roles/gkehub.admin", async () => {
    world.hub.faults.push({
      match: "POST /v1/projects/my-project/locations/global/memberships",
      status: 403,
      code: "PERMISSION_DENIED",
      message:
        "Permission 'gkehub.memberships.create' denied on 'projects/my-project/locations/global/memberships/cluster-with-csm'",
    });

    await expect(world.run(enableMeshStep, gkePlaybook()).apply()).rejects.toThrow(
      `register membership ${MEMBERSHIP} failed: PERMISSION_DENIED: Permission 'gkehub.memberships.create' denied on '${MEMBERSHIP}'\n` +
        "  The caller needs the gkehub.memberships.create permission on project my-project (role roles/gkehub.admin)",
    );
  });

  it("Given the GKE Hub API is off, When planned, Then the error says how to enable it", async () => {
    world.hub.faults.push({
      match: "GET /v1/projects/my-project/locations/global/memberships/",
      status: 403,
      code: "PERMISSION_DENIED",
      message: "GKE Hub API has not been used in project 123456789012 before or it is disabled.",
    });

    await expect(world.run(enableMeshStep, gkePlaybook()).plan()).rejects.toThrow(
      "Enable the API: gcloud services enable gkehub.googleapis.com --project my-project",
    );
  });
});

describe("enable-mesh when the managed control plane fails", () => {
  const world = useGkeWorld({
    hub: {
      controlPlane: [
        { state: "PROVISIONING" },
        {
          state: "FAILED_PRECONDITION",
          details: [
            { code: "PRECONDITION_FAILED", details: "Workload Identity is not enabled on the cluster" },
          ],
        },
      ],
    },
  });

  it("Given the control plane ends FAILED_PRECONDITION, When applied, Then the error carries Google's details", async () => {
    await expect(world.run(enableMeshStep, gkePlaybook()).apply()).rejects.toThrow(
      `managed control plane of ${MEMBERSHIP} is FAILED_PRECONDITION:\n  PRECONDITION_FAILED: Workload Identity is not enabled on the cluster`,
    );
  });
});

async function seedFeature(world: ReturnType<typeof useGkeWorld>, specs: Record<string, unknown>) {
  await fetch(
    `${world.hub.endpoint}/v1/projects/my-project/locations/global/features?featureId=servicemesh`,
    { method: "POST", body: "{}" },
  );
  world.hub.features.get("my-project")!.specs = Object.fromEntries(
    Object.entries(specs).map(([key, value]) => [key.replace("my-project", "123456789012"), value]),
  );
  world.hub.calls.length = 0;
}

async function seedMembership(world: ReturnType<typeof useGkeWorld>, resourceLink: string) {
  world.hub.memberships.set(MEMBERSHIP, {
    name: MEMBERSHIP,
    endpoint: { gkeCluster: { resourceLink } },
    state: { code: "READY" },
  });
  await Promise.resolve();
}
