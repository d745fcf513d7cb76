import { beforeAll, describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { SUBSTRATES, useClusters, type TestClusters } from "../support/clusters.js";
import { namespaceObject } from "../support/sandbox.js";
import { ASM_INGRESS, stepHarness, testPlaybook } from "../support/step-harness.js";
import { planLines } from "./fixtures.js";

const SHOP = "labels-shop";
const GATEWAY_NAMESPACE = "labels-edge";

/** A provisioned sandbox target with a managed mesh of revision `asm-managed`. */
const PROVISION = {
  provider: "sandbox",
  name: "target",
  mesh: { management: "automatic", revision: "asm-managed" },
} as const;

async function plan(
  clusters: TestClusters,
  playbook: Playbook,
): Promise<{ plan: StepPlan; lines: string[]; progress: string[]; namespace: KubeObject }> {
  const h = stepHarness({ kubeconfig: clusters.kubeconfigPath, playbook });
  const [instance] = mirrorWorkloadsStep.expand(playbook);
  const planned = await mirrorWorkloadsStep.plan(instance!, h.ctx);
  const change = planned.changes.find((c) => c.address === `Namespace ${SHOP}`);
  return {
    plan: planned,
    lines: planLines(planned.changes.filter((c) => !c.address.includes("/"))),
    progress: h.progress.lines,
    namespace: (change && "after" in change ? change.after : undefined) as KubeObject,
  };
}

/** Lines of the plan that write nothing and name no object: what it defaults and warns about. */
const notes = (lines: string[]) =>
  lines.filter((l) => !l.startsWith("+ Namespace") && !l.startsWith("~ Namespace"));

describe.each(SUBSTRATES)("mirror-workloads and the namespaces' injection labels on %s", (substrate) => {
  const clusters = useClusters(substrate);

  beforeAll(async () => {
    await clusters().seed("source", [
      namespaceObject(SHOP, { "istio-injection": "enabled", team: "shop" }),
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: SHOP },
        data: { a: "b" },
      },
    ]);
    await clusters().seed("target", [namespaceObject(GATEWAY_NAMESPACE, { "istio.io/rev": "asm-managed" })]);
  }, 120_000);

  it("Given a provisioned mesh and no namespaceLabels, When planned, Then the namespace gets the mesh's revision label without istio-injection, and the plan shows the default", async () => {
    const { lines, namespace, progress } = await plan(
      clusters(),
      testPlaybook({
        target: { context: "target", provision: PROVISION, ingress: { ...ASM_INGRESS, install: true } },
        workloads: { namespaces: [SHOP] },
      }),
    );

    expect(namespace.metadata.labels).toEqual({ team: "shop", "istio.io/rev": "asm-managed" });
    expect(notes(lines)).toEqual([
      "= default workloads.namespaceLabels (istio.io/rev=asm-managed (target.provision.mesh is set); " +
        "istio-injection is removed from the mirrored namespaces)",
    ]);
    expect(progress.filter((l) => l.startsWith("warn"))).toEqual([]);
  });

  it("Given namespaceLabels given explicitly with a provisioned mesh, When planned, Then they are used and no default is shown", async () => {
    const { lines, namespace } = await plan(
      clusters(),
      testPlaybook({
        target: { context: "target", provision: PROVISION },
        workloads: { namespaces: [SHOP], namespaceLabels: { "istio.io/rev": "asm-managed-rapid" } },
      }),
    );

    expect(namespace.metadata.labels).toEqual({ team: "shop", "istio.io/rev": "asm-managed-rapid" });
    expect(notes(lines)).toEqual([]);
  });

  it("Given a namespace injected by istio-injection and a gateway installed with istio.io/rev, When planned without a mesh to provision, Then the plan and the progress warn about the two schemes", async () => {
    const { lines, progress, namespace } = await plan(
      clusters(),
      testPlaybook({
        target: { context: "target", ingress: { ...ASM_INGRESS, install: true } },
        workloads: { namespaces: [SHOP] },
      }),
    );

    expect(namespace.metadata.labels).toEqual({ team: "shop", "istio-injection": "enabled" });
    await expect(notes(lines).join("\n") + "\n").toMatchFileSnapshot("__golden__/injection-warning.plan.txt");
    expect(progress.filter((l) => l.startsWith("warn"))).toEqual([
      `warn warning: Namespace ${SHOP}: mirrored with istio-injection=enabled, but the target gateway's namespace ` +
        "asm-ingress uses istio.io/rev=asm-managed: its pods may start without the sidecar of the gateway's " +
        "control plane; set workloads.namespaceLabels (istio.io/rev: asm-managed)",
    ]);
  });

  it("Given a gateway the target already has, in a namespace labelled istio.io/rev, When planned, Then the scheme is read from the target and warned about, and matching labels silence it", async () => {
    const ingress = { namespace: GATEWAY_NAMESPACE, service: "edge", gateway: `${GATEWAY_NAMESPACE}/edge` };
    const mismatched = await plan(
      clusters(),
      testPlaybook({ target: { context: "target", ingress }, workloads: { namespaces: [SHOP] } }),
    );
    expect(notes(mismatched.lines)).toEqual([
      `= warning: Namespace ${SHOP} (mirrored with istio-injection=enabled, but the target gateway's namespace ` +
        `${GATEWAY_NAMESPACE} uses istio.io/rev=asm-managed: its pods may start without the sidecar of the gateway's ` +
        "control plane; set workloads.namespaceLabels (istio.io/rev: asm-managed))",
    ]);

    const matched = await plan(
      clusters(),
      testPlaybook({
        target: { context: "target", ingress },
        workloads: { namespaces: [SHOP], namespaceLabels: { "istio.io/rev": "asm-managed" } },
      }),
    );
    expect(notes(matched.lines)).toEqual([]);
    expect(matched.progress.filter((l) => l.startsWith("warn"))).toEqual([]);
  });
});
