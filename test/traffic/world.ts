import { KubernetesObjectApi } from "@kubernetes/client-node";
import { afterEach } from "vitest";
import { planRun } from "../../src/engine/planner.js";
import { Registry } from "../../src/engine/registry.js";
import type {
  ChangeEntry,
  Step,
  StepInstance,
  StepKind,
  StepPlan,
  WriteContext,
} from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import type { KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { renderPlanText } from "../../src/render/plan.js";
import { imageOf } from "../../src/steps/expose-target/istio.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import { useClusters, type Substrate, type TestClusters } from "../support/clusters.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import {
  ASM_INGRESS,
  MemoryJournal,
  recordingProgress,
  testPlaybook,
  testRunOptions,
} from "../support/step-harness.js";
import { eventually } from "../support/wait.js";
import { parseAllDocuments } from "yaml";

export const REMOTE_HOST = "frontend.target.clustershift.internal";

const ISTIO_GROUP = "networking.istio.io";
const ISTIO_KINDS = ["VirtualService", "ServiceEntry", "Gateway", "DestinationRule"] as const;

/** The address each substrate's load balancer hands the target ingress Service. */
export const LOAD_BALANCER_ADDRESS: Record<Substrate, RegExp> = {
  sandbox: /^203\.0\.113\.\d+$/,
  // test/support/fake-kubelet.ts: 127.0.<cluster index + 1>.n, the target being the second cluster.
  "real kube-apiserver": /^127\.0\.2\.\d+$/,
};

/**
 * Source and target clusters on one substrate, each with Istio's real CRDs (every networking kind,
 * v1/v1beta1/v1alpha3 with their OpenAPI schemas and CEL rules), and a kubeconfig naming them `source` and
 * `target`. Talked to only through the product's own client and server-side apply, so that the same test runs
 * against the sandbox and a real kube-apiserver.
 */
export interface World {
  readonly substrate: Substrate;
  readonly clusters: TestClusters;
  readonly kubeconfig: string;
  readonly source: KubeClusterClient;
  readonly target: KubeClusterClient;
}

/**
 * One pair of clusters for the enclosing block (a real control plane takes tens of seconds of CPU to start), and
 * after each test everything the traffic tests create removed again, so that each test starts from empty clusters.
 */
export function useWorld(substrate: Substrate): () => World {
  const clusters = useClusters(substrate);
  const world = (): World => {
    const c = clusters();
    return {
      substrate,
      clusters: c,
      kubeconfig: c.kubeconfigPath,
      source: c.client("source"),
      target: c.client("target"),
    };
  };
  afterEach(async () => {
    await emptyWorld(world());
  }, 120_000);
  return world;
}

/** Deletes every Istio object and the target ingress Service, and waits until they are gone. */
async function emptyWorld(world: World): Promise<void> {
  for (const client of [world.source, world.target]) {
    const apiVersion = `${ISTIO_GROUP}/v1`;
    if (!(await client.servedVersions(ISTIO_GROUP)).includes("v1")) continue;
    for (const kind of ISTIO_KINDS) {
      for (const object of await client.list(apiVersion, kind)) {
        await client.delete({
          apiVersion,
          kind,
          namespace: object.metadata.namespace ?? "",
          name: object.metadata.name,
        });
      }
    }
  }
  const ingress = { apiVersion: "v1", kind: "Service", namespace: "asm-ingress", name: "asm-ingressgateway" };
  await world.target.delete(ingress);
  await eventually(async () => ((await world.target.get(ingress)) ? undefined : true), 60_000, {
    intervalMs: 100,
    message: () => "the target ingress Service was not deleted",
  });
}

export function seed(
  world: World,
  context: "source" | "target",
  objects: KubeObject[],
): Promise<KubeObject[]> {
  return world.clusters.seed(context, objects, "kubectl");
}

export async function namespace(world: World, context: "source" | "target", name: string): Promise<void> {
  await seed(world, context, [{ apiVersion: "v1", kind: "Namespace", metadata: { name } }]);
}

/** Objects of a fixture file as `kubectl apply --server-side -n namespace` would create them. */
export async function seedFixture(
  world: World,
  context: "source" | "target",
  path: string,
  ns: string,
): Promise<KubeObject[]> {
  await namespace(world, context, ns);
  return seed(world, context, fixtureObjects(path, ns));
}

/** Where each app's Services are in the shared fixtures. */
const SERVICE_FIXTURES: Record<string, string> = {
  onlineboutique: "online-boutique/kubernetes-manifests.yaml",
  bookinfo: "bookinfo/bookinfo.yaml",
};

/**
 * The Service the traffic steps shift, as the app's manifests define it (without its workloads): expose-target and
 * shift-traffic refuse a `traffic.service` the source does not have.
 */
export async function seedSourceService(world: World, ns: string, service: string): Promise<void> {
  const path = SERVICE_FIXTURES[ns];
  if (!path) throw new Error(`no fixture holds the Services of ${ns}`);
  const found = fixtureObjects(path, ns).find((o) => o.kind === "Service" && o.metadata.name === service);
  if (!found) throw new Error(`Service ${service} not in ${path}`);
  await namespace(world, "source", ns);
  await seed(world, "source", [found]);
}

/** The target's ingress gateway: a LoadBalancer Service (the substrate gives it an address) and its Gateway. */
export async function seedTargetIngress(world: World, app: string): Promise<void> {
  await namespace(world, "target", "asm-ingress");
  await namespace(world, "target", app);
  await seed(world, "target", targetIngressObjects());
}

/** The target's ingress gateway as install-ingress-gateway leaves it: its LoadBalancer Service and Gateway. */
export function targetIngressObjects(): KubeObject[] {
  return [
    ingressService(),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "asm-ingressgateway", namespace: "asm-ingress" },
      spec: {
        selector: { asm: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
  ];
}

/** The external address the substrate's load balancer gives the target ingress Service. */
export function ingressAddress(world: World): Promise<string> {
  return ingressAddressOf(world.target);
}

export function ingressAddressOf(target: KubeClusterClient): Promise<string> {
  const ref = { apiVersion: "v1", kind: "Service", namespace: "asm-ingress", name: "asm-ingressgateway" };
  return eventually(
    async () =>
      ((await target.get(ref))?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)
        ?.loadBalancer?.ingress?.[0]?.ip || undefined,
    60_000,
    { intervalMs: 50, message: () => "the target ingress Service got no address" },
  );
}

/** The ingress address in text replaced by the one the golden files hold. */
export function normalizeAddress(text: string, address: string): string {
  return text.replaceAll(address, "203.0.113.x");
}

export function ingressService(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "asm-ingressgateway", namespace: "asm-ingress" },
    spec: {
      type: "LoadBalancer",
      selector: { asm: "ingressgateway" },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    },
  };
}

