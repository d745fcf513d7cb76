import { beforeAll, describe, expect, it } from "vitest";
import { liveWizardDeps } from "../../src/wizard/client.js";
import type { WizardDeps } from "../../src/wizard/deps.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { fixtureObjects } from "../support/fixtures.js";
import { namespaceObject } from "../support/sandbox.js";
import { ISTIO_INGRESS } from "./seed.js";

/**
 * What the wizard reads to offer its choices, on the sandbox and on a real kube-apiserver (the judge): the same
 * Online Boutique seed must give the same choices. Load balancer addresses are left out: a real API server
 * without a cloud controller never assigns one.
 */
describe.each(SUBSTRATES)("the wizard's reads on %s", (substrate) => {
  const clusters = useClusters(substrate);
  let deps: WizardDeps;

  beforeAll(async () => {
    const world = clusters();
    const shop = "onlineboutique";
    await world.seed("source", [
      namespaceObject(shop, { "istio-injection": "enabled" }),
      namespaceObject("istio-system"),
      ISTIO_INGRESS,
      ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", shop).filter(
        (object) => object.kind === "Service",
      ),
      ...fixtureObjects("online-boutique/frontend-gateway.yaml", shop),
      ...fixtureObjects("online-boutique/frontend.yaml", shop),
    ]);
    await world.seed("target", [namespaceObject("asm-ingress", { "istio.io/rev": "asm-managed" })]);
    deps = liveWizardDeps({ kubeconfig: world.kubeconfigPath });
  }, 120_000);

  it(`Given Online Boutique behind Istio's ingress on ${substrate}, When the wizard reads its choices, Then the namespaces, the ingress gateway, frontend-external, the Gateway and the routes are offered`, async () => {
    expect(await deps.namespaces("source")).toEqual(
      expect.arrayContaining(["default", "istio-system", "kube-system", "onlineboutique"]),
    );
    const ingress = await deps.ingressServices("source");
    expect(ingress.map(({ address: _, ...service }) => service)).toEqual([
      {
        namespace: "istio-system",
        name: "istio-ingressgateway",
        selector: { app: "istio-ingressgateway", istio: "ingressgateway" },
        ports: [80, 443],
      },
    ]);
    const exposed = await deps.exposedServices("source", ["onlineboutique"]);
    expect(exposed.map(({ address: _, ...service }) => service)).toEqual([
      { namespace: "onlineboutique", name: "frontend-external", type: "LoadBalancer", ports: [80] },
    ]);
    expect(await deps.gateways("source")).toEqual([
      {
        namespace: "onlineboutique",
        name: "frontend-gateway",
        selector: { istio: "ingressgateway" },
        hosts: ["*"],
      },
    ]);
    expect(await deps.virtualServices("source")).toEqual([
      {
        namespace: "onlineboutique",
        name: "frontend",
        gateways: [],
        hosts: ["frontend.default.svc.cluster.local"],
        destinations: [{ namespace: "onlineboutique", service: "frontend", port: 80 }],
      },
      {
        namespace: "onlineboutique",
        name: "frontend-ingress",
        gateways: ["onlineboutique/frontend-gateway"],
        hosts: ["*"],
        destinations: [{ namespace: "onlineboutique", service: "frontend", port: 80 }],
      },
    ]);
  });

  it(`Given the target gateway's namespace on ${substrate}, When its labels are read, Then its revision is there, and a namespace that does not exist reads as none`, async () => {
    expect(await deps.namespaceLabels("target", "asm-ingress")).toMatchObject({
      "istio.io/rev": "asm-managed",
    });
    expect(await deps.namespaceLabels("target", "no-such-namespace")).toBeUndefined();
  });
});
