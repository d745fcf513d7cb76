import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Change, StepPlan } from "../../src/engine/types.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { rebindVirtualService, selectsPods } from "../../src/steps/mirror-workloads/gateways.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { analyzeFiles, describeMessages, writeManifests, type Suppression } from "../support/istioctl.js";
import { ASM_INGRESS, stepHarness, testPlaybook } from "../support/step-harness.js";
import { useTempDir } from "../support/temp.js";
import {
  BOOKINFO,
  ONLINE_BOUTIQUE,
  installedTargetIngress,
  managedInjector,
  sourceApp,
  sourceIngress,
  withPods,
} from "../istio/manifests.js";
import { planLines } from "./fixtures.js";

/** Suppressions, each with why. */
const SUPPRESS: readonly Suppression[] = [
  {
    code: "IST0173",
    resource: "DestinationRule bookinfo/ratings",
    why:
      "Bookinfo's own destination-rule-all.yaml names subsets v2-mysql and v2-mysql-vm, whose workloads the sample " +
      "does not deploy: the app's config, not the mirror's doing",
  },
];

/** Bound to the app's gateway and to the mesh: the mirror keeps the mesh binding only. */
const DETAILS_ON_GATEWAY_AND_MESH: KubeObject = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "details", namespace: "bookinfo" },
  spec: {
    hosts: ["details"],
    gateways: ["bookinfo-gateway", "mesh"],
    http: [{ route: [{ destination: { host: "details", port: { number: 9080 } } }] }],
  },
};

const NAMESPACES = [ONLINE_BOUTIQUE.namespace, BOOKINFO.namespace];

function playbook(ingress: boolean) {
  return testPlaybook({
    source: {
      context: "source",
      ...(ingress
        ? {
            ingress: {
              namespace: "istio-system",
              service: "istio-ingressgateway",
              gateway: BOOKINFO.gateway,
            },
          }
        : {}),
    },
    target: { context: "target", ingress: { ...ASM_INGRESS, install: true } },
    workloads: { namespaces: NAMESPACES, namespaceLabels: { "istio.io/rev": "asm-managed" } },
  });
}

const written = (plan: StepPlan): KubeObject[] =>
  plan.changes.flatMap((c: Change) =>
    c.action === "create" || c.action === "update" ? [c.after as KubeObject] : [],
  );

/** The target as it will be: the installed gateway, its managed injector, the mirrored objects, with Pods. */
function targetAfter(plan: StepPlan): KubeObject[] {
  return withPods([...installedTargetIngress(), managedInjector(), ...written(plan)], "10.20.0");
}

describe.each(SUBSTRATES)("mirror-workloads and the source's ingress Gateways on %s", (substrate) => {
  const clusters = useClusters(substrate);
  const dir = useTempDir("mirror-gateways");
  let plan: StepPlan;
  let lines: string[];

  beforeAll(async () => {
    await clusters().seed("source", [
      ...sourceIngress(),
      ...sourceApp(ONLINE_BOUTIQUE),
      ...sourceApp(BOOKINFO),
      DETAILS_ON_GATEWAY_AND_MESH,
    ]);
    const h = stepHarness({ kubeconfig: clusters().kubeconfigPath, playbook: playbook(true) });
    const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
    plan = await mirrorWorkloadsStep.plan(instance!, h.ctx);
    lines = planLines(plan.changes);
  }, 120_000);

  it("Given Online Boutique and Bookinfo whose Gateways select the source's istio-ingressgateway, When mirrored, Then those Gateways and the VirtualServices bound only to them are left out, in one plan line, as in the golden plan", async () => {
    expect(written(plan).filter((o) => o.kind === "Gateway")).toEqual([]);
    expect(lines.filter((l) => l.includes("source ingress gateway"))).toEqual([
      "= leave out 4 objects of the source ingress gateway (Gateway onlineboutique/frontend-gateway, " +
        "Gateway bookinfo/bookinfo-gateway, VirtualService onlineboutique/frontend-ingress, " +
        "VirtualService bookinfo/bookinfo: Gateways that select istio-system/istio-ingressgateway's " +
        "pods, and the VirtualServices bound only to them; on the target the app is served through the target " +
        "gateway asm-ingress/asm-ingressgateway)",
    ]);
    await expect(lines.join("\n") + "\n").toMatchFileSnapshot("__golden__/gateways.plan.txt");
  });

  it("Given a VirtualService bound to the app's Gateway and to the mesh, When mirrored, Then it keeps the mesh binding and the plan says which gateway went", () => {
    const details = plan.changes.find((c) => c.address === "VirtualService bookinfo/details");
    expect(details).toMatchObject({
      action: "create",
      detail: "gateways: bookinfo-gateway left out (selects the source gateway)",
      after: { spec: { gateways: ["mesh"] } },
    });
  });

  it("Given the mirrored objects with the installed target gateway, When istioctl's analyzers judge them with their Kubernetes objects, Then no error and no warning (no Gateway selecting nothing, no VirtualService bound to a missing Gateway)", async () => {
    const file = await writeManifests(join(dir(), "target.yaml"), targetAfter(plan));
    const result = await analyzeFiles([file], SUPPRESS);
    expect(describeMessages(result.problems), result.command).toEqual([]);
  });

  it("Given the same apps mirrored without source.ingress (Gateways copied as they are), When istioctl's analyzers judge the target, Then they report each Gateway selecting nothing (IST0101): the judge sees what the left-out Gateways would do", async () => {
    const h = stepHarness({ kubeconfig: clusters().kubeconfigPath, playbook: playbook(false) });
    const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
    const asIs = await mirrorWorkloadsStep.plan(instance!, h.ctx);
    const file = await writeManifests(join(dir(), "target-as-is.yaml"), targetAfter(asIs));
    const result = await analyzeFiles([file], SUPPRESS);
    expect(
      result.problems
        .filter((m) => m.code === "IST0101" && m.origin?.startsWith("Gateway"))
        .map((m) => m.origin)
        .sort(),
      result.command,
    ).toEqual(["Gateway bookinfo/bookinfo-gateway", "Gateway onlineboutique/frontend-gateway"]);
  });
});

