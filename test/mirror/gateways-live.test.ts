import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { installIngressGatewayStep } from "../../src/steps/install-ingress-gateway/index.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { useClusters, type TestClusters } from "../support/clusters.js";
import { analyze, describeMessages, type Suppression } from "../support/istioctl.js";
import { ASM_INGRESS, playbookDocument } from "../support/step-harness.js";
import { eventually } from "../support/wait.js";
import { StepRunner } from "../gke/harness.js";
import {
  BOOKINFO,
  ONLINE_BOUTIQUE,
  TARGET_REVISION,
  managedInjector,
  sourceApp,
  sourceIngress,
} from "../istio/manifests.js";

/** Suppressions, each with why. Only for what is not the mirror's doing and cannot be otherwise here. */
const SUPPRESS: readonly Suppression[] = [
  {
    code: "IST0147",
    resource: "Pod asm-ingress/asm-ingressgateway-*",
    why:
      "the test clusters run no sidecar injector: on a cluster with the managed control plane its webhook replaces " +
      "the gateway Pod's `image: auto` when the Pod is created (test/istio/analyze-live.test.ts says the same)",
  },
  {
    code: "IST0173",
    resource: "DestinationRule bookinfo/ratings",
    why:
      "Bookinfo's own destination-rule-all.yaml names subsets v2-mysql and v2-mysql-vm, whose workloads the sample " +
      "does not deploy: the app's config, not the mirror's doing",
  },
];

const PLAYBOOK = playbookDocument("mirror-gateways-live", {
  source: {
    context: "source",
    ingress: { namespace: "istio-system", service: "istio-ingressgateway", gateway: ONLINE_BOUTIQUE.gateway },
  },
  target: { context: "target", ingress: { ...ASM_INGRESS, install: true } },
  workloads: { namespaces: [ONLINE_BOUTIQUE.namespace, BOOKINFO.namespace], rolloutTimeout: "4m" },
});

/** A Running Pod in `namespace` whose labels hold every one of `labels`. */
async function podRunning(
  clusters: TestClusters,
  context: string,
  namespace: string,
  labels: Record<string, string>,
): Promise<void> {
  const client = clusters.client(context);
  await eventually(
    async () =>
      (await client.list("v1", "Pod", { namespace })).some(
        (pod) =>
          Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v) &&
          (pod.status as { phase?: string } | undefined)?.phase === "Running",
      ) || undefined,
    180_000,
    {
      intervalMs: 250,
      message: () => `no Pod ${JSON.stringify(labels)} is Running in ${namespace} on ${context}`,
    },
  );
}

/**
 * The real kube-apiserver only, as test/istio/analyze-live.test.ts: istioctl's gateway analyzers judge the Pods a
 * Gateway selects, and only that substrate runs Pods (kube-controller-manager and the fake kubelet). The same
 * mirror plan is judged on both substrates offline, with its Pods rendered (gateways.test.ts).
 */
describe("istioctl analyze -A live on a real kube-apiserver target after install-ingress-gateway and mirror-workloads", () => {
  const clusters = useClusters("real kube-apiserver");

  it("Given Online Boutique and Bookinfo on the source behind istio-ingressgateway, When the target gateway is installed and the apps mirrored by the real steps, Then istioctl analyze -A on the target reports no error and no warning, and the gateway's pods carry no istio: ingressgateway", async () => {
    const c = clusters();
    const source = [...sourceIngress(), ...sourceApp(ONLINE_BOUTIQUE), ...sourceApp(BOOKINFO)];
    await c.seed("source", source);
    for (const deployment of source.filter((o): o is KubeObject => o.kind === "Deployment")) {
      const labels = (deployment.spec as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels;
      await podRunning(c, "source", deployment.metadata.namespace ?? "default", labels);
    }

    const install = await new StepRunner(installIngressGatewayStep, PLAYBOOK, {
      kubeconfig: c.kubeconfigPath,
    }).apply();
    expect(install.verifications).toMatchObject([{ outcome: "passed" }]);
    const mirror = await new StepRunner(mirrorWorkloadsStep, PLAYBOOK, {
      kubeconfig: c.kubeconfigPath,
    }).apply();
    expect(mirror.verifications).toMatchObject([{ outcome: "passed" }]);
    await podRunning(c, "target", "asm-ingress", { asm: "ingressgateway" });
    // The managed control plane's injector, once the gateway Pods exist (the apiserver never calls it).
    await c.seed("target", [managedInjector(TARGET_REVISION)]);

    const gatewayPods = await c.client("target").list("v1", "Pod", { namespace: "asm-ingress" });
    expect(gatewayPods.filter((pod) => pod.metadata.labels?.istio !== undefined)).toEqual([]);
    expect(
      (await c.client("target").list("networking.istio.io/v1", "Gateway")).map(
        (g) => `${g.metadata.namespace ?? ""}/${g.metadata.name}`,
      ),
    ).toEqual(["asm-ingress/asm-ingressgateway"]);
    const result = await analyze({
      kubeconfig: c.kubeconfigPath,
      context: "target",
      revision: TARGET_REVISION,
      suppress: SUPPRESS,
    });
    expect(describeMessages(result.problems), result.command).toEqual([]);
  }, 600_000);
});
