import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../support/cli.js";
import { useGkeWorld } from "./support/env.js";

const CLUSTER = "projects/my-project/locations/us-central1-a/clusters/cluster-with-csm";

const PLAYBOOK = `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata:
  name: to-csm
spec:
  source:
    context: cluster-with-istio
  target:
    context: cluster-with-csm
    provision:
      provider: gke
      project: my-project
      location: us-central1-a
      name: cluster-with-csm
      machineType: e2-standard-4
      nodeCount: 2
      mesh: {management: automatic, revision: asm-managed}
`;

const SOURCE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: source, cluster: {server: "https://198.51.100.1"}}]
users: [{name: source, user: {token: source-token}}]
contexts: [{name: cluster-with-istio, context: {cluster: source, user: source}}]
current-context: cluster-with-istio
`;

describe("clustershift on GKE fakes, through the CLI", () => {
  const world = useGkeWorld();

  async function cli(args: string[]) {
    const file = path.join(world.dir, "playbook.yaml");
    return runCli([...args, "-f", file, "--state-dir", path.join(world.dir, "state")], {
      env: {
        KUBECONFIG: world.kubeconfig,
        CLUSTERSHIFT_GKE_ENDPOINT: world.gke.endpoint,
        CLUSTERSHIFT_GKEHUB_ENDPOINT: world.hub.endpoint,
        CLUSTERSHIFT_GKE_POLL_INTERVAL: "10ms",
      },
    });
  }

  it("Given a new target, When planned, applied and rolled back with --destroy-provisioned, Then the cluster, mesh and context come and go", async () => {
    await writeFile(path.join(world.dir, "playbook.yaml"), PLAYBOOK);
    await writeFile(world.kubeconfig, SOURCE_KUBECONFIG);

    const plan = await cli(["plan"]);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain(
      `  + [gcp]   gke.cluster ${CLUSTER}  e2-standard-4 × 2, workload pool my-project.svc.id.goog`,
    );
    expect(plan.stdout).toContain("Plan: 5 to create, 0 to update, 0 to delete, 2 waits, 0 gates.");
    expect(world.gke.mutatingCalls()).toEqual([]);
    expect(world.hub.mutatingCalls()).toEqual([]);

    const apply = await cli(["apply", "--yes", "--non-interactive"]);
    expect(apply).toMatchObject({ code: 0 });
    expect(world.gke.clusters.get(CLUSTER)?.status).toBe("RUNNING");
    expect(world.hub.memberships.size).toBe(1);
    const config = parse(await readFile(world.kubeconfig, "utf8")) as { contexts: { name: string }[] };
    expect(config.contexts.map((c) => c.name)).toEqual(["cluster-with-istio", "cluster-with-csm"]);

    const again = await cli(["plan"]);
    expect(again.stdout).toContain("No changes. The migration is complete.");

    const rollback = await cli(["rollback", "--yes", "--destroy-provisioned"]);
    expect(rollback).toMatchObject({ code: 0 });
    expect(world.gke.clusters.size).toBe(0);
    expect(world.hub.memberships.size).toBe(0);
    expect(world.hub.features.size).toBe(0);
    expect(parse(await readFile(world.kubeconfig, "utf8"))).toEqual(parse(SOURCE_KUBECONFIG));
    expect(rollback.stdout + rollback.stderr).toContain(`deleted cluster ${CLUSTER}`);
  });
});
