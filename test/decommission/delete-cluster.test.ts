import { describe, expect, it } from "vitest";
import { apply, promote, rollback } from "../../src/engine/executor.js";
import { approvalGate } from "../../src/engine/gates/approval.js";
import { Registry } from "../../src/engine/registry.js";
import type { ChangeEntry, Step } from "../../src/engine/types.js";
import { playbookSchema } from "../../src/playbook/schema.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { decommissionSourceStep } from "../../src/steps/decommission-source/index.js";
import { useClusters } from "../support/clusters.js";
import { RunHarness } from "../support/harness.js";
import { playbookDocument } from "../support/step-harness.js";
import { tempDir } from "../support/temp.js";
import { useGkeWorld } from "../gke/support/env.js";
import { SourceGatewayStats } from "./source-gateway.js";

const DEPLOYMENT: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "frontend", namespace: "shop" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "frontend" } },
    template: {
      metadata: { labels: { app: "frontend" } },
      spec: { containers: [{ name: "app", image: "registry.example.com/shop/frontend:1" }] },
    },
  },
};

/** An earlier step of the run (standing in for the DNS cutover) whose rollback the test watches. */
function earlierStep(reverted: string[]): Step<object> {
  return {
    kind: "cutover-dns-stand-in",
    expand: () => [{ id: "cutover-dns-stand-in", title: "Point DNS at the target", spec: {} }],
    plan: (instance) =>
      Promise.resolve({
        id: instance.id,
        kind: "cutover-dns-stand-in",
        title: instance.title,
        changes: [{ action: "update", address: "dns shop.example.com.", before: "source", after: "target" }],
        gates: [],
      }),
    apply: async (_plan, ctx) => {
      await ctx.change(
        { address: "dns shop.example.com.", action: "update", before: "source", after: "target" },
        () => Promise.resolve(),
      );
    },
    verify: () => Promise.resolve({ outcome: "passed" }),
    rollback: (entries: ChangeEntry[]) => {
      reverted.push(...entries.map((e) => e.address));
      return Promise.resolve();
    },
  } satisfies Step<object>;
}

describe("decommission-source deleting the sandbox source cluster", () => {
  const clusters = useClusters("sandbox", { istio: false });

  it("Given a run that cut DNS over, When decommission deletes the source after approval, Then the plan says it is irreversible and rollback refuses without reverting anything", async () => {
    const world = clusters();
    await world.seed("source", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      DEPLOYMENT,
    ]);
    const gateway = new SourceGatewayStats();
    await gateway.start();
    try {
      const reverted: string[] = [];
      const registry = new Registry()
        .gate(approvalGate)
        .step(earlierStep(reverted))
        .step(decommissionSourceStep);
      const playbook = playbookSchema.parse(
        playbookDocument("decommission-delete", {
          source: { context: "source" },
          target: { context: "target" },
          workloads: { namespaces: ["shop"] },
          decommission: {
            soak: "0s",
            traffic: { scrape: gateway.url, window: "1s", timeout: "1m" },
            deleteCluster: true,
            cluster: { provider: "sandbox", name: "source" },
          },
        }),
      );
      const { engine } = new RunHarness(registry, playbook, {
        kubeconfig: world.kubeconfigPath,
        options: { stateDir: await tempDir("decommission-state") },
      });

      let shown: string[] = [];
      const first = await apply(engine, (plan) => {
        shown = plan.steps.flatMap(({ plan: p }) => [
          ...p.changes.map(
            (c) => `${p.id}: ${c.action} ${c.address}${"detail" in c && c.detail ? ` (${c.detail})` : ""}`,
          ),
          ...p.gates.map((g) => `${p.id}: ? ${g.detail}`),
        ]);
        return Promise.resolve(true);
      });
      expect(shown).toEqual([
        "cutover-dns-stand-in: update dns shop.example.com.",
        "decommission-source: wait soak after the DNS cutover (0s, then the traffic check)",
        expect.stringMatching(
          /^decommission-source: wait source ingress quiet \(rate of istio_requests_total at /,
        ) as string,
        "decommission-source: update deployment shop/frontend replicas (2 → 0 on source)",
        "decommission-source: ? approval: IRREVERSIBLE: once the source cluster is gone, nothing of this run can be rolled back (rollback refuses)",
        "decommission-source[delete-cluster]: delete sandbox.cluster source (IRREVERSIBLE: once the source cluster is gone, nothing of this run can be rolled back (rollback refuses))",
      ]);
      expect(first.outcome).toBe("waiting-for-approval");
      expect(world.sandbox?.clusters.has("source")).toBe(true);

      await promote(engine);
      const second = await apply(engine, () => Promise.resolve(true));
      expect(second).toEqual({ outcome: "completed", message: "Migration complete." });
      expect(world.sandbox?.clusters.has("source")).toBe(false);

      await expect(rollback(engine)).rejects.toThrow(
        /^rollback refused: this run deleted the source cluster \(sandbox\.cluster source, journaled .*\)\.\nNothing was reverted/,
      );
      expect(reverted).toEqual([]);
      // Asked again, it refuses again: nothing was half-undone in between.
      await expect(rollback(engine)).rejects.toThrow(/^rollback refused/);
      expect(reverted).toEqual([]);
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});

describe("decommission-source deleting a GKE source cluster", () => {
  const world = useGkeWorld();
  const CLUSTER = "projects/my-project/locations/us-central1-a/clusters/cluster-with-istio";

  it("Given the source on GKE, When its delete instance runs, Then GKE deleteCluster is called, and rollback afterwards refuses", async () => {
    world.gke.addRunningCluster(CLUSTER, {
      machineType: "e2-standard-4",
      nodeCount: 2,
      workloadPool: "my-project.svc.id.goog",
    });
    const runner = world.runner(
      decommissionSourceStep,
      playbookDocument("decommission-gke", {
        source: { context: "cluster-with-istio" },
        target: { context: "cluster-with-csm" },
        workloads: { namespaces: ["shop"] },
        decommission: {
          traffic: { prometheus: "http://127.0.0.1:9/" },
          deleteCluster: true,
          cluster: {
            provider: "gke",
            project: "my-project",
            location: "us-central1-a",
            name: "cluster-with-istio",
          },
        },
      }),
    );
    const instances = decommissionSourceStep.expand(runner.ctx.playbook);
    expect(instances.map((i) => i.id)).toEqual([
      "decommission-source",
      "decommission-source[delete-cluster]",
    ]);
    const deleteInstance = instances[1];
    if (!deleteInstance) throw new Error("no delete instance");
    const plan = await decommissionSourceStep.plan(deleteInstance, runner.ctx);
    expect(plan.changes).toMatchObject([{ action: "delete", address: `gke.cluster ${CLUSTER}` }]);
    await decommissionSourceStep.apply(plan, runner.ctx);
    expect(await decommissionSourceStep.verify(plan, runner.ctx)).toEqual({ outcome: "passed" });
    expect(world.gke.mutatingCalls().map((c) => c.method)).toEqual(["deleteCluster"]);

    await expect(runner.rollback()).rejects.toThrow(
      /^rollback refused: this run deleted the source cluster \(gke\.cluster /,
    );
    expect(world.gke.mutatingCalls().map((c) => c.method)).toEqual(["deleteCluster"]);
  }, 60_000);
});
