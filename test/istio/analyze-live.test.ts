import { describe, expect, it } from "vitest";
import { Registry } from "../../src/engine/registry.js";
import type { Step, StepInstance, StepKind, WriteContext } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import { useClusters, type TestClusters } from "../support/clusters.js";
import { analyze, describeMessages, type Analysis, type Suppression } from "../support/istioctl.js";
import {
  ASM_INGRESS,
  MemoryJournal,
  recordingProgress,
  testPlaybook,
  testRunOptions,
} from "../support/step-harness.js";
import { eventually } from "../support/wait.js";
import {
  BOOKINFO,
  ONLINE_BOUTIQUE,
  PLAYBOOK,
  WEIGHTS,
  installedTargetIngress,
  mirroredApp,
  sourceApp,
  sourceIngress,
  type App,
} from "./manifests.js";

/**
 * `istioctl analyze -A` against two real kube-apiservers (etcd, kube-controller-manager, the fake kubelet running
 * the Pods) while expose-target and shift-traffic migrate an app: after expose-target and after every weight,
 * on the source and on the target, zero errors and zero warnings (or a suppression below saying why).
 */

/** Suppressions, each with why. Only for what is not clustershift's doing and cannot be otherwise here. */
const SUPPRESS: readonly Suppression[] = [];

/** Drives expose-target and shift-traffic like the engine: re-plan, apply, verify, one instance at a time. */
class TrafficDriver {
  private readonly journal = new MemoryJournal();
  private readonly clients = new Map<string, unknown>();
  private readonly registry = new Registry().step(exposeTargetStep).step(shiftTrafficStep);

  constructor(
    private readonly kubeconfig: string,
    readonly playbook: Playbook,
  ) {}

  private ctx(id: string, kind: StepKind): WriteContext {
    return {
      playbook: this.playbook,
      options: testRunOptions({ kubeconfig: this.kubeconfig }),
      signal: new AbortController().signal,
      clients: this.clients,
      progress: recordingProgress(),
      ...this.journal.writer(id, kind),
    };
  }

  ids(): string[] {
    return this.instances().map((i) => i.instance.id);
  }

  private instances(): { step: Step<unknown>; instance: StepInstance<unknown> }[] {
    return this.registry
      .stepKinds()
      .flatMap((step) => step.expand(this.playbook).map((instance) => ({ step, instance })));
  }

  async run(id: string): Promise<void> {
    const found = this.instances().find((i) => i.instance.id === id);
    if (!found) throw new Error(`no instance ${id}`);
    const ctx = this.ctx(id, found.step.kind);
    const plan = await found.step.plan(found.instance, ctx);
    await found.step.apply(plan, ctx);
    const verification = await found.step.verify(plan, ctx);
    if (verification.outcome !== "passed") throw new Error(`${id}: ${JSON.stringify(verification)}`);
  }

  /** Like the engine: each journaled change, newest first, handed to its step's rollback. */
  async rollback(): Promise<void> {
    for (const entry of this.journal.newestFirst()) {
      await this.registry.getStep(entry.kind).rollback([entry], this.ctx(entry.step, entry.kind));
    }
  }
}

function playbookFor(app: App): Playbook {
  return testPlaybook(
    {
      source: {
        context: "source",
        ingress: { namespace: "istio-system", service: "istio-ingressgateway", gateway: app.gateway },
      },
      target: { context: "target", ingress: ASM_INGRESS },
      traffic: {
        namespace: app.namespace,
        service: app.service,
        port: app.port,
        remoteHost: app.remoteHost,
        steps: WEIGHTS.map((weight) => ({ weight })),
      },
    },
    PLAYBOOK,
  );
}

/** Running Pods behind every Deployment of `objects`: what istioctl's gateway and pod analyzers look at. */
async function podsRunning(
  clusters: TestClusters,
  context: string,
  objects: readonly KubeObject[],
): Promise<void> {
  const client = clusters.client(context);
  for (const deployment of objects.filter((o) => o.kind === "Deployment")) {
    const namespace = deployment.metadata.namespace ?? "default";
    const labels = (deployment.spec as { selector: { matchLabels: Record<string, string> } }).selector
      .matchLabels;
    await eventually(
      async () => {
        const pods = await client.list("v1", "Pod", { namespace });
        return pods.some(
          (pod) =>
            Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v) &&
            (pod.status as { phase?: string } | undefined)?.phase === "Running",
        )
          ? true
          : undefined;
      },
      180_000,
      {
        intervalMs: 250,
        message: () => `no Pod of ${namespace}/${deployment.metadata.name} is Running on ${context}`,
      },
    );
  }
}

describe("istioctl analyze -A live on real kube-apiserver clusters while the traffic steps run", () => {
  const clusters = useClusters("real kube-apiserver");

  async function analyzeBoth(): Promise<Record<"source" | "target", Analysis>> {
    const c = clusters();
    const [source, target] = await Promise.all(
      (["source", "target"] as const).map((context) =>
        analyze({ kubeconfig: c.kubeconfigPath, context, suppress: SUPPRESS }),
      ),
    );
    return { source: source as Analysis, target: target as Analysis };
  }

  function expectClean(result: Record<"source" | "target", Analysis>): void {
    for (const context of ["source", "target"] as const) {
      expect(describeMessages(result[context].problems), `${result[context].command}`).toEqual([]);
    }
  }

  describe.each([ONLINE_BOUTIQUE, BOOKINFO])("$name", (app) => {
    let driver: TrafficDriver | undefined;
    const started = () => {
      if (!driver) throw new Error("the app is not seeded and exposed yet (an earlier test failed)");
      return driver;
    };

    it("Given the app seeded on the source real kube-apiserver and mirrored to the target with the installed ingress gateway, When istioctl analyze -A runs on both, Then it reports no error and no warning", async () => {
      const c = clusters();
      const source = [...sourceIngress(), ...sourceApp(app)];
      const target = [...installedTargetIngress(), ...mirroredApp(app)];
      await c.seed("source", source);
      await c.seed("target", target);
      await podsRunning(c, "source", source);
      await podsRunning(c, "target", target);
      expectClean(await analyzeBoth());
    }, 300_000);

    it("Given expose-target applied, When istioctl analyze -A runs against the source and target real kube-apiserver, Then it reports no error and no warning", async () => {
      driver = new TrafficDriver(clusters().kubeconfigPath, playbookFor(app));
      await driver.run("expose-target");
      expectClean(await analyzeBoth());
    }, 180_000);

    it.each(WEIGHTS.map((weight, index) => ({ weight, id: `shift-traffic[${index + 1}]` })))(
      "Given $id applied (weight $weight), When istioctl analyze -A runs against the source and target real kube-apiserver, Then it reports no error and no warning",
      async ({ id }) => {
        await started().run(id);
        expectClean(await analyzeBoth());
      },
      180_000,
    );

    it("Given the migration rolled back, When istioctl analyze -A runs against the source and target real kube-apiserver, Then it reports no error and no warning", async () => {
      await started().rollback();
      expectClean(await analyzeBoth());
    }, 180_000);
  });
});
