import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Change, StepPlan } from "../../src/engine/types.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { strip } from "../../src/steps/mirror-workloads/strip.js";
import { SUBSTRATES, useClusters, type Substrate } from "../support/clusters.js";
import { fixtureObjects } from "../support/fixtures.js";
import { namespaceObject } from "../support/sandbox.js";
import { stepHarness, testPlaybook, type StepHarness } from "../support/step-harness.js";
import { planLines, secret, SECRET_VALUE } from "./fixtures.js";
import { kubeconfigWithOnly, RecordingPort } from "./substrate.js";

const OB = "onlineboutique";
const OB_REGISTRY = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo";
const MIRROR_REGISTRY = "registry.example.com/mirror";

function workloads(spec: Record<string, unknown>): Record<string, unknown> {
  return { workloads: spec };
}

function instanceOf(h: StepHarness) {
  const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
  if (!instance) throw new Error("no mirror-workloads instance");
  return instance;
}

/** Objects a user would compare: stripped, without what the mirror changes on purpose. */
function comparable(object: KubeObject): KubeObject {
  const out = strip(object);
  const text = JSON.stringify(out).replaceAll(MIRROR_REGISTRY, OB_REGISTRY);
  return JSON.parse(text) as KubeObject;
}

const writes = (plan: StepPlan): Change[] =>
  plan.changes.filter((c) => c.action === "create" || c.action === "update");

const namespaceRef = (name: string): ObjectRef => ({ apiVersion: "v1", kind: "Namespace", name });

/** How long a test may wait for rollouts and namespace deletions: a real control plane on a busy machine is slower. */
const waits = (substrate: Substrate) => (substrate === "sandbox" ? 60_000 : 300_000);

