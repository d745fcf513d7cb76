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
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { renderPlanText } from "../../src/render/plan.js";
import type { Sandbox, SandboxCluster } from "../../src/sandbox/index.js";
import { imageOf } from "../../src/steps/expose-target/istio.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import {
  ASM_INGRESS,
  MemoryJournal,
  recordingProgress,
  testPlaybook,
  testRunOptions,
} from "../support/step-harness.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { seed, withSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";

export const REMOTE_HOST = "frontend.target.clustershift.internal";

export interface World {
  sandbox: Sandbox;
  kubeconfig: string;
  source: SandboxCluster;
  target: SandboxCluster;
  stop(): Promise<void>;
}

/**
 * Source and target clusters with Istio's real CRDs (every networking kind, v1/v1beta1/v1alpha3 with their
 * OpenAPI schemas), and a kubeconfig naming them `source` and `target`.
 */
export async function startWorld(options: { loadBalancerDelayMs?: number } = {}): Promise<World> {
  const env = await withSandbox({
    clusters: ["source", "target"],
    istio: { crdYaml: istioCrdYaml() },
    loadBalancerDelayMs: options.loadBalancerDelayMs ?? 50,
  });
  return {
    sandbox: env.sandbox,
    kubeconfig: env.kubeconfigPath,
    source: env.cluster("source"),
    target: env.cluster("target"),
    stop: () => env.stop(),
  };
}

export function namespace(cluster: SandboxCluster, name: string): void {
  cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name } }, "kubectl");
}

/** Objects of a fixture file as `kubectl apply -n namespace` would create them. */
export function seedFixture(cluster: SandboxCluster, path: string, ns: string): KubeObject[] {
  namespace(cluster, ns);
  return seed(cluster, fixtureObjects(path, ns), "kubectl");
}

/** The target's ingress gateway: a LoadBalancer Service (the sandbox gives it an IP) and its Gateway. */
export function seedTargetIngress(target: SandboxCluster, app: string): void {
  namespace(target, "asm-ingress");
  namespace(target, app);
  target.apply(ingressService(), "kubectl");
  target.apply(
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "asm-ingressgateway", namespace: "asm-ingress" },
      spec: {
        selector: { asm: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
    "kubectl",
  );
}

/** The external IP the sandbox's load balancer controller gives the target ingress Service. */
export function ingressAddress(target: SandboxCluster): Promise<string> {
  const ref = { apiVersion: "v1", kind: "Service", namespace: "asm-ingress", name: "asm-ingressgateway" };
  return eventually(
    () =>
      (target.get(ref)?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)
        ?.loadBalancer?.ingress?.[0]?.ip || undefined,
    2000,
    { message: () => "the target ingress Service got no address" },
  );
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

/** What the sandbox holds, without server-owned metadata; undefined when absent. */
export function stored(cluster: SandboxCluster, ref: ObjectRef): KubeObject | undefined {
  const object = cluster.get(ref);
  return object && imageOf(object);
}

export const vsRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  namespace,
  name,
});