export interface TrafficOptions {
  gateway: string;
  remoteHost?: string;
  namespace: string;
  service: string;
  port: number;
  weights?: number[];
  steps?: Record<string, unknown>[];
  hosts?: string[];
  onFailure?: "rollback" | "pause";
}

export function trafficPlaybook(options: TrafficOptions, name = "traffic-test"): Playbook {
  return testPlaybook(
    {
      source: {
        context: "source",
        ingress: { namespace: "istio-system", service: "istio-ingressgateway", gateway: options.gateway },
      },
      target: {
        context: "target",
        ingress: ASM_INGRESS,
      },
      traffic: {
        namespace: options.namespace,
        service: options.service,
        port: options.port,
        remoteHost: options.remoteHost ?? REMOTE_HOST,
        ...(options.hosts ? { hosts: options.hosts } : {}),
        steps: options.steps ?? (options.weights ?? [10, 50, 100]).map((weight) => ({ weight })),
        ...(options.onFailure ? { onFailure: options.onFailure } : {}),
      },
    },
    name,
  );
}

export const trafficRegistry = () => new Registry().step(exposeTargetStep).step(shiftTrafficStep);

/** Drives the traffic steps like the engine does, with one in-memory write-ahead journal for all of them. */
export class Driver {
  private readonly journal = new MemoryJournal();
  readonly entries: ChangeEntry[] = this.journal.entries;
  private readonly progress = recordingProgress();
  readonly lines: string[] = this.progress.lines;
  private readonly clients = new Map<string, unknown>();

