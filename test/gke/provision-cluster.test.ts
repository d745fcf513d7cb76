import { readFile, writeFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DriftError } from "../../src/engine/errors.js";
import { provisionClusterStep } from "../../src/steps/provision-cluster/index.js";
import { gkePlaybook } from "./harness.js";
import { useGkeWorld } from "./support/env.js";

const CLUSTER = "projects/my-project/locations/us-central1-a/clusters/cluster-with-csm";

const EXISTING_KUBECONFIG = `# kept by clustershift
apiVersion: v1
kind: Config
clusters:
  - name: source
    cluster:
      server: https://198.51.100.1
contexts:
  - name: cluster-with-istio
    context:
      cluster: source
      user: source
current-context: cluster-with-istio
preferences: {}
users:
  - name: source
    user:
      token: source-token
`;

describe("provision-cluster on GKE", () => {
  const world = useGkeWorld({ gke: { operationPolls: 2, provisioningPolls: 2 } });

  it("Given no cluster, When planned, Then it shows the create, the wait and the context, and calls nothing that mutates", async () => {
    const [plan] = await world.run(provisionClusterStep, gkePlaybook()).plan();

    expect(plan!.changes.map((c) => [c.action, c.address, "detail" in c ? c.detail : undefined])).toEqual([
      ["create", `gke.cluster ${CLUSTER}`, "e2-standard-4 × 2, workload pool my-project.svc.id.goog"],
      ["wait", "cluster RUNNING", `${CLUSTER}, up to 30m`],
      ["create", "kubeconfig context cluster-with-csm", "exec gke-gcloud-auth-plugin"],
    ]);
    expect(world.gke.calls.map((c) => c.method)).toEqual(["getCluster"]);
    expect(world.gke.mutatingCalls()).toEqual([]);
  });

  it("Given no cluster, When applied, Then it creates it as gcloud does, waits for RUNNING and writes a gke-gcloud-auth-plugin context beside the others", async () => {
    await writeFile(world.kubeconfig, EXISTING_KUBECONFIG);
    const run = world.run(
      provisionClusterStep,
      gkePlaybook({ provision: { ...provision(), releaseChannel: "REGULAR", labels: { team: "platform" } } }),
    );

    const { verifications } = await run.apply();

    const create = world.gke.calls.find((c) => c.method === "createCluster")!;
    expect(create.request).toEqual({
      parent: "projects/my-project/locations/us-central1-a",
      cluster: {
        name: "cluster-with-csm",
        nodePools: [
          {
            name: "default-pool",
            initialNodeCount: 2,
            config: { machineType: "e2-standard-4", workloadMetadataConfig: { mode: "GKE_METADATA" } },
          },
        ],
        workloadIdentityConfig: { workloadPool: "my-project.svc.id.goog" },
        releaseChannel: { channel: "REGULAR" },
        resourceLabels: { team: "platform" },
      },
    });
    expect(run.lines).toEqual(
      expect.arrayContaining([
        `wait gke.cluster ${CLUSTER}: operation RUNNING`,
        "wait cluster RUNNING: PROVISIONING",
      ]),
    );
    expect(verifications).toEqual([{ outcome: "passed" }]);
    expect((await run.entries()).map((e) => [e.action, e.address, e.target?.type])).toEqual([
      ["create", `gke.cluster ${CLUSTER}`, "gke.cluster"],
      ["create", "kubeconfig context cluster-with-csm", "kubeconfig.context"],
    ]);

    const written = await readFile(world.kubeconfig, "utf8");
    expect(written.startsWith("# kept by clustershift\n")).toBe(true);
    const config = parse(written) as Record<string, unknown>;
    expect(config["current-context"]).toBe("cluster-with-istio");
    await expect(
      written.replace(/certificate-authority-data: \S+/, "certificate-authority-data: CA"),
    ).toMatchFileSnapshot("__golden__/kubeconfig-after-provision.yaml");
  });

  it("Given a provisioned cluster, When planned again, Then nothing changes", async () => {
    await world.run(provisionClusterStep, gkePlaybook()).apply();
    const calls = world.gke.calls.length;

    const [plan] = await world.run(provisionClusterStep, gkePlaybook()).plan();

    expect(plan!.changes.map((c) => c.action)).toEqual(["no-op", "no-op"]);
    expect(world.gke.calls.slice(calls).map((c) => c.method)).toEqual(["getCluster"]);
  });

  it("Given an applied run, When rolled back without --destroy-provisioned, Then the kubeconfig is as before and the cluster is kept with a way to delete it", async () => {
    await writeFile(world.kubeconfig, EXISTING_KUBECONFIG);
    const run = world.run(provisionClusterStep, gkePlaybook());
    await run.apply();

    await run.rollback();
    await run.rollbackAgain();

    expect(await readFile(world.kubeconfig, "utf8")).toBe(EXISTING_KUBECONFIG);
    expect(world.gke.calls.map((c) => c.method)).not.toContain("deleteCluster");
    expect(run.lines).toContain(
      `info kept cluster ${CLUSTER}, which this run created: rollback deletes clusters only with --destroy-provisioned. ` +
        "To delete it yourself: gcloud container clusters delete cluster-with-csm --location us-central1-a --project my-project",
    );
  });

  it("Given an applied run, When rolled back twice with --destroy-provisioned, Then the cluster is deleted once and the second rollback finds it gone", async () => {
    const run = world.run(provisionClusterStep, gkePlaybook(), { destroyProvisioned: true });
    await run.apply();

    await run.rollback();
    await run.rollbackAgain();

    expect(world.gke.clusters.size).toBe(0);
    expect(world.gke.calls.filter((c) => c.method === "deleteCluster")).toHaveLength(1);
    expect(run.lines).toEqual(
      expect.arrayContaining([`info deleted cluster ${CLUSTER}`, `info cluster ${CLUSTER} was already gone`]),
    );
    expect(parse(await readFile(world.kubeconfig, "utf8"))).toMatchObject({
      clusters: [],
      contexts: [],
      users: [],
    });
  });

  it("Given a running cluster that matches, When planned, Then it is adopted without a create", async () => {
    world.gke.addRunningCluster(CLUSTER, {
      machineType: "e2-standard-4",
      nodeCount: 2,
      workloadPool: "my-project.svc.id.goog",
    });
    const run = world.run(provisionClusterStep, gkePlaybook());

    const [plan] = await run.plan();
    await run.apply();

    expect(plan!.changes.map((c) => [c.action, c.address])).toEqual([
      ["no-op", `gke.cluster ${CLUSTER}`],
      ["create", "kubeconfig context cluster-with-csm"],
    ]);
    expect(world.gke.mutatingCalls()).toEqual([]);
  });

  it("Given a cluster of that name that differs, When planned, Then it reports each difference and never recreates it", async () => {
    world.gke.addRunningCluster(CLUSTER, {
      machineType: "e2-standard-2",
      nodeCount: 3,
      workloadPool: "other.svc.id.goog",
    });

    await expect(world.run(provisionClusterStep, gkePlaybook()).plan()).rejects.toThrow(
      [
        `cluster ${CLUSTER} already exists and differs from spec.target.provision:`,
        "  machine type: cluster has e2-standard-2, playbook asks for e2-standard-4",
        "  node count: cluster has 3, playbook asks for 2",
        "  workload pool: cluster has other.svc.id.goog, playbook asks for my-project.svc.id.goog",
        "clustershift never recreates or resizes a cluster: make the playbook match it, or choose another name.",
      ].join("\n"),
    );
    expect(world.gke.mutatingCalls()).toEqual([]);
  });

  it("Given the caller may not read clusters, When planned, Then the error names the permission and a role that grants it", async () => {
    world.gke.failNext.set("getCluster", {
      code: grpc.status.PERMISSION_DENIED,
      details: 'Required "container.clusters.get" permission(s) for "projects/my-project".',
    });

    await expect(world.run(provisionClusterStep, gkePlaybook()).plan()).rejects.toThrow(
      `read cluster ${CLUSTER} failed: PERMISSION_DENIED: Required "container.clusters.get" permission(s) for "projects/my-project".\n` +
        "  The caller needs the container.clusters.get permission on project my-project (role roles/container.clusterViewer), e.g.:\n" +
        "    gcloud projects add-iam-policy-binding my-project --member=user:YOU --role=roles/container.clusterViewer",
    );
  });

  it("Given the caller may not create clusters, When applied, Then the error names container.clusters.create and roles/container.clusterAdmin", async () => {
    world.gke.failNext.set("createCluster", {
      code: grpc.status.PERMISSION_DENIED,
      details: 'Required "container.clusters.create" permission(s) for "projects/my-project".',
    });

    await expect(world.run(provisionClusterStep, gkePlaybook()).apply()).rejects.toThrow(
      /create cluster .* failed: PERMISSION_DENIED: .*\n {2}The caller needs the container\.clusters\.create permission on project my-project \(role roles\/container\.clusterAdmin\)/,
    );
  });

  // The two drift tests hold a plan and apply it later by hand: the executor re-plans each step right before its
  // apply, so the step runner's write context is the way to put someone else's change between plan and write.
  it("Given a plan to create the cluster, When someone else creates one of that name before apply, Then apply stops with a DriftError naming it and sends no mutating call", async () => {
    const run = world.runner(provisionClusterStep, gkePlaybook());
    const [plan] = await run.plan();
    world.gke.addRunningCluster(CLUSTER, {
      machineType: "e2-standard-4",
      nodeCount: 2,
      workloadPool: "my-project.svc.id.goog",
    });

    const applying = provisionClusterStep.apply(plan!, run.ctx);

    await expect(applying).rejects.toThrow(DriftError);
    await expect(applying).rejects.toThrow(
      `gke.cluster ${CLUSTER} changed since the plan: a cluster of that name was created meanwhile (RUNNING). Nothing was written`,
    );
    expect(world.gke.mutatingCalls()).toEqual([]);
    expect(run.entries).toEqual([]);
    expect(await readFile(world.kubeconfig, "utf8").catch(() => "absent")).toBe("absent");
  });

  it("Given a plan to add the context for an adopted cluster, When someone adds a context of that name before apply, Then apply stops with a DriftError naming the entry and leaves their file", async () => {
    world.gke.addRunningCluster(CLUSTER, {
      machineType: "e2-standard-4",
      nodeCount: 2,
      workloadPool: "my-project.svc.id.goog",
    });
    await writeFile(world.kubeconfig, EXISTING_KUBECONFIG);
    const run = world.runner(provisionClusterStep, gkePlaybook());
    const [plan] = await run.plan();
    const theirs = EXISTING_KUBECONFIG.replace(
      "current-context:",
      "  - name: cluster-with-csm\n    context:\n      cluster: source\n      user: source\ncurrent-context:",
    );
    await writeFile(world.kubeconfig, theirs);

    const applying = provisionClusterStep.apply(plan!, run.ctx);

    await expect(applying).rejects.toThrow(DriftError);
    await expect(applying).rejects.toThrow(
      "kubeconfig context cluster-with-csm in " +
        `${world.kubeconfig} changed since the plan: contexts.cluster-with-csm differ from the plan's. Nothing was written`,
    );
    expect(await readFile(world.kubeconfig, "utf8")).toBe(theirs);
    expect(run.entries).toEqual([]);
    expect(world.gke.mutatingCalls()).toEqual([]);
  });

  it("Given a create operation that ends in error, When applied, Then the error carries GKE's words and the journal keeps the cluster for rollback", async () => {
    world.gke.operationError = {
      code: 8,
      message: 'Insufficient regional quota to satisfy request: resource "CPUS"',
    };
    const run = world.run(provisionClusterStep, gkePlaybook(), { destroyProvisioned: true });

    await expect(run.apply()).rejects.toThrow(
      /create cluster .*: operation projects\/my-project\/locations\/us-central1-a\/operations\/operation-1 failed: Insufficient regional quota/,
    );
    expect(world.gke.clusters.get(CLUSTER)?.status).toBe("ERROR");

    await run.rollback();
    expect(world.gke.clusters.size).toBe(0);
  });
});

function provision() {
  return (gkePlaybook().spec as { target: { provision: Record<string, unknown> } }).target.provision;
}
