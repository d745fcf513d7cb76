import { afterEach, describe, expect, it } from "vitest";
import { apply, readState, rollback } from "../../src/engine/executor.js";
import { Registry } from "../../src/engine/registry.js";
import { createClusterClient, type KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import type { SandboxCluster } from "../../src/sandbox/index.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import { inProcessEngine } from "../support/engine.js";
import { clusterImage, faultSeed, untilDone } from "../support/faults.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { namespaceObject, seed, withSandbox, type TestSandbox } from "../support/sandbox.js";
import { ASM_INGRESS, testPlaybook } from "../support/step-harness.js";
import { eventually } from "../support/wait.js";

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

let env: TestSandbox | undefined;
const clients: KubeClusterClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await env?.stop();
  env = undefined;
});

/**
 * Online Boutique's frontend behind its Gateway on the source, with its ingress VirtualService (`withVirtualService`:
 * the weights are shifted in it, by compare-and-swap PUTs) or without (the first weight creates a split
 * VirtualService with a POST); the target's ingress gateway with a load balancer address.
 */
async function onlineBoutique(withVirtualService: boolean): Promise<TestSandbox> {
  env = await withSandbox({ istio: { crdYaml: istioCrdYaml() }, loadBalancerDelayMs: 50 });
  const gateway = fixtureObjects("online-boutique/frontend-gateway.yaml", "onlineboutique").filter(
    (o) => withVirtualService || o.kind === "Gateway",
  );
  seed(
    env.cluster("source"),
    [
      namespaceObject("onlineboutique"),
      ...gateway,
      ...fixtureObjects("online-boutique/frontend.yaml", "onlineboutique"),
    ],
    "kubectl",
  );
  const target = env.cluster("target");
  seed(
    target,
    [
      namespaceObject("asm-ingress"),
      namespaceObject("onlineboutique"),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "asm-ingressgateway", namespace: "asm-ingress" },
        spec: {
          type: "LoadBalancer",
          selector: { asm: "ingressgateway" },
          ports: [{ name: "http", port: 80, targetPort: 8080 }],
        },
      },
      {
        apiVersion: "networking.istio.io/v1",
        kind: "Gateway",
        metadata: { name: "asm-ingressgateway", namespace: "asm-ingress" },
        spec: {
          selector: { asm: "ingressgateway" },
          servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
        },
      },
    ],
    "kubectl",
  );
  await eventually(
    () =>
      (
        target.get({
          apiVersion: "v1",
          kind: "Service",
          namespace: "asm-ingress",
          name: "asm-ingressgateway",
        })?.status as { loadBalancer?: { ingress?: unknown[] } } | undefined
      )?.loadBalancer?.ingress?.[0],
    10_000,
    { message: () => "the target ingress Service got no address" },
  );
  return env;
}

function client(sandbox: TestSandbox, context: string): KubeClusterClient {
  const made = createClusterClient(context, { kubeconfig: sandbox.kubeconfigPath });
  clients.push(made);
  return made;
}

/** Both clusters as the rollback must leave them, without server-managed metadata. */
async function images(sandbox: TestSandbox): Promise<Record<string, KubeObject>[]> {
  return [
    await clusterImage(client(sandbox, "source"), SOURCE_NAMESPACES, KINDS),
    await clusterImage(client(sandbox, "target"), TARGET_NAMESPACES, KINDS),
  ];
}

function engineFor(sandbox: TestSandbox, name: string) {
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
  const registry = new Registry().step(exposeTargetStep).step(shiftTrafficStep);
  return () =>
    inProcessEngine({
      registry,
      playbook,
      stateDir: `${sandbox.dir}/state`,
      kubeconfig: sandbox.kubeconfigPath,
    }).engine;
}

/** The weight the source's frontend route sends to the target, from the stored VirtualService. */
function remoteWeight(source: SandboxCluster, name: string): number | undefined {
  const vs = source.get({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    namespace: "onlineboutique",
    name,
  });
  const routes = (vs?.spec as { http?: { route?: { destination: { host: string }; weight?: number }[] }[] })
    ?.http?.[0]?.route;
  return routes?.find((r) => r.destination.host.includes("clustershift.internal"))?.weight;
}

describe("expose-target and shift-traffic under injected faults, on sandbox clusters with Istio's real CRDs", () => {
  it("Given every POST and PUT on the source carried out with its reply lost, When the weights are shifted from a VirtualService created by the run, Then apply completes in one run, each write counted once, and rollback restores both clusters exactly", async () => {
    const seedValue = faultSeed();
    const sandbox = await onlineBoutique(false);
    const source = sandbox.cluster("source");
    const original = await images(sandbox);
    const engine = engineFor(sandbox, "traffic-lost-writes");

    // The creates of the ServiceEntry and of the split VirtualService and each weight's compare-and-swap PUT lose
    // their replies; their retries meet 409 AlreadyExists and 409 Conflict, with what was sent in place.
    source.setFaults({ replyLostRate: 1, replyLostMethods: ["POST", "PUT"], seed: seedValue });
    const outcome = await apply(engine(), () => Promise.resolve(true));
    expect(outcome.outcome).toBe("completed");
    expect(source.faultsInjected).toBe(4);
    expect(remoteWeight(source, "clustershift-frontend-split")).toBe(100);
    const state = await readState(engine().store);
    const shifts = state.pending.filter((e) => e.kind === "shift-traffic");
    expect(shifts.map((e) => e.action)).toEqual(["create", "update", "update"]);
    expect(shifts.every((e) => state.applied.has(e.seq))).toBe(true);

    source.setFaults({
      replyLostRate: 0.3,
      errorRate: 0.05,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.02,
      seed: (seedValue + 1) % 2 ** 32,
    });
    sandbox.cluster("target").setFaults({ replyLostRate: 0.3, seed: (seedValue + 2) % 2 ** 32 });
    await untilDone(() => rollback(engine()));
    source.setFaults({});
    sandbox.cluster("target").setFaults({});
    expect(await images(sandbox)).toEqual(original);
  });

  it("Given seeded lost replies, 5xx, 429 and dropped connections on both clusters, When applied (resumed until it completes) and rolled back, Then the weights reach 100 and both clusters come back exactly", async () => {
    const seedValue = faultSeed();
    const sandbox = await onlineBoutique(true);
    const source = sandbox.cluster("source");
    const target = sandbox.cluster("target");
    const original = await images(sandbox);
    const engine = engineFor(sandbox, "traffic-random-faults");
    const faults = {
      replyLostRate: 0.3,
      errorRate: 0.1,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.05,
    };
    source.setFaults({ ...faults, seed: seedValue });
    target.setFaults({ ...faults, seed: (seedValue + 1) % 2 ** 32 });

    const applied = await untilDone(() => apply(engine(), () => Promise.resolve(true)));
    expect(applied.value.outcome).toBe("completed");
    expect(remoteWeight(source, "frontend-ingress")).toBe(100);
    expect(source.faultsInjected + target.faultsInjected).toBeGreaterThan(0);

    await untilDone(() => rollback(engine()));
    source.setFaults({});
    target.setFaults({});
    expect(await images(sandbox)).toEqual(original);
  });
});