  constructor(
    readonly world: World,
    readonly playbook: Playbook,
  ) {}

  ctx(id = "plan", kind: StepKind = "plan"): WriteContext {
    return {
      playbook: this.playbook,
      options: testRunOptions({ kubeconfig: this.world.kubeconfig }),
      signal: new AbortController().signal,
      clients: this.clients,
      progress: this.progress,
      ...this.journal.writer(id, kind),
    };
  }

  instances(): { step: Step<unknown>; instance: StepInstance<unknown> }[] {
    return trafficRegistry()
      .stepKinds()
      .flatMap((step) => step.expand(this.playbook).map((instance) => ({ step, instance })));
  }

  /** The plan of every instance, made before any runs: what the user approves. */
  async planAll(): Promise<{ text: string; plans: Map<string, StepPlan> }> {
    const run = await planRun(trafficRegistry(), this.ctx());
    return { text: renderPlanText(run, "test"), plans: new Map(run.steps.map((s) => [s.plan.id, s.plan])) };
  }

  /** Re-plans, applies and verifies one instance; returns the fresh plan. */
  async run(id: string): Promise<StepPlan> {
    const found = this.instances().find((i) => i.instance.id === id);
    if (!found) throw new Error(`no instance ${id}`);
    const ctx = this.ctx(id, found.step.kind);
    const fresh = await found.step.plan(found.instance, ctx);
    await found.step.apply(fresh, ctx);
    const verification = await found.step.verify(fresh, ctx);
    if (verification.outcome !== "passed") throw new Error(`${id}: ${JSON.stringify(verification)}`);
    return fresh;
  }

  async plan(id: string): Promise<StepPlan> {
    const found = this.instances().find((i) => i.instance.id === id);
    if (!found) throw new Error(`no instance ${id}`);
    return found.step.plan(found.instance, this.ctx(id, found.step.kind));
  }

  /** Like the engine: each journaled change, newest first, handed to its step's rollback on its own. */
  async rollback(entries = this.journal.newestFirst()): Promise<void> {
    const registry = trafficRegistry();
    for (const entry of entries)
      await registry.getStep(entry.kind).rollback([entry], this.ctx(entry.step, entry.kind));
  }
}

/** What the cluster holds, without server-owned metadata; undefined when absent. */
export async function stored(client: KubeClusterClient, ref: ObjectRef): Promise<KubeObject | undefined> {
  const object = await client.get(ref);
  return object && imageOf(object);
}

/** Names of the objects of a kind in all namespaces, `namespace/name`, sorted. */
export async function names(client: KubeClusterClient, apiVersion: string, kind: string): Promise<string[]> {
  return (await client.list(apiVersion, kind))
    .map((object) => `${object.metadata.namespace ?? ""}/${object.metadata.name}`)
    .sort();
}

export const vsRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  namespace,
  name,
});

/**
 * Makes every update (PUT) of a VirtualService on the source fail until the returned function is called: on the
 * sandbox by its fault injection, on a real kube-apiserver by a ValidatingAdmissionPolicy that denies it (its own
 * admission chain; it takes effect once the apiserver has loaded the policy, which is waited for).
 */
