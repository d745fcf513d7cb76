import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { planRun } from "../../src/engine/planner.js";
import { Registry } from "../../src/engine/registry.js";
import type {
  ChangeEntry,
  RunOptions,
  Step,
  StepInstance,
  StepKind,
  StepPlan,
  WriteContext,
} from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { renderPlanText } from "../../src/render/plan.js";
import { startSandbox, type Sandbox, type SandboxCluster } from "../../src/sandbox/index.js";
import { imageOf } from "../../src/steps/expose-target/istio.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import { testPlaybook } from "../support/step-harness.js";
import { FIXTURES, loadFixture } from "./fixtures.js";

export const REMOTE_HOST = "frontend.target.clustershift.internal";

/** Istio's own CRDs (every networking kind, v1/v1beta1/v1alpha3 with their OpenAPI schemas). */
export const ISTIO_CRDS = readFile(resolve(FIXTURES, "istio/crd-all.gen.yaml"), "utf8");

export interface World {
  sandbox: Sandbox;
  kubeconfig: string;
  source: SandboxCluster;
  target: SandboxCluster;
  stop(): Promise<void>;
}

/** Source and target clusters with Istio's real CRDs, and a kubeconfig naming them `source` and `target`. */
export async function startWorld(options: { loadBalancerDelayMs?: number } = {}): Promise<World> {
  const sandbox = await startSandbox({
    clusters: ["source", "target"],
    istio: { crdYaml: await ISTIO_CRDS },
    loadBalancerDelayMs: options.loadBalancerDelayMs ?? 50,
  });
  const dir = await mkdtemp(join(tmpdir(), "clustershift-traffic-"));
  const kubeconfig = join(dir, "kubeconfig");
  await sandbox.writeKubeconfig(kubeconfig);
  const cluster = (name: string) => {
    const found = sandbox.clusters.get(name);
    if (!found) throw new Error(`no cluster ${name}`);
    return found;
  };
  return {
    sandbox,
    kubeconfig,
    source: cluster("source"),
    target: cluster("target"),
    async stop() {
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function namespace(cluster: SandboxCluster, name: string): void {
  cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name } }, "kubectl");
}

/** Objects of a fixture file as `kubectl apply -n namespace` would create them. */
export function seedFixture(cluster: SandboxCluster, path: string, ns: string): KubeObject[] {
  namespace(cluster, ns);
  return loadFixture(path, ns).map((object) => cluster.apply(object, "kubectl"));
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
export async function ingressAddress(target: SandboxCluster): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const service = target.get({
      apiVersion: "v1",
      kind: "Service",
      namespace: "asm-ingress",
      name: "asm-ingressgateway",
    });
    const ip = (service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)
      ?.loadBalancer?.ingress?.[0]?.ip;
    if (ip) return ip;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the target ingress Service got no address");
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
        ingress: {
          namespace: "asm-ingress",
          service: "asm-ingressgateway",
          gateway: "asm-ingress/asm-ingressgateway",
        },
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
  readonly entries: ChangeEntry[] = [];
  readonly lines: string[] = [];
  readonly notes: { step: string; note: string; data?: unknown }[] = [];
  private readonly clients = new Map<string, unknown>();

  constructor(
    readonly world: World,
    readonly playbook: Playbook,
  ) {}

  ctx(id = "plan", kind: StepKind = "plan"): WriteContext {
    const options: RunOptions = {
      playbookFile: "test.yaml",
      stateDir: ".clustershift-test",
      nonInteractive: true,
      kubeconfig: this.world.kubeconfig,
    };
    return {
      playbook: this.playbook,
      options,
      signal: new AbortController().signal,
      clients: this.clients,
      progress: {
        wait: (address, detail) => this.lines.push(`wait ${address}: ${detail}`),
        info: (message) => this.lines.push(`info ${message}`),
        warn: (message) => this.lines.push(`warn ${message}`),
      },
      change: async (change, write) => {
        // Write-ahead: journaled before the write, kept when the write fails.
        this.entries.push({
          ...structuredClone(change),
          type: "change",
          seq: this.entries.length + 1,
          time: "",
          step: id,
          kind,
        });
        return write();
      },
      note: (note, data) => {
        this.notes.push({ step: id, note, data });
        return Promise.resolve();
      },
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
  async rollback(entries = [...this.entries].reverse()): Promise<void> {
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
