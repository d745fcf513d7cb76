import { describe, expect, it } from "vitest";
import { planDrift } from "../../src/engine/drift.js";
import { KNOWN_AFTER_APPLY, type ChangeEntry, type StepPlan } from "../../src/engine/types.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { imageOf } from "../../src/steps/expose-target/istio.js";
import { shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import { SUBSTRATES } from "../support/clusters.js";
import { sleep } from "../support/wait.js";
import { goldenPath, toStoredYaml } from "./fixtures.js";
import {
  Driver,
  failVirtualServiceUpdates,
  ingressAddress,
  ingressService,
  LOAD_BALANCER_ADDRESS,
  names,
  namespace,
  normalizeAddress,
  seed,
  seedFixture,
  seedSourceService,
  seedTargetIngress,
  stored,
  targetIngressObjects,
  trafficPlaybook,
  useWorld,
  vsRef,
  withoutIstio,
  type World,
} from "./world.js";

const trafficProvision = () =>
  ({ provider: "sandbox", name: "later", machineType: "e2-standard-4", nodeCount: 1 }) as const;

const SE_REF = {
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  namespace: "onlineboutique",
  name: "clustershift-frontend-remote",
};
const TARGET_VS_REF = vsRef("onlineboutique", "clustershift-frontend-ingress");

const ONLINE_BOUTIQUE = {
  gateway: "onlineboutique/frontend-gateway",
  namespace: "onlineboutique",
  service: "frontend",
  port: 80,
};

async function onlineBoutique(w: World): Promise<World> {
  await seedSourceService(w, "onlineboutique", "frontend");
  await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
  await seedFixture(w, "source", "online-boutique/frontend.yaml", "onlineboutique");
  await seedTargetIngress(w, "onlineboutique");
  await ingressAddress(w);
  return w;
}

/** Every instance planned up front, then each re-planned, checked for drift, applied and verified. */
async function runAll(driver: Driver, ids: string[]): Promise<Map<string, StepPlan>> {
  const { plans } = await driver.planAll();
  const fresh = new Map<string, StepPlan>();
  for (const id of ids) {
    const plan = await driver.plan(id);
    expect(planDrift(plans.get(id) as StepPlan, plan), id).toEqual([]);
    const applied = await driver.run(id);
    fresh.set(id, applied);
    // Accepted as planned: what the cluster stores (Istio's schemas prune unknown fields) is what was planned.
    if (applied.kind === "shift-traffic") {
      for (const change of applied.changes) {
        if (!("after" in change)) continue;
        const after = change.after as KubeObject;
        expect(
          await stored(driver.world.source, vsRef(after.metadata.namespace ?? "", after.metadata.name)),
        ).toEqual(after);
      }
    }
  }
  return fresh;
}

// A real control plane takes its time: waits, not assertions, get longer there.
const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 180_000 } as const;