export async function failVirtualServiceUpdates(world: World): Promise<() => Promise<void>> {
  const sandbox = world.clusters.sandbox;
  if (sandbox) {
    const cluster = sandbox.clusters.get("source");
    if (!cluster) throw new Error("no sandbox cluster source");
    cluster.setFaults({ errorRate: 1, statuses: [400], methods: ["PUT"] });
    return () => {
      cluster.setFaults({});
      return Promise.resolve();
    };
  }
  const name = "clustershift-test-deny-virtualservice-updates";
  const api = KubernetesObjectApi.makeApiClient(world.clusters.kubeConfig("source"));
  const policy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [ISTIO_GROUP],
            apiVersions: ["*"],
            operations: ["UPDATE"],
            resources: ["virtualservices"],
          },
        ],
      },
      validations: [{ expression: "false", message: "VirtualService updates are denied by the test" }],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name },
    spec: { policyName: name, validationActions: ["Deny"] },
  };
  await seed(world, "source", [policy, binding]);
  const probe = async () => {
    const vs = await world.source.get(vsRef("onlineboutique", "frontend-ingress"));
    if (!vs)
      throw new Error("the policy is probed with onlineboutique/frontend-ingress, which does not exist");
    return api.replace(vs, undefined, "All").then(
      () => "accepted" as const,
      () => "denied" as const,
    );
  };
  await eventually(async () => ((await probe()) === "denied" ? true : undefined), 60_000, {
    intervalMs: 200,
    message: () => "the ValidatingAdmissionPolicy never took effect",
  });
  return async () => {
    for (const kind of ["ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"]) {
      await world.source.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind, name });
    }
    await eventually(async () => ((await probe()) === "accepted" ? true : undefined), 60_000, {
      intervalMs: 200,
      message: () => "the ValidatingAdmissionPolicy kept denying after it was deleted",
    });
  };
}

const CRD = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" } as const;

/** Istio's networking CRDs, as the fixture holds them. */
function istioNetworkingCrds(): KubeObject[] {
  return parseAllDocuments(istioCrdYaml())
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter(
      (object): object is KubeObject =>
        object?.kind === "CustomResourceDefinition" &&
        (object.spec as { group?: string } | undefined)?.group === ISTIO_GROUP,
    );
}

/**
 * Uninstalls Istio's networking CRDs from a cluster (as `kubectl delete crd` would) and waits until discovery no
 * longer serves the group; the returned function installs them again and waits until they are served.
 */
export async function withoutIstio(world: World, context: "source" | "target"): Promise<() => Promise<void>> {
  const client = context === "source" ? world.source : world.target;
  const crds = istioNetworkingCrds();
  for (const crd of crds) await client.delete({ ...CRD, name: crd.metadata.name });
  // A real server deletes a CRD only after its finalizer has removed every instance: slow on a busy machine.
  let remaining: string[] = [];
  await eventually(
    async () => {
      remaining = [];
      for (const crd of crds) {
        const live = await client.get({ ...CRD, name: crd.metadata.name });
        const conditions = (live?.status as { conditions?: { type: string; reason?: string }[] } | undefined)
          ?.conditions;
        if (live)
          remaining.push(
            `${crd.metadata.name} (${(conditions ?? []).map((c) => c.reason ?? c.type).join(", ")})`,
          );
      }
      if (remaining.length > 0) return undefined;
      return (await client.servedVersions(ISTIO_GROUP)).length === 0 ? true : undefined;
    },
    300_000,
    {
      intervalMs: 200,
      message: () =>
        `Istio's CRDs were not removed from ${context}: ${remaining.join("; ") || "the group is still served"}`,
    },
  );
  return async () => {
    // Through the product's client (raw JSON): client-node's KubernetesObjectApi, which `seed` uses, writes a CRD
    // through its models and loses `x-kubernetes-int-or-string`, which a real server then refuses (422).
    for (const crd of crds) await client.apply(crd);
    await eventually(
      async () => {
        for (const crd of crds) {
          const live = await client.get({ ...CRD, name: crd.metadata.name });
          const conditions = (live?.status as { conditions?: { type: string; status: string }[] } | undefined)
            ?.conditions;
          if (!conditions?.some((c) => c.type === "Established" && c.status === "True")) return undefined;
        }
        return (await client.servedVersions(ISTIO_GROUP)).includes("v1") ? true : undefined;
      },
      120_000,
      { intervalMs: 200, message: () => `Istio's CRDs were not installed again in ${context}` },
    );
  };
}
