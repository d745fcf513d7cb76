import { describe, expect, it } from "vitest";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import {
  ingressGatewayManifests,
  installIngressGatewayStep,
} from "../../src/steps/install-ingress-gateway/index.js";
import { withoutServerMetadata } from "../../src/providers/kubernetes/metadata.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { ASM_INGRESS, playbookDocument } from "../support/step-harness.js";
import { RunHarness } from "../support/harness.js";
import { GATEWAY_CREATES, GATEWAY_PLAN } from "./support/gateway.js";

/** The step alone, run by the engine on an in-memory journal. */
const gatewayRun = (playbook: Record<string, unknown>, kubeconfig: string) =>
  new RunHarness([installIngressGatewayStep], playbook, { kubeconfig });

/** A target that exists already (no provisioning): the gateway goes into the cluster behind context `target`. */
function existingTarget(ingress: Record<string, unknown> = ASM_INGRESS) {
  return playbookDocument("to-existing", {
    source: { context: "source" },
    target: { context: "target", ingress: { ...ingress, install: true } },
  });
}

const SERVICE: ObjectRef = {
  apiVersion: "v1",
  kind: "Service",
  namespace: "asm-ingress",
  name: "asm-ingressgateway",
};
const GATEWAY: ObjectRef = {
  apiVersion: "networking.istio.io/v1",
  kind: "Gateway",
  namespace: "asm-ingress",
  name: "asm-ingressgateway",
};
const namespaceRef = (name: string): ObjectRef => ({ apiVersion: "v1", kind: "Namespace", name });
const gone = (object: KubeObject | undefined) => (object === undefined ? true : undefined);