describe.each(SUBSTRATES)("expose-target and shift-traffic with Istio's real CRDs on %s", (substrate) => {
  const world = useWorld(substrate);
  const timeout = TIMEOUT[substrate];

  it(
    "Given Online Boutique, When planned, Then the plan shows the ServiceEntry, the target VirtualService and every weight",
    async () => {
      const w = await onlineBoutique(world());
      const { text } = await new Driver(
        w,
        trafficPlaybook({
          ...ONLINE_BOUTIQUE,
          steps: [
            { weight: 10, pause: "2m" },
            {
              weight: 50,
              probe: { url: "http://shop.example.com/" },
              analysis: {
                prometheus: "http://127.0.0.1:9090",
                metrics: [{ name: "success-rate", query: "q", successCondition: ">= 0.99" }],
              },
            },
            { weight: 100, approval: true },
          ],
        }),
      ).planAll();
      await expect(normalizeAddress(text, await ingressAddress(w))).toMatchFileSnapshot(
        goldenPath("plan-online-boutique.txt"),
      );
    },
    timeout,
  );

  it(
    "Given Online Boutique, When exposed and shifted 10 → 50 → 100, Then the cluster accepts every object, only the frontend route's weights move, and rollback restores the source exactly",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const originalIngress = await stored(w.source, vsRef("onlineboutique", "frontend-ingress"));
      const meshVs = await stored(w.source, vsRef("onlineboutique", "frontend"));
      const address = await ingressAddress(w);
      expect(address).toMatch(LOAD_BALANCER_ADDRESS[substrate]);

      const fresh = await runAll(driver, ["expose-target"]);
      // Accepted as sent: the real schemas pruned nothing.
      const se = (await stored(w.source, SE_REF)) as KubeObject;
      const targetVs = (await stored(w.target, TARGET_VS_REF)) as KubeObject;
      const planned = fresh.get("expose-target")?.changes.flatMap((c) => ("after" in c ? [c.after] : []));
      expect(planned).toEqual([targetVs, se]);
      // Dialled at the target ingress Service's port 80, behind the target Gateway's HTTP server.
      expect((se.spec as { endpoints: unknown }).endpoints).toEqual([{ address, ports: { http: 80 } }]);
      await expect(normalizeAddress(toStoredYaml(se), address)).toMatchFileSnapshot(
        goldenPath("expose-target-serviceentry.yaml"),
      );
      await expect(toStoredYaml(targetVs)).toMatchFileSnapshot(
        goldenPath("expose-target-virtualservice.yaml"),
      );

      await runAll(driver, ["shift-traffic[1]", "shift-traffic[2]", "shift-traffic[3]"]);
      expect(driver.entries.map((e) => `${e.step} ${e.action} ${e.address}`)).toEqual([
        "expose-target create VirtualService onlineboutique/clustershift-frontend-ingress",
        "expose-target create ServiceEntry onlineboutique/clustershift-frontend-remote",
        "shift-traffic[1] update VirtualService onlineboutique/frontend-ingress",
        "shift-traffic[2] update VirtualService onlineboutique/frontend-ingress",
        "shift-traffic[3] update VirtualService onlineboutique/frontend-ingress",
      ]);
      expect(driver.entries[2]?.before).toEqual(originalIngress);
      await expect(
        toStoredYaml(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))),
      ).toMatchFileSnapshot(goldenPath("sandbox-online-boutique-frontend-ingress-100.yaml"));
      expect(await stored(w.source, vsRef("onlineboutique", "frontend"))).toEqual(meshVs);

      // Applying a weight that is in place writes nothing.
      await driver.run("shift-traffic[3]");
      expect(driver.entries).toHaveLength(5);

      await driver.rollback();
      expect(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))).toEqual(originalIngress);
      expect(await stored(w.source, SE_REF)).toBeUndefined();
      expect(await stored(w.target, TARGET_VS_REF)).toBeUndefined();
      // Again: nothing left to undo, and nothing fails.
      await driver.rollback();
      expect(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))).toEqual(originalIngress);
    },
    timeout,
  );

  it(
    "Given each weight applied, When the source VirtualService is read, Then it matches that weight's golden file",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      await runAll(driver, ["expose-target"]);
      for (const [i, weight] of [10, 50, 100].entries()) {
        await driver.run(`shift-traffic[${i + 1}]`);
        await expect(
          toStoredYaml(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))),
        ).toMatchFileSnapshot(goldenPath(`sandbox-online-boutique-frontend-ingress-${weight}.yaml`));
      }
    },
    timeout,
  );

  it(
    "Given Bookinfo's gateway VirtualService with five URI matches and reviews 80/20, When productpage is shifted, Then matches and the other VirtualServices stay as they are",
    async () => {
      const w = world();
      await seedSourceService(w, "bookinfo", "productpage");
      await seedFixture(w, "source", "bookinfo/bookinfo-gateway.yaml", "bookinfo");
      await seedFixture(w, "source", "bookinfo/virtual-service-reviews-80-20.yaml", "bookinfo");
      await seedFixture(w, "source", "bookinfo/destination-rule-all.yaml", "bookinfo");
      await seedTargetIngress(w, "bookinfo");
      await ingressAddress(w);
      const others = await stored(w.source, vsRef("bookinfo", "reviews"));
      const original = await stored(w.source, vsRef("bookinfo", "bookinfo"));
      const driver = new Driver(
        w,
        trafficPlaybook({
          gateway: "bookinfo/bookinfo-gateway",
          namespace: "bookinfo",
          service: "productpage",
          port: 9080,
          remoteHost: "productpage.target.clustershift.internal",
        }),
      );
      await runAll(driver, ["expose-target", "shift-traffic[1]"]);
      for (const [i, weight] of [10, 50, 100].entries()) {
        if (i > 0) await driver.run(`shift-traffic[${i + 1}]`);
        await expect(toStoredYaml(await stored(w.source, vsRef("bookinfo", "bookinfo")))).toMatchFileSnapshot(
          goldenPath(`sandbox-bookinfo-bookinfo-${weight}.yaml`),
        );
      }
      expect(await stored(w.source, vsRef("bookinfo", "reviews"))).toEqual(others);
      await driver.rollback();
      expect(await stored(w.source, vsRef("bookinfo", "bookinfo"))).toEqual(original);
    },
    timeout,
  );

  it(
    "Given no VirtualService routes the gateway to the service, When shifted, Then one is created, updated per weight, and deleted by rollback",
    async () => {
      const w = world();
      await seedSourceService(w, "onlineboutique", "frontend");
      await seedTargetIngress(w, "onlineboutique");
      await ingressAddress(w);
      const driver = new Driver(w, trafficPlaybook({ ...ONLINE_BOUTIQUE, hosts: ["shop.example.com"] }));
      const { plans, text } = await driver.planAll();
      expect(text).toContain(
        "+ [source] VirtualService onlineboutique/clustershift-frontend-split  new, on onlineboutique/frontend-gateway: frontend 90, target 10",
      );
      expect(text).toContain(
        "~ [source] VirtualService onlineboutique/clustershift-frontend-split  frontend 90→50, target 10→50",
      );
      expect(plans.get("shift-traffic[2]")?.changes[0]).toMatchObject({ action: "update" });
      await runAll(driver, ["expose-target", "shift-traffic[1]", "shift-traffic[2]", "shift-traffic[3]"]);
      await expect(
        toStoredYaml(await stored(w.source, vsRef("onlineboutique", "clustershift-frontend-split"))),
      ).toMatchFileSnapshot(goldenPath("sandbox-created-split-100.yaml"));
      await driver.rollback();
      expect(await names(w.source, "networking.istio.io/v1", "VirtualService")).toEqual([]);
      expect(await names(w.target, "networking.istio.io/v1", "VirtualService")).toEqual([]);
    },
    timeout,
  );

  it(
    "Given a ServiceEntry and target VirtualService of those names that someone else made, When exposed, Then each holds exactly what was planned, and rollback restores theirs",
    async () => {
      const w = await onlineBoutique(world());
      const theirs = {
        se: {
          apiVersion: "networking.istio.io/v1",
          kind: "ServiceEntry",
          metadata: { name: SE_REF.name, namespace: "onlineboutique" },
          spec: {
            hosts: ["frontend.target.clustershift.internal"],
            exportTo: ["."],
            location: "MESH_EXTERNAL",
            ports: [{ number: 8080, name: "http-alt", protocol: "HTTP" }],
            resolution: "DNS",
            endpoints: [{ address: "old-ingress.example.com" }],
          },
        },
        vs: {
          apiVersion: "networking.istio.io/v1",
          kind: "VirtualService",
          metadata: { name: TARGET_VS_REF.name, namespace: "onlineboutique" },
          spec: {
            hosts: ["frontend.target.clustershift.internal"],
            exportTo: ["."],
            gateways: ["asm-ingress/asm-ingressgateway"],
            http: [{ route: [{ destination: { host: "old-frontend" } }] }],
          },
        },
      };
      await seed(w, "source", [theirs.se]);
      await seed(w, "target", [theirs.vs]);
      const before = {
        se: await stored(w.source, SE_REF),
        vs: await stored(w.target, TARGET_VS_REF),
      };
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const fresh = await runAll(driver, ["expose-target"]);
      const planned = fresh.get("expose-target")?.changes.flatMap((c) => ("after" in c ? [c.after] : []));
      expect(fresh.get("expose-target")?.changes.map((c) => c.action)).toEqual(["update", "update"]);
      // Exactly what was planned: nothing of theirs (exportTo) is left in the objects clustershift now owns.
      expect([await stored(w.target, TARGET_VS_REF), await stored(w.source, SE_REF)]).toEqual(planned);
      await driver.rollback();
      expect(await stored(w.source, SE_REF)).toEqual(before.se);
      expect(await stored(w.target, TARGET_VS_REF)).toEqual(before.vs);
    },
    timeout,
  );

  it(
    "Given the target ingress Service does not exist yet, When planned and applied, Then the plan waits for its address and apply waits with progress",
    async () => {
      const w = world();
      await seedSourceService(w, "onlineboutique", "frontend");
      await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
      await namespace(w, "target", "asm-ingress");
      await namespace(w, "target", "onlineboutique");
      // The target Gateway is there (its HTTP port is read at plan time); its load balancer is not, yet.
      await seed(
        w,
        "target",
        targetIngressObjects().filter((o) => o.kind === "Gateway"),
      );
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const { plans } = await driver.planAll();
      const approved = plans.get("expose-target") as StepPlan;
      expect(approved.changes[0]).toEqual({
        action: "wait",
        address: "external address Service asm-ingress/asm-ingressgateway",
        context: "target",
        detail: "LoadBalancer IP or host name of the target ingress gateway (target), up to 10m",
      });
      expect(approved.changes[2]).toMatchObject({
        after: { spec: { endpoints: [{ address: KNOWN_AFTER_APPLY }] } },
      });
      const fresh = await driver.plan("expose-target");
      expect(planDrift(approved, fresh)).toEqual([]);
      // The Service appears while apply waits for it.
      const created = sleep(200).then(() => seed(w, "target", [ingressService()]));
      await driver.run("expose-target");
      await created;
      expect(driver.lines).toContain(
        "wait external address Service asm-ingress/asm-ingressgateway: waiting for the load balancer's external address",
      );
      expect(
        driver.lines.some((l) =>
          l.startsWith("wait external address Service asm-ingress/asm-ingressgateway: waiting for Service"),
        ),
      ).toBe(true);
      expect(
        ((await stored(w.source, SE_REF))?.spec as { endpoints: { address: string }[] }).endpoints[0]
          ?.address,
      ).toMatch(LOAD_BALANCER_ADDRESS[substrate]);
    },
    timeout,
  );

  it(
    "Given a write that fails after its journal entry, When rolled back, Then the entry for a write that never happened is harmless",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const original = await stored(w.source, vsRef("onlineboutique", "frontend-ingress"));
      await runAll(driver, ["expose-target"]);
      const allowUpdates = await failVirtualServiceUpdates(w);
      try {
        await expect(driver.run("shift-traffic[1]")).rejects.toThrow();
      } finally {
        await allowUpdates();
      }
      expect(driver.entries.at(-1)).toMatchObject({
        action: "update",
        address: "VirtualService onlineboutique/frontend-ingress",
      });
      expect(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))).toEqual(original);
      await driver.rollback();
      expect(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))).toEqual(original);
      expect(await stored(w.source, SE_REF)).toBeUndefined();
    },
    timeout,
  );

  it(
    "Given someone edits the VirtualService after the plan was approved, When a later weight is re-planned, Then the drift shows",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const { plans } = await driver.planAll();
      await driver.run("expose-target");
      await driver.run("shift-traffic[1]");
      const vs = (await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))) as KubeObject;
      const spec = vs.spec as { http: Record<string, unknown>[] };
      await seed(w, "source", [{ ...vs, spec: { ...spec, http: [{ ...spec.http[0], timeout: "3s" }] } }]);
      expect(
        planDrift(plans.get("shift-traffic[2]") as StepPlan, await driver.plan("shift-traffic[2]")),
      ).toEqual(["~ VirtualService onlineboutique/frontend-ingress: update differs from the approved plan"]);
    },
    timeout,
  );

  it(
    "Given someone edits the VirtualService between plan and apply, When applied, Then nothing is written",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const plan = await driver.plan("shift-traffic[1]");
      const vs = imageOf((await w.source.get(vsRef("onlineboutique", "frontend-ingress"))) as KubeObject);
      await seed(w, "source", [
        {
          ...vs,
          metadata: { name: "frontend-ingress", namespace: "onlineboutique" },
          spec: { ...(vs.spec as object), hosts: ["shop.example.com"] },
        },
      ]);
      await expect(
        shiftTrafficStep.apply(plan, driver.ctx("shift-traffic[1]", "shift-traffic")),
      ).rejects.toThrow(
        "VirtualService onlineboutique/frontend-ingress was changed by someone else since it was planned; nothing was written.",
      );
      expect(driver.entries).toEqual([] as ChangeEntry[]);
    },
    timeout,
  );

  it(
    "Given a target cluster the run provisions, When planned before it exists, Then its values are known after apply",
    async () => {
      const w = world();
      await seedSourceService(w, "onlineboutique", "frontend");
      await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
      const playbook = trafficPlaybook(ONLINE_BOUTIQUE);
      playbook.spec.target = { ...playbook.spec.target, context: "later", provision: trafficProvision() };
      const plan = await new Driver(w, playbook).plan("expose-target");
      expect(plan.changes.map((c) => [c.action, c.address])).toEqual([
        ["wait", "external address Service asm-ingress/asm-ingressgateway"],
        ["create", "VirtualService onlineboutique/clustershift-frontend-ingress"],
        ["create", "ServiceEntry onlineboutique/clustershift-frontend-remote"],
      ]);
      expect(plan.changes[1]).toMatchObject({ after: { apiVersion: KNOWN_AFTER_APPLY } });
    },
    timeout,
  );

  it(
    "Given a target cluster without Istio, When expose-target is planned, Then it says Istio is not installed there",
    async () => {
      const w = world();
      await seedSourceService(w, "onlineboutique", "frontend");
      await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
      // Istio's CRDs deleted, as `kubectl delete crd` would; installed again for the tests after this one.
      const reinstall = await withoutIstio(w, "target");
      try {
        const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
        await expect(driver.plan("expose-target")).rejects.toThrow(
          'Istio is not installed in the target cluster (context "target"): it serves no networking.istio.io API (v1, v1beta1, v1alpha3)',
        );
      } finally {
        await reinstall();
      }
    },
    // Removing and installing CRDs waits on the real server's CRD finalizer and discovery, twice.
    timeout * 4,
  );
});
