import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/engine/types.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { namespaceObject, seed, withSandbox, type TestSandbox } from "../support/sandbox.js";
import { secret } from "./fixtures.js";

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
    const faults = { errorRate: 0.1, statuses: [500, 503, 429], retryAfterSeconds: 1, dropRate: 0.02 };
    env.cluster("source").setFaults(faults);
    env.cluster("target").setFaults(faults);
    const h = stepHarness({
      kubeconfig: env.kubeconfigPath,
      playbook: testPlaybook({
        workloads: {
          namespaces: ["onlineboutique", "bookinfo"],
          exclude: [{ kind: "Service", name: "frontend-external" }],
          rolloutTimeout: "1m",
        },
      }),
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
    for (const ns of ["onlineboutique", "bookinfo"]) {
      const sourceCount = env.cluster("source").list("apps/v1", "Deployment", ns).length;
      expect(target.list("apps/v1", "Deployment", ns)).toHaveLength(sourceCount);
    }

    await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
    env.cluster("target").setFaults({});
    expect(target.get({ apiVersion: "v1", kind: "Namespace", name: "onlineboutique" })).toBeUndefined();
    expect(target.get({ apiVersion: "v1", kind: "Namespace", name: "bookinfo" })).toBeUndefined();
  });
});