describe.each(SUBSTRATES)("install-ingress-gateway into an existing target on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source", "target"], readyDelayMs: 20 });
  // A rollout of three gateway replicas and a namespace deletion are waited for: slower on a real control plane.
  const slow = substrate === "sandbox" ? 60_000 : 300_000;
  let installed: RunHarness;

  it("Given a target serving Istio, When the gateway is planned, Then every object is a create at Istio's newest version and the rollout and address are waited for", async () => {
    const [plan] = await gatewayRun(existingTarget(), clusters().kubeconfigPath).plan();

    expect(plan!.changes.map((c) => `${c.action} ${c.address}`)).toEqual(GATEWAY_PLAN);
    const gateway = plan!.changes.find((c) => c.address.startsWith("Gateway")) as {
      after: { apiVersion: string };
    };
    expect(gateway.after.apiVersion).toBe("networking.istio.io/v1");
  });

  it(
    "Given the plan, When the gateway is applied, Then the address is waited for, the objects are as generated and a re-plan is a no-op",
    async () => {
      const run = gatewayRun(existingTarget(), clusters().kubeconfigPath);
      installed = run;

      const { verifications } = await run.apply();

      expect(verifications[0]).toMatchObject({
        outcome: "passed",
        detail: expect.stringMatching(/^external address \S+$/) as unknown,
      });
      expect(
        run.lines.some((e) =>
          e.startsWith("info ingress gateway Service asm-ingress/asm-ingressgateway answers at "),
        ),
      ).toBe(true);
      expect((await run.entries()).map((e) => `${e.action} ${e.address}`)).toEqual(GATEWAY_CREATES);
      const target = clusters().client("target");
      expect((await target.get(GATEWAY))?.spec).toEqual({
        selector: { app: "asm-ingressgateway", asm: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      });
      const namespace = await target.get(namespaceRef("asm-ingress"));
      expect(namespace?.metadata.labels?.["istio.io/rev"]).toBe("asm-managed");

      const [again] = await gatewayRun(existingTarget(), clusters().kubeconfigPath).plan();
      expect(again!.changes.map((c) => c.action)).toEqual(Array(7).fill("no-op"));
    },
    slow,
  );

  it(
    "Given the installed gateway, When rolled back twice, Then everything it created is gone",
    async () => {
      // The second time from the same before-images, as after a rollback killed before its reverts were journaled.
      await installed.rollbackTwice();

      const target = clusters().client("target");
      await target.waitFor(namespaceRef("asm-ingress"), gone, slow - 10_000, () => undefined);
      expect(await target.get(SERVICE)).toBeUndefined();
    },
    slow,
  );

  it(
    "Given a gateway rolled back a moment ago (its namespace still terminating), When installed again, Then it waits for the old namespace to go and installs",
    async () => {
      const target = clusters().client("target");
      const first = gatewayRun(existingTarget(), clusters().kubeconfigPath);
      await first.apply();
      await first.rollback();

      const again = gatewayRun(existingTarget(), clusters().kubeconfigPath);
      const { verifications } = await again.apply();

      expect(verifications[0]).toMatchObject({ outcome: "passed" });
      expect((await target.get(namespaceRef("asm-ingress")))?.metadata.deletionTimestamp).toBeUndefined();
      await again.rollback();
      await target.waitFor(namespaceRef("asm-ingress"), gone, slow - 10_000, () => undefined);
    },
    slow,
  );

  it(
    "Given a gateway Deployment installed with Istio's default pod labels (istio: ingressgateway), When the gateway is planned, Then the plan fails naming the immutable selector and nothing is written",
    async () => {
      const target = clusters().client("target");
      const [deployment] = ingressGatewayManifests({
        namespace: "legacy",
        service: "legacy-gateway",
        gateway: { namespace: "legacy", name: "legacy-gateway" },
        revision: "asm-managed",
        istioApiVersion: "networking.istio.io/v1",
        labels: {},
      }).filter((o) => o.kind === "Deployment");
      const old = { app: "legacy-gateway", istio: "ingressgateway" };
      const spec = deployment!.spec as { template: { metadata: { labels: object } } };
      await clusters().seed("target", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "legacy" } },
        {
          ...deployment!,
          spec: {
            ...spec,
            selector: { matchLabels: old },
            template: { ...spec.template, metadata: { ...spec.template.metadata, labels: old } },
          },
        },
      ]);
      const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "legacy", name: "legacy-gateway" };
      const before = await target.get(ref);
      const ingress = { namespace: "legacy", service: "legacy-gateway", gateway: "legacy/legacy-gateway" };

      await expect(gatewayRun(existingTarget(ingress), clusters().kubeconfigPath).plan()).rejects.toThrow(
        'cannot install the ingress gateway on context "target": Deployment legacy/legacy-gateway exists with a ' +
          "different spec.selector, which the API server lets no update change; delete it first",
      );
      // Controllers write its status meanwhile; its generation counts the writes to its spec.
      const after = await target.get(ref);
      expect(after?.metadata.generation).toBe(before?.metadata.generation);
      expect((after?.spec as { selector: unknown }).selector).toEqual({ matchLabels: old });
      // The API server agrees: the update is refused.
      await expect(target.apply(deployment!)).rejects.toMatchObject({ status: 422 });
    },
    slow,
  );

  it(
    "Given a gateway namespace someone else made, When the gateway is installed and rolled back, Then the namespace comes back exactly and is kept",
    async () => {
      const target = clusters().client("target");
      await clusters().seed("target", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "edge", labels: { team: "edge" } } },
      ]);
      const before = (await target.get(namespaceRef("edge"))) as KubeObject;
      const ingress = { namespace: "edge", service: "edge-gateway", gateway: "edge/edge-gateway" };
      const run = gatewayRun(existingTarget(ingress), clusters().kubeconfigPath);

      const { verifications } = await run.apply();
      expect(verifications[0]).toMatchObject({ outcome: "passed" });
      expect((await run.entries())[0]).toMatchObject({ action: "update", address: "Namespace edge" });
      expect((await target.get(namespaceRef("edge")))?.metadata.labels).toMatchObject({
        team: "edge",
        "istio.io/rev": "asm-managed",
      });

      await run.rollback();
      const after = (await target.get(namespaceRef("edge"))) as KubeObject;
      expect(withoutServerMetadata(after)).toEqual(withoutServerMetadata(before));
      expect(
        await target.get({
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: "edge",
          name: "edge-gateway",
        }),
      ).toBeUndefined();
    },
    slow,
  );
});