describe("the alternative not taken: the app's Gateways re-pointed at the target gateway", () => {
  const dir = useTempDir("mirror-gateways-repointed");

  it("Given Online Boutique's Gateway and VirtualService on the target with the Gateway's selector re-pointed at the installed gateway's pods, When istioctl's analyzers judge the target, Then they report it conflicting with the target gateway's own Gateway (IST0145 ConflictingGateways, an error)", async () => {
    const app = sourceApp(ONLINE_BOUTIQUE).map((o) =>
      o.kind === "Gateway"
        ? {
            ...o,
            spec: { ...(o.spec as object), selector: { app: "asm-ingressgateway", asm: "ingressgateway" } },
          }
        : o,
    );
    const objects = withPods([...installedTargetIngress(), managedInjector(), ...app], "10.20.0");
    const file = await writeManifests(join(dir(), "repointed.yaml"), objects);
    const result = await analyzeFiles([file], SUPPRESS);
    expect(
      result.problems.filter((m) => m.code === "IST0145").map((m) => `${m.level} ${m.origin ?? ""}`),
      result.command,
    ).toEqual([
      "Error Gateway asm-ingress/asm-ingressgateway",
      "Error Gateway onlineboutique/frontend-gateway",
    ]);
  });
});

describe("rebinding VirtualServices of left-out Gateways", () => {
  const vs = (gateways?: string[]): KubeObject => ({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "web", namespace: "shop" },
    spec: { hosts: ["*"], ...(gateways ? { gateways } : {}) },
  });
  const leftOut = new Set(["shop/web-gateway", "edge/public"]);

  it.each([
    [undefined, "keep", undefined],
    [["mesh"], "keep", undefined],
    [["other-gateway"], "keep", undefined],
    [["web-gateway"], "leave-out", undefined],
    [["edge/public", "web-gateway.shop.svc.cluster.local"], "leave-out", undefined],
    [["web-gateway", "mesh"], "rebind", ["mesh"]],
    [["edge/public", "other-gateway"], "rebind", ["other-gateway"]],
  ] as const)(
    "Given gateways %j, When the left-out Gateways are dropped, Then it is %s",
    (gateways, action, kept) => {
      const result = rebindVirtualService(vs(gateways ? [...gateways] : undefined), leftOut);
      expect(result.action).toBe(action);
      if (result.action === "rebind")
        expect((result.object.spec as { gateways: string[] }).gateways).toEqual(kept);
    },
  );

  it("Given a Gateway with an empty selector, Then it is not taken for the source gateway's", () => {
    const gateway: KubeObject = {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "g", namespace: "shop" },
      spec: { selector: {} },
    };
    expect(selectsPods(gateway, { istio: "ingressgateway" })).toBe(false);
    expect(
      selectsPods(
        { ...gateway, spec: { selector: { istio: "ingressgateway" } } },
        { istio: "ingressgateway", app: "x" },
      ),
    ).toBe(true);
    expect(
      selectsPods({ ...gateway, spec: { selector: { istio: "ingressgateway" } } }, { asm: "ingressgateway" }),
    ).toBe(false);
  });
});
