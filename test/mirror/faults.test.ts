import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apply, readState, rollback } from "../../src/engine/executor.js";
import { Registry } from "../../src/engine/registry.js";
import type { StepPlan } from "../../src/engine/types.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { MIRRORED_KINDS } from "../../src/steps/mirror-workloads/kinds.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { inProcessEngine } from "../support/engine.js";
import {
  clusterImage,
  faultSeed,
  faultyClusters,
  untilDone,
  type FaultyClusters,
} from "../support/faults.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { fixtureObjects } from "../support/fixtures.js";
import { namespaceObject } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";
import { secret } from "./fixtures.js";
import { targetOf } from "../../src/engine/targets.js";

const NAMESPACES = ["onlineboutique", "bookinfo"];
const WORKLOADS = {
  namespaces: NAMESPACES,
  exclude: [{ kind: "Service", name: "frontend-external" }],
  rolloutTimeout: "2m",
};
/** A real namespace controller takes its time to empty and remove a namespace. */
const NAMESPACE_GONE_MS = 120_000;

describe.each(SUBSTRATES)("mirror-workloads under injected faults on %s", (substrate) => {
  const use = useClusters(substrate, { readyDelayMs: 30 });
  let faults: FaultyClusters;
  const seeded: KubeObject[] = [
    namespaceObject("onlineboutique"),
    ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", "onlineboutique"),
    secret("payment-credentials", "onlineboutique"),
    namespaceObject("bookinfo"),
    ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
    ...fixtureObjects("bookinfo/destination-rule-all.yaml", "bookinfo"),
    ...fixtureObjects("bookinfo/virtual-service-all-v1.yaml", "bookinfo"),
  ];
  /** Reads without faults. */
  const direct = (context: string) => use().client(context);
  const names = async (context: string, apiVersion: string, kind: string, namespace: string) =>
    (await direct(context).list(apiVersion, kind, { namespace }))
      .map((o) => o.metadata.name)
      .filter((n) => n !== "default" && n !== "frontend-external")
      .sort();
  const targetNamespacesGone = () =>
    eventually(
      async () => {
        const left = await Promise.all(
          NAMESPACES.map((name) => direct("target").get({ apiVersion: "v1", kind: "Namespace", name })),
        );
        return left.every((n) => n === undefined) ? true : undefined;
      },
      NAMESPACE_GONE_MS,
      { intervalMs: 500, message: () => "the mirrored namespaces are still on the target" },
    );

  beforeAll(async () => {
    await use().seed("source", seeded);
    faults = await faultyClusters(use());
  }, 120_000);
  afterEach(() => faults.clear());
  afterAll(() => faults.stop());

  it("Given 10% 5xx and 429 answers and dropped connections on both clusters, When mirrored, verified and rolled back, Then nothing is missing or doubled", async () => {
    const seedValue = faultSeed();
    const random = {
      errorRate: 0.1,
      statuses: [500, 503, 429],
      retryAfterSeconds: 1,
      dropRate: 0.02,
    };
    faults.setSeededFaults(random, seedValue);
    const h = stepHarness({
      kubeconfig: faults.kubeconfigPath,
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
    expect(faults.faultsInjected("source") + faults.faultsInjected("target")).toBeGreaterThan(5);

    const addresses = h.entries.map((e) => e.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses.sort()).toEqual(writes.map((c) => c.address).sort());
    for (const change of writes) {
      const object = (change as { after: KubeObject }).after;
      const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
      if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
      expect(await direct("target").get(ref), change.address).toBeDefined();
    }
    for (const ns of NAMESPACES) {
      expect(await names("target", "apps/v1", "Deployment", ns)).toEqual(
        await names("source", "apps/v1", "Deployment", ns),
      );
    }

    await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
    faults.clear();
    await targetNamespacesGone();
  }, 300_000);

  it("Given every write's reply lost, then seeded lost replies, 5xx and drops on both clusters, When apply stops, is resumed to the end and rolled back, Then the journal holds every committed write and the target is exactly as before", async () => {
    const seedValue = faultSeed();
    // The target already holds one of the namespaces, with an older Deployment and an object of its own:
    // updates to roll back, and something the rollback must leave alone.
    const details = fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo").find(
      (o) => o.kind === "Deployment" && o.metadata.name === "details-v1",
    ) as KubeObject;
    await use().seed("target", [
      namespaceObject("bookinfo", { team: "before" }),
      { ...details, spec: { ...(details.spec as object), replicas: 3 } },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "target-only", namespace: "bookinfo" },
        data: { keep: "me" },
      },
    ]);
    const original = await clusterImage(direct("target"), NAMESPACES, MIRRORED_KINDS);
    expect(Object.keys(original)).toContain("apps/v1 Deployment bookinfo/details-v1");

    const playbook = testPlaybook({ workloads: WORKLOADS }, "mirror-lost-replies");
    const registry = new Registry().step(mirrorWorkloadsStep);
    const engine = () =>
      inProcessEngine({
        registry,
        playbook,
        stateDir: `${use().dir}/state`,
        kubeconfig: faults.kubeconfigPath,
      }).engine;

    // Every server-side apply is carried out and its reply lost, retries included: apply must stop.
    faults.setFaults("target", { replyLostRate: 1, replyLostMethods: ["PATCH"], seed: seedValue });
    await expect(apply(engine(), () => Promise.resolve(true))).rejects.toThrow(/socket hang up|ECONNRESET/);
    const stopped = await readState(engine().store);
    expect(stopped.phase.phase).toBe("in-progress");
    const unanswered = stopped.pending.filter((entry) => !stopped.applied.has(entry.seq));
    expect(unanswered.length).toBeGreaterThan(0);
    for (const entry of unanswered) {
      // Journaled ahead of the write, and the write landed although nobody heard back.
      const { apiVersion, kind, namespace, name } = targetOf(entry, "kube.object");
      const where: ObjectRef = { apiVersion, kind, name };
      if (namespace) where.namespace = namespace;
      expect(await direct("target").get(where), entry.address).toBeDefined();
    }

    const random = {
      replyLostRate: 0.25,
      errorRate: 0.05,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.02,
    };
    faults.setSeededFaults(random, seedValue + 1);
    const resumed = await untilDone(() => apply(engine(), () => Promise.resolve(true)));
    expect(resumed.value.outcome).toBe("completed");
    expect(faults.faultsInjected("target")).toBeGreaterThan(5);
    for (const ns of NAMESPACES) {
      for (const kind of ["Deployment", "Service", "ServiceAccount"]) {
        const apiVersion = kind === "Deployment" ? "apps/v1" : "v1";
        expect(await names("target", apiVersion, kind, ns), `${kind} in ${ns}`).toEqual(
          await names("source", apiVersion, kind, ns),
        );
      }
    }

    const rolledBack = await untilDone(() => rollback(engine()));
    expect(rolledBack.value.message).toMatch(/^Rolled back \d+ change/);
    faults.clear();
    const restored = await eventually(
      async () => {
        const now = await clusterImage(direct("target"), NAMESPACES, MIRRORED_KINDS);
        return now["v1 Namespace onlineboutique"] === undefined ? now : undefined;
      },
      NAMESPACE_GONE_MS,
      { intervalMs: 500, message: () => "namespace onlineboutique is still on the target after rollback" },
    );
    expect(restored).toEqual(original);
  }, 300_000);
});