describe.each(SUBSTRATES)("mirror-workloads on %s", (substrate) => {
  // One pair of clusters for the whole block: Online Boutique and Bookinfo live in namespaces of their own.
  const clusters = useClusters(substrate, { readyDelayMs: 50 });
  const slow = waits(substrate);

  describe("Online Boutique between two clusters", () => {
    let h: StepHarness;
    let plan: StepPlan;
    const spec = workloads({
      namespaces: [OB],
      exclude: [{ kind: "Service", name: "frontend-external" }],
      namespaceLabels: { "istio.io/rev": "asm-managed" },
      images: [{ from: OB_REGISTRY, to: MIRROR_REGISTRY }],
      rolloutTimeout: "30s",
    });

    beforeAll(async () => {
      await clusters().seed("source", [
        namespaceObject(OB, { "istio-injection": "enabled" }),
        ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", OB),
        ...fixtureObjects("online-boutique/frontend-gateway.yaml", OB),
        ...fixtureObjects("online-boutique/frontend.yaml", OB),
        secret("payment-credentials", OB),
      ]);
      h = stepHarness({ kubeconfig: clusters().kubeconfigPath, playbook: testPlaybook(spec) });
    }, slow);

    it("Given the shop on the source and an empty target, When planned, Then every object is a create, as in the golden plan", async () => {
      plan = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
      expect(plan.id).toBe("mirror-workloads");
      await expect(planLines(plan.changes).join("\n") + "\n").toMatchFileSnapshot(
        "__golden__/online-boutique.plan.txt",
      );
      expect(plan.changes.some((c) => c.address.includes("frontend-external"))).toBe(false);
      expect(plan.changes.some((c) => c.address === "ServiceAccount onlineboutique/default")).toBe(false);
    });

    it("Given the plan, Then the Secret is sensitive and its value appears in no detail or progress line", () => {
      const change = plan.changes.find((c) => c.address === "Secret onlineboutique/payment-credentials");
      expect(change).toMatchObject({ action: "create", sensitive: true });
      const visible = JSON.stringify([plan.changes.map((c) => c.detail), h.progress.lines]);
      expect(visible).not.toContain(SECRET_VALUE);
      expect(visible).not.toContain(Buffer.from(SECRET_VALUE).toString("base64"));
    });

    it(
      "Given the plan, When applied and verified, Then every write was journaled first and every rollout completed",
      async () => {
        await mirrorWorkloadsStep.apply(plan, h.ctx);
        expect(h.entries.map((e) => e.address)).toEqual(
          expect.arrayContaining(writes(plan).map((c) => c.address)),
        );
        expect(h.entries).toHaveLength(writes(plan).length);
        expect(h.applied.size).toBe(h.entries.length);
        expect(
          h.entries.find((e) => e.kind === "mirror-workloads" && e.address.startsWith("Secret"))?.sensitive,
        ).toBe(true);
        expect(h.entries[0]).toMatchObject({
          address: `Namespace ${OB}`,
          action: "create",
          target: { context: "target", apiVersion: "v1", kind: "Namespace", name: OB },
        });
        // Whether a rollout is still in progress when verify looks depends on speed; that verify waits for
        // each one does not: it is asked of the target cluster.
        const target = new RecordingPort(clusters().client("target"));
        h.ctx.clients.set("kube:target", target);
        const verification = await mirrorWorkloadsStep.verify(plan, h.ctx);
        h.ctx.clients.delete("kube:target");
        expect(verification).toEqual({
          outcome: "passed",
          detail: `${writes(plan).length} objects written, 12 rollouts complete on target`,
        });
        expect([...target.rolloutWaits].sort()).toEqual(
          plan.changes
            .filter((c) => c.action === "wait")
            .map((c) => c.address.replace(/^rollout /, ""))
            .sort(),
        );
        expect(target.rolloutWaits).toHaveLength(12);
      },
      slow,
    );

    it("Given the mirror, Then the target holds the same objects, with new images and the revision label", async () => {
      const source = clusters().client("source");
      const target = clusters().client("target");
      for (const change of writes(plan)) {
        const after =
          change.action === "create" || change.action === "update" ? (change.after as KubeObject) : undefined;
        if (!after || after.kind === "Namespace") continue;
        const ref = {
          apiVersion: after.apiVersion,
          kind: after.kind,
          namespace: OB,
          name: after.metadata.name,
        };
        expect(comparable((await target.get(ref)) as KubeObject), change.address).toEqual(
          comparable((await source.get(ref)) as KubeObject),
        );
      }
      const frontend = await target.get({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: OB,
        name: "frontend",
      });
      expect(JSON.stringify(frontend)).toContain(`${MIRROR_REGISTRY}/frontend:`);
      const namespace = await target.get(namespaceRef(OB));
      expect(namespace?.metadata.labels).toMatchObject({ "istio.io/rev": "asm-managed" });
      expect(namespace?.metadata.labels?.["istio-injection"]).toBeUndefined();
      expect(
        await target.get({ apiVersion: "v1", kind: "Service", namespace: OB, name: "frontend-external" }),
      ).toBeUndefined();
    });

    it("Given the mirror is done, When planned again, Then every object is a no-op", async () => {
      const again = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
      expect(again.changes.filter((c) => c.action !== "no-op")).toEqual([]);
      expect(again.changes).toHaveLength(writes(plan).length);
    });

    it("Given changes on the target and the source, When planned, Then updates list the changed paths and never a secret value", async () => {
      const edit: KubeObject = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "cartservice", namespace: OB, labels: { hotfix: "yes" } },
        spec: { replicas: 3 },
      };
      await clusters().seed("target", [edit], "kubectl-edit");
      await clusters().seed("source", [secret("payment-credentials", OB, "a-brand-new-secret-value")]);
      const next = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
      expect(planLines(next.changes.filter((c) => c.action !== "no-op"))).toEqual([
        "~ Secret onlineboutique/payment-credentials (data)",
        "~ Deployment onlineboutique/cartservice (spec.replicas)",
        "= rollout Deployment onlineboutique/cartservice (complete, up to 30s)",
      ]);
      expect(JSON.stringify(next.changes.map((c) => c.detail))).not.toContain("a-brand-new");
    });

    it(
      "Given the journal, When rolled back twice, Then the target is as it was before the mirror",
      async () => {
        await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
        await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
        const target = clusters().client("target");
        expect(await target.get(namespaceRef(OB))).toBeUndefined();
        expect(await target.list("apps/v1", "Deployment", { namespace: OB })).toEqual([]);
        expect(await target.list("v1", "Secret", { namespace: OB })).toEqual([]);
      },
      slow,
    );
  });

  describe("updates and exact restores", () => {
    it(
      "Given Bookinfo with Istio routing on the source and a drifted copy on the target, When mirrored and rolled back, Then the target's objects come back exactly",
      async () => {
        const target = clusters().client("target");
        const bookinfo = [
          namespaceObject("bookinfo", { "istio-injection": "enabled" }),
          ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
          ...fixtureObjects("bookinfo/destination-rule-all.yaml", "bookinfo"),
          ...fixtureObjects("bookinfo/virtual-service-all-v1.yaml", "bookinfo"),
          ...fixtureObjects("bookinfo/bookinfo-gateway.yaml", "bookinfo"),
        ];
        await clusters().seed("source", bookinfo);
        // The target already runs an older, scaled-down copy of two objects, applied by someone else.
        const ratings = bookinfo.find(
          (o) => o.kind === "Deployment" && o.metadata.name === "ratings-v1",
        ) as KubeObject;
        await clusters().seed("target", [
          namespaceObject("bookinfo", { team: "books" }),
          {
            ...ratings,
            metadata: { ...ratings.metadata, labels: { app: "ratings", owner: "ops" } },
            spec: { ...(ratings.spec as object), replicas: 0 },
          },
        ]);
        const ratingsRef = {
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: "bookinfo",
          name: "ratings-v1",
        };
        const before = (await target.get(ratingsRef)) as KubeObject;
        const nsBefore = (await target.get(namespaceRef("bookinfo"))) as KubeObject;

        const h = stepHarness({
          kubeconfig: clusters().kubeconfigPath,
          playbook: testPlaybook(workloads({ namespaces: ["bookinfo"], rolloutTimeout: "30s" })),
        });
        const plan = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
        const lines = planLines(plan.changes);
        expect(lines).toContain("~ Namespace bookinfo (metadata.labels)");
        expect(lines).toContain("~ Deployment bookinfo/ratings-v1 (metadata.labels, spec.replicas)");
        expect(lines).toContain("+ VirtualService bookinfo/reviews");
        expect(lines).toContain("+ Gateway bookinfo/bookinfo-gateway");
        expect(lines.at(-1)).toMatch(/^= rollout Deployment bookinfo\//);
        // Istio routing goes last among the writes.
        const kinds = writes(plan).map((c) =>
          c.action === "create" || c.action === "update" ? (c.after as KubeObject).kind : "",
        );
        expect(
          kinds
            .slice(-kinds.filter((k) => ["VirtualService", "DestinationRule", "Gateway"].includes(k)).length)
            .every((k) => ["VirtualService", "DestinationRule", "Gateway"].includes(k)),
        ).toBe(true);

        await mirrorWorkloadsStep.apply(plan, h.ctx);
        expect(await mirrorWorkloadsStep.verify(plan, h.ctx)).toMatchObject({ outcome: "passed" });
        const updateEntry = h.entries.find((e) => e.address === "Deployment bookinfo/ratings-v1");
        expect(updateEntry?.action).toBe("update");
        expect(strip(updateEntry?.before as KubeObject)).toEqual(strip(before));

        await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
        expect(strip((await target.get(ratingsRef)) as KubeObject)).toEqual(strip(before));
        expect(strip((await target.get(namespaceRef("bookinfo"))) as KubeObject)).toEqual(strip(nsBefore));
        expect(
          await target.list("networking.istio.io/v1", "VirtualService", { namespace: "bookinfo" }),
        ).toEqual([]);
        expect(
          (await target.list("apps/v1", "Deployment", { namespace: "bookinfo" })).map((d) => d.metadata.name),
        ).toEqual(["ratings-v1"]);
      },
      slow,
    );

    it("Given a target context that is not in the kubeconfig yet, When planned, Then every object is a create and a note says why", async () => {
      const sourceOnly = join(clusters().dir, "source-only");
      await kubeconfigWithOnly(clusters().kubeconfigPath, "source", sourceOnly);
      const h = stepHarness({
        kubeconfig: sourceOnly,
        playbook: testPlaybook(workloads({ namespaces: ["bookinfo"] })),
      });
      const plan = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
      expect(new Set(writes(plan).map((c) => c.action))).toEqual(new Set(["create"]));
      expect(h.progress.lines).toContain(
        'info context "target" is not in the kubeconfig yet: every object is planned as a create',
      );
    });

    it("Given a namespace missing on the source, When planned, Then it fails naming it and the context", async () => {
      const h = stepHarness({
        kubeconfig: clusters().kubeconfigPath,
        playbook: testPlaybook(workloads({ namespaces: ["bookinfo", "nope"] })),
      });
      await expect(mirrorWorkloadsStep.plan(instanceOf(h), h.ctx)).rejects.toThrow(
        'namespace "nope" not found on context "source"',
      );
    });

    it("Given an exclusion that matches nothing and one by label, When planned, Then the first is warned about and the second applies", async () => {
      const h = stepHarness({
        kubeconfig: clusters().kubeconfigPath,
        playbook: testPlaybook(
          workloads({
            namespaces: ["bookinfo"],
            exclude: [{ kind: "Service", name: "typo" }, { labelSelector: "app in (ratings, details)" }],
          }),
        ),
      });
      const plan = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
      expect(h.progress.lines).toContain("warn spec.workloads.exclude[0] matched nothing");
      expect(
        plan.changes.some((c) => /^(Deployment|Service) bookinfo\/(ratings|details)/.test(c.address)),
      ).toBe(false);
      expect(plan.changes.some((c) => c.address === "Deployment bookinfo/productpage-v1")).toBe(true);
    });

    it("Given an invalid label selector, When planned, Then it is a usage error at its field path", async () => {
      const h = stepHarness({
        kubeconfig: clusters().kubeconfigPath,
        playbook: testPlaybook(
          workloads({ namespaces: ["bookinfo"], exclude: [{ labelSelector: "app in ratings" }] }),
        ),
      });
      await expect(mirrorWorkloadsStep.plan(instanceOf(h), h.ctx)).rejects.toThrow(
        /^spec\.workloads\.exclude\[0\]\.labelSelector: /,
      );
    });

    it(
      "Given many namespaces, When planned, Then objects are listed cluster-wide and only the selected namespaces are planned",
      async () => {
        const names = Array.from({ length: 9 }, (_, i) => `many-${i}`);
        for (const ns of [...names, "not-selected"]) {
          await clusters().seed("source", [
            namespaceObject(ns),
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "settings", namespace: ns },
              data: { ns },
            },
          ]);
        }
        const h = stepHarness({
          kubeconfig: clusters().kubeconfigPath,
          playbook: testPlaybook(workloads({ namespaces: names })),
        });
        const source = new RecordingPort(clusters().client("source"));
        h.ctx.clients.set("kube:source", source);
        const plan = await mirrorWorkloadsStep.plan(instanceOf(h), h.ctx);
        expect(planLines(plan.changes).filter((l) => l.includes("ConfigMap"))).toEqual(
          names.map((ns) => `+ ConfigMap ${ns}/settings`),
        );
        expect(source.lists.filter((l) => l.kind === "ConfigMap")).toEqual([
          { apiVersion: "v1", kind: "ConfigMap" },
        ]);
      },
      slow,
    );

    it(
      "Given a Deployment on the target whose selector differs from the source's, When planned, Then the plan fails naming the immutable field and nothing is written",
      async () => {
        const deployment = (selector: Record<string, string>): KubeObject => ({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web", namespace: "immutable" },
          spec: {
            replicas: 1,
            selector: { matchLabels: selector },
            template: {
              metadata: { labels: { app: "web", track: "stable" } },
              spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
            },
          },
        });
        const fromSource = deployment({ app: "web", track: "stable" });
        await clusters().seed("source", [namespaceObject("immutable"), fromSource]);
        await clusters().seed("target", [namespaceObject("immutable"), deployment({ app: "web" })]);
        const target = clusters().client("target");
        const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "immutable", name: "web" };
        // Once rolled out, only a write changes its resourceVersion.
        await target.waitForRollout(ref, slow / 2, () => undefined);
        const before = await target.get(ref);

        const h = stepHarness({
          kubeconfig: clusters().kubeconfigPath,
          playbook: testPlaybook(workloads({ namespaces: ["immutable"] })),
        });
        await expect(mirrorWorkloadsStep.plan(instanceOf(h), h.ctx)).rejects.toThrow(
          'cannot mirror to context "target": Deployment immutable/web (spec.selector) differs from the source ' +
            'in fields that the API server lets no update change; delete it on "target" first, or leave it out ' +
            "with spec.workloads.exclude",
        );
        expect((await target.get(ref))?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
        // The API server agrees that such an update is refused.
        await expect(target.apply(fromSource)).rejects.toMatchObject({ status: 422 });
      },
      slow,
    );

    it("Given no workloads section, Then the step has no instance", () => {
      expect(mirrorWorkloadsStep.expand(testPlaybook())).toEqual([]);
    });
  });
});
