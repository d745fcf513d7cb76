import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { planRun } from "../../src/engine/planner.js";
import { Registry } from "../../src/engine/registry.js";
import { renderPlanText } from "../../src/render/plan.js";
import { enableMeshStep } from "../../src/steps/enable-mesh/index.js";
import { installIngressGatewayStep } from "../../src/steps/install-ingress-gateway/index.js";
import { provisionClusterStep } from "../../src/steps/provision-cluster/index.js";
import { ASM_INGRESS } from "../support/step-harness.js";
import { gkePlaybook } from "./harness.js";
import { useGkeWorld } from "./support/env.js";

describe("plan of a GKE target that does not exist yet", () => {
  const world = useGkeWorld();

  it("Given no cluster, membership or feature, When planned, Then it shows what gcloud would do and calls no mutating API", async () => {
    const registry = new Registry()
      .step(provisionClusterStep)
      .step(enableMeshStep)
      .step(installIngressGatewayStep);
    const playbook = gkePlaybook({ ingress: { ...ASM_INGRESS, install: true } });
    await writeFile(
      world.kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: source, cluster: {server: 'https://198.51.100.1'}}]\n" +
        "users: [{name: source, user: {token: t}}]\ncontexts: [{name: cluster-with-istio, context: {cluster: source, user: source}}]\n",
    );
    const { ctx } = world.runner(provisionClusterStep, playbook);

    const plan = await planRun(registry, ctx);

    await expect(renderPlanText(plan, "playbook.yaml")).toMatchFileSnapshot(
      "__golden__/plan-new-gke-target.txt",
    );
    expect(world.gke.mutatingCalls()).toEqual([]);
    expect(world.hub.mutatingCalls()).toEqual([]);
    expect(world.gke.calls.map((c) => c.method)).toEqual(["getCluster"]);
    expect(world.hub.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /v1/projects/my-project/locations/global/memberships/cluster-with-csm",
      "GET /v1/projects/my-project/locations/global/features/servicemesh",
    ]);
  });
});
