import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, readState, rollback } from "../../src/engine/executor.js";
import { Registry } from "../../src/engine/registry.js";
import type { StepPlan } from "../../src/engine/types.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { MIRRORED_KINDS } from "../../src/steps/mirror-workloads/kinds.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { inProcessEngine } from "../support/engine.js";
import { clusterImage, faultSeed, untilDone } from "../support/faults.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { namespaceObject, seed, withSandbox, type TestSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";
import { secret } from "./fixtures.js";

const NAMESPACES = ["onlineboutique", "bookinfo"];
const WORKLOADS = {
  namespaces: NAMESPACES,
  exclude: [{ kind: "Service", name: "frontend-external" }],
  rolloutTimeout: "1m",
};

describe("mirror-workloads under injected faults", () => {
  let env: TestSandbox;
  const seeded: KubeObject[] = [
    namespaceObject("onlineboutique"),
    ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", "onlineboutique"),
    secret("payment-credentials", "onlineboutique"),
    namespaceObject("bookinfo"),
    ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
    ...fixtureObjects("bookinfo/destination-rule-all.yaml", "bookinfo"),
    ...fixtureObjects("bookinfo/virtual-service-all-v1.yaml", "bookinfo"),
  ];

  beforeAll(async () => {
    env = await withSandbox({ istio: { crdYaml: istioCrdYaml() }, readyDelayMs: 30 });
    seed(env.cluster("source"), seeded, "kubectl");
  });
  afterAll(() => env.stop());

  it("Given 10% 5xx and 429 answers and dropped connections on both clusters, When mirrored, verified and rolled back, Then nothing is missing or doubled", async () => {
    const seedValue = faultSeed();
    const faults = {
      errorRate: 0.1,
      statuses: [500, 503, 429],
      retryAfterSeconds: 1,
      dropRate: 0.02,
      seed: seedValue,
    };
    env.cluster("source").setFaults(faults);
    env.cluster("target").setFaults({ ...faults, seed: (seedValue + 1) % 2 ** 32 });
    const h = stepHarness({
      kubeconfig: env.kubeconfigPath,
      playbook: testPlaybook({ workloads: WORKLOADS }),
    });
    const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
    const plan: StepPlan = await mirrorWorkloadsStep.plan(instance as never, h.ctx);
    const writes = plan.changes.filter((c) => c.action === "create");
    // Everything seeded but what controllers make, the default accounts and the excluded Service.
    expect(writes).toHaveLength(seeded.length - 1);

    await mirrorWorkloadsStep.apply(plan, h.ctx);
    const verification = await mirrorWorkloadsStep.verify(plan, h.ctx);
    expect(verification.outcome, JSON.stringify(verification)).toBe("passed");
    expect(env.cluster("source").faultsInjected + env.cluster("target").faultsInjected).toBeGreaterThan(5);

    const addresses = h.entries.map((e) => e.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses.sort()).toEqual(writes.map((c) => c.address).sort());
    const target = env.cluster("target");
    for (const change of writes) {
      const object = (change as { after: KubeObject }).after;
      expect(
        target.get({ ...object, name: object.metadata.name, namespace: object.metadata.namespace } as never),
        change.address,
      ).toBeDefined();
    }
    for (const ns of NAMESPACES) {
      const sourceCount = env.cluster("source").list("apps/v1", "Deployment", ns).length;
      expect(target.list("apps/v1", "Deployment", ns)).toHaveLength(sourceCount);
    }

    await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
    env.cluster("source").setFaults({});
    env.cluster("target").setFaults({});
    expect(target.get({ apiVersion: "v1", kind: "Namespace", name: "onlineboutique" })).toBeUndefined();
    expect(target.get({ apiVersion: "v1", kind: "Namespace", name: "bookinfo" })).toBeUndefined();
    // Namespaces go on their own shortly after: the next test starts from an empty target.
    await eventually(
      () =>
        target.list("v1", "Namespace").some((n) => NAMESPACES.includes(n.metadata.name)) ? undefined : true,
      10_000,
    );
  });

  it("Given every write's reply lost, then seeded lost replies, 5xx and drops on both clusters, When apply stops, is resumed to the end and rolled back, Then the journal holds every committed write and the target is exactly as before", async () => {
    const seedValue = faultSeed();
    const source = env.cluster("source");
    const target = env.cluster("target");
    // The target already holds one of the namespaces, with an older Deployment and an object of its own:
    // updates to roll back, and something the rollback must leave alone.
    const details = fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo").find(
      (o) => o.kind === "Deployment" && o.metadata.name === "details-v1",
    ) as KubeObject;
    seed(
      target,
      [
        namespaceObject("bookinfo", { team: "before" }),
        { ...details, spec: { ...(details.spec as object), replicas: 3 } },
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "target-only", namespace: "bookinfo" },
          data: { keep: "me" },
        },
      ],
      "kubectl",
    );
    const client = createClusterClient("target", { kubeconfig: env.kubeconfigPath });
    const original = await clusterImage(client, NAMESPACES, MIRRORED_KINDS);
    expect(Object.keys(original)).toContain("apps/v1 Deployment bookinfo/details-v1");

    const playbook = testPlaybook({ workloads: WORKLOADS }, "mirror-lost-replies");
    const registry = new Registry().step(mirrorWorkloadsStep);
    const engine = () =>
      inProcessEngine({ registry, playbook, stateDir: `${env.dir}/state`, kubeconfig: env.kubeconfigPath })
        .engine;

    // Every server-side apply is carried out and its reply lost, retries included: apply must stop.
    target.setFaults({ replyLostRate: 1, replyLostMethods: ["PATCH"], seed: seedValue });
    await expect(apply(engine(), () => Promise.resolve(true))).rejects.toThrow(/socket hang up|ECONNRESET/);
    const stopped = await readState(engine().store);
    expect(stopped.phase.phase).toBe("in-progress");
    const unanswered = stopped.pending.filter((entry) => !stopped.applied.has(entry.seq));
    expect(unanswered.length).toBeGreaterThan(0);
    for (const entry of unanswered) {
      // Journaled ahead of the write, and the write landed although nobody heard back.
      const where = entry.target as { apiVersion: string; kind: string; namespace?: string; name: string };
      expect(target.get(where), entry.address).toBeDefined();
    }

    const random = {
      replyLostRate: 0.25,
      errorRate: 0.05,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.02,
    };
    source.setFaults({ ...random, seed: (seedValue + 1) % 2 ** 32 });
    target.setFaults({ ...random, seed: (seedValue + 2) % 2 ** 32 });
    const resumed = await untilDone(() => apply(engine(), () => Promise.resolve(true)));
    expect(resumed.value.outcome).toBe("completed");
    expect(target.faultsInjected).toBeGreaterThan(5);
    for (const ns of NAMESPACES) {
      for (const kind of ["Deployment", "Service", "ServiceAccount"]) {
        const apiVersion = kind === "Deployment" ? "apps/v1" : "v1";
        const names = (cluster: typeof target) =>
          cluster
            .list(apiVersion, kind, ns)
            .map((o) => o.metadata.name)
            .filter((n) => n !== "default" && n !== "frontend-external")
            .sort();
        expect(names(target), `${kind} in ${ns}`).toEqual(names(source));
      }
    }

    const rolledBack = await untilDone(() => rollback(engine()));
    expect(rolledBack.value.message).toMatch(/^Rolled back \d+ change/);
    source.setFaults({});
    target.setFaults({});
    const restored = await eventually(
      async () => {
        const now = await clusterImage(client, NAMESPACES, MIRRORED_KINDS);
        return now["v1 Namespace onlineboutique"] === undefined ? now : undefined;
      },
      20_000,
      { message: () => "namespace onlineboutique is still on the target after rollback" },
    );
    expect(restored).toEqual(original);
    client.close();
  });
});
