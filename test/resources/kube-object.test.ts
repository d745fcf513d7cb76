import { describe, expect, it } from "vitest";
import { DriftError } from "../../src/engine/errors.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { imageOf, kubeObjectChange, kubeObjectResource } from "../../src/resources/kube-object.js";
import { installIngressGatewayStep } from "../../src/steps/install-ingress-gateway/index.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { ASM_INGRESS, stepHarness, testPlaybook } from "../support/step-harness.js";

const CONFIG: ObjectRef = { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "routes" };
const configMap = (data: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "routes", namespace: "default" },
  data,
});

describe.each(SUBSTRATES)("kube.object compare-and-swap on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source", "target"] });

  it("Given an update planned on an object, When someone changes it after the plan, Then write stops naming the object and the changed field, and writes and journals nothing", async () => {
    const port = clusters().client("target");
    await port.delete(CONFIG);
    const live = await port.create(configMap({ weight: "0" }));
    const h = stepHarness({
      kubeconfig: clusters().kubeconfigPath,
      step: "expose-target",
      kind: "expose-target",
    });
    const planned = kubeObjectChange("target", configMap({ weight: "10" }), live);
    // Someone else's change between the plan and the apply.
    await port.replace(configMap({ weight: "50" }), { resourceVersion: live.metadata.resourceVersion ?? "" });

    const write = kubeObjectResource.write(planned, h.ctx);

    await expect(write).rejects.toThrow(DriftError);
    await expect(write).rejects.toThrow(
      'ConfigMap default/routes on context "target" changed since the plan: data differ from the plan\'s. Nothing was written',
    );
    expect(h.entries).toEqual([]);
    expect((await port.get(CONFIG))?.data).toEqual({ weight: "50" });
  });

  it("Given a create planned, When someone creates the object after the plan, Then write stops naming it and leaves theirs", async () => {
    const port = clusters().client("target");
    await port.delete(CONFIG);
    const h = stepHarness({ kubeconfig: clusters().kubeconfigPath });
    const planned = kubeObjectChange("target", configMap({ weight: "10" }), undefined);
    await port.create(configMap({ owner: "someone" }));

    await expect(kubeObjectResource.write(planned, h.ctx)).rejects.toThrow(
      'ConfigMap default/routes on context "target" changed since the plan: it was created by someone else meanwhile',
    );
    expect(h.entries).toEqual([]);
    expect((await port.get(CONFIG))?.data).toEqual({ owner: "someone" });
  });

  it("Given an update carried out, When rollback reverts it twice, Then the before-image is back and the second revert writes nothing", async () => {
    const port = clusters().client("target");
    await port.delete(CONFIG);
    const live = await port.create(configMap({ weight: "0" }));
    const h = stepHarness({ kubeconfig: clusters().kubeconfigPath });
    await kubeObjectResource.write(kubeObjectChange("target", configMap({ weight: "10" }), live), h.ctx);
    expect((await port.get(CONFIG))?.data).toEqual({ weight: "10" });

    await kubeObjectResource.revertAll(h.rollbackEntries(), h.ctx);
    const restored = await port.get(CONFIG);
    await kubeObjectResource.revertAll(h.rollbackEntries(), h.ctx);

    expect(imageOf(restored!).data).toEqual({ weight: "0" });
    expect((await port.get(CONFIG))?.metadata.resourceVersion).toBe(restored?.metadata.resourceVersion);
  });

  it("Given the ingress gateway planned, When someone creates its namespace after the plan, Then apply stops naming the drift and nothing is written", async () => {
    const port = clusters().client("target");
    const playbook = testPlaybook({
      target: { context: "target", ingress: { ...ASM_INGRESS, install: true } },
    });
    const h = stepHarness({
      kubeconfig: clusters().kubeconfigPath,
      playbook,
      step: "install-ingress-gateway",
      kind: "install-ingress-gateway",
    });
    const [instance] = installIngressGatewayStep.expand(playbook);
    const plan = await installIngressGatewayStep.plan(instance!, h.ctx);
    expect(plan.changes.find((c) => c.address === "Namespace asm-ingress")?.action).toBe("create");
    await port.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "asm-ingress", labels: { team: "theirs" } },
    });

    const apply = installIngressGatewayStep.apply(plan, h.ctx);

    await expect(apply).rejects.toThrow(
      'Namespace asm-ingress on context "target" changed since the plan: it was created by someone else meanwhile',
    );
    expect(h.entries).toEqual([]);
    const namespace = await port.get({ apiVersion: "v1", kind: "Namespace", name: "asm-ingress" });
    expect(namespace?.metadata.labels?.["team"]).toBe("theirs");
    expect(namespace?.metadata.labels?.["istio.io/rev"]).toBeUndefined();
    expect(
      await port.get({
        apiVersion: "v1",
        kind: "ServiceAccount",
        namespace: "asm-ingress",
        name: "asm-ingressgateway",
      }),
    ).toBeUndefined();
  });
});
