import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apply, readState, rollback } from "../../src/engine/executor.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { SUBSTRATES, useClusters, type TestClusters } from "../support/clusters.js";
import {
  clusterImage,
  faultSeed,
  faultyClusters,
  untilDone,
  type FaultyClusters,
} from "../support/faults.js";
import { fixtureObjects } from "../support/fixtures.js";
import { RunHarness } from "../support/harness.js";
import { namespaceObject } from "../support/sandbox.js";
import { ASM_INGRESS, testPlaybook } from "../support/step-harness.js";
import { ingressAddressOf, targetIngressObjects, trafficRegistry } from "./world.js";

/** What expose-target and shift-traffic write, and what they must leave as they found it. */
const KINDS = [
  ...["VirtualService", "ServiceEntry", "Gateway", "DestinationRule"].map((kind) => ({
    group: "networking.istio.io",
    kind,
  })),
  { group: "", kind: "Service" },
];
const SOURCE_NAMESPACES = ["onlineboutique"];
const TARGET_NAMESPACES = ["onlineboutique", "asm-ingress"];

/**
 * Online Boutique's frontend behind its Gateway on the source, with its ingress VirtualService (`withVirtualService`:
 * the weights are shifted in it, by compare-and-swap PUTs) or without (the first weight creates a split
 * VirtualService with a POST).
 */
async function onlineBoutique(clusters: TestClusters, withVirtualService: boolean): Promise<void> {
  const gateway = fixtureObjects("online-boutique/frontend-gateway.yaml", "onlineboutique").filter(
    (o) => withVirtualService || o.kind === "Gateway",
  );
  await clusters.seed("source", [
    namespaceObject("onlineboutique"),
    ...gateway,
    ...fixtureObjects("online-boutique/frontend.yaml", "onlineboutique"),
    // The shifted Service itself: the traffic steps refuse a traffic.service the source does not have.
    ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", "onlineboutique").filter(
      (o) => o.kind === "Service" && o.metadata.name === "frontend",
    ),
  ]);
}

/** The target's ingress gateway, once for the block, with a load balancer address. */
async function targetIngress(clusters: TestClusters): Promise<void> {
  await clusters.seed("target", [
    namespaceObject("asm-ingress"),
    namespaceObject("onlineboutique"),
    ...targetIngressObjects(),
  ]);
  await ingressAddressOf(clusters.client("target"));
}

/** Both clusters as the rollback must leave them, without server-managed metadata. */
async function images(clusters: TestClusters): Promise<Record<string, KubeObject>[]> {
  return [
    await clusterImage(clusters.client("source"), SOURCE_NAMESPACES, KINDS),
    await clusterImage(clusters.client("target"), TARGET_NAMESPACES, KINDS),
  ];
}

function engineFor(clusters: TestClusters, kubeconfig: string, name: string) {
  const playbook = testPlaybook(
    {
      source: {
        context: "source",
        ingress: {
          namespace: "istio-system",
          service: "istio-ingressgateway",
          gateway: "onlineboutique/frontend-gateway",
        },
      },
      target: { context: "target", ingress: ASM_INGRESS },
      traffic: {
        namespace: "onlineboutique",
        service: "frontend",
        port: 80,
        remoteHost: "frontend.target.clustershift.internal",
        steps: [{ weight: 10 }, { weight: 50 }, { weight: 100 }],
      },
    },
    name,
  );
  const registry = trafficRegistry();
  // One journal for every run of the test: each call continues where the last one stopped.
  const harness = new RunHarness(registry, playbook, {
    kubeconfig,
    options: { stateDir: `${clusters.dir}/state` },
  });
  return () => harness.engine;
}

/** The weight the source's frontend route sends to the target, from the stored VirtualService. */
async function remoteWeight(clusters: TestClusters, name: string): Promise<number | undefined> {
  const vs = await clusters.client("source").get({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    namespace: "onlineboutique",
    name,
  });
  const routes = (vs?.spec as { http?: { route?: { destination: { host: string }; weight?: number }[] }[] })
    ?.http?.[0]?.route;
  return routes?.find((r) => r.destination.host.includes("clustershift.internal"))?.weight;
}

describe.each(SUBSTRATES)(
  "expose-target and shift-traffic under injected faults, with Istio's real CRDs, on %s",
  (substrate) => {
    const use = useClusters(substrate);
    let faults: FaultyClusters;
    beforeAll(async () => {
      await targetIngress(use());
      faults = await faultyClusters(use());
    }, 120_000);
    afterEach(() => faults.clear());
    afterAll(() => faults.stop());

    it("Given every POST and PUT on the source carried out with its reply lost, When the weights are shifted from a VirtualService created by the run, Then apply completes in one run, each write counted once, and rollback restores both clusters exactly", async () => {
      const seedValue = faultSeed();
      const clusters = use();
      await onlineBoutique(clusters, false);
      const original = await images(clusters);
      const engine = engineFor(clusters, faults.kubeconfigPath, "traffic-lost-writes");

      // The creates of the ServiceEntry and of the split VirtualService and each weight's compare-and-swap PUT lose
      // their replies; their retries meet 409 AlreadyExists and 409 Conflict, with what was sent in place.
      faults.setFaults("source", { replyLostRate: 1, replyLostMethods: ["POST", "PUT"], seed: seedValue });
      const outcome = await apply(engine(), () => Promise.resolve(true));
      expect(outcome.outcome).toBe("completed");
      expect(faults.faultsInjected("source")).toBe(4);
      expect(await remoteWeight(clusters, "clustershift-frontend-split")).toBe(100);
      const state = await readState(engine().store);
      const shifts = state.pending.filter((e) => e.kind === "shift-traffic");
      expect(shifts.map((e) => e.action)).toEqual(["create", "update", "update"]);
      expect(shifts.every((e) => state.applied.has(e.seq))).toBe(true);

      faults.setFaults("source", {
        replyLostRate: 0.3,
        errorRate: 0.05,
        statuses: [500, 503, 429],
        retryAfterSeconds: 0,
        dropRate: 0.02,
        seed: (seedValue + 1) % 2 ** 32,
      });
      faults.setFaults("target", { replyLostRate: 0.3, seed: (seedValue + 2) % 2 ** 32 });
      await untilDone(() => rollback(engine()));
      faults.clear();
      expect(await images(clusters)).toEqual(original);
    });

    it("Given seeded lost replies, 5xx, 429 and dropped connections on both clusters, When applied (resumed until it completes) and rolled back, Then the weights reach 100 and both clusters come back exactly", async () => {
      const seedValue = faultSeed();
      const clusters = use();
      await onlineBoutique(clusters, true);
      const original = await images(clusters);
      const engine = engineFor(clusters, faults.kubeconfigPath, "traffic-random-faults");
      const random = {
        replyLostRate: 0.3,
        errorRate: 0.1,
        statuses: [500, 503, 429],
        retryAfterSeconds: 0,
        dropRate: 0.05,
      };
      faults.setSeededFaults(random, seedValue);

      const applied = await untilDone(() => apply(engine(), () => Promise.resolve(true)));
      expect(applied.value.outcome).toBe("completed");
      expect(await remoteWeight(clusters, "frontend-ingress")).toBe(100);
      expect(faults.faultsInjected("source") + faults.faultsInjected("target")).toBeGreaterThan(0);

      await untilDone(() => rollback(engine()));
      faults.clear();
      expect(await images(clusters)).toEqual(original);
    });
  },
);
