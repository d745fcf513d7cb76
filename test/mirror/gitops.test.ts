import { beforeAll, describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/engine/types.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { gitOpsObject, managementOf, withoutGitOpsMarks } from "../../src/steps/mirror-workloads/managed.js";
import { SUBSTRATES, useClusters, type TestClusters } from "../support/clusters.js";
import { namespaceObject } from "../support/sandbox.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { eventually } from "../support/wait.js";
import { planLines } from "./fixtures.js";

const NS = "gitops-shop";
const FLUX_KUSTOMIZATION = {
  "kustomize.toolkit.fluxcd.io/name": "apps",
  "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
};
const HELM_MARKS = {
  labels: { "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "frontend" },
  annotations: { "meta.helm.sh/release-name": "frontend", "meta.helm.sh/release-namespace": NS },
};

const configMap = (name: string, metadata: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: NS, ...metadata },
  data: { key: name },
});

/** What `helm install frontend` leaves: a Helm-marked object and the release's revision Secret. */
const helmRelease: KubeObject[] = [
  configMap("frontend-config", HELM_MARKS),
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sh.helm.release.v1.frontend.v1",
      namespace: NS,
      labels: { owner: "helm", name: "frontend", status: "deployed", version: "1" },
    },
    type: "helm.sh/release.v1",
    data: { release: Buffer.from("H4sIAAAAAAAA/release-payload").toString("base64") },
  },
];

/** Flux's Kustomization CRD, as far as a server needs it to store one (the real one has a full schema). */
const kustomizationCrd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "kustomizations.kustomize.toolkit.fluxcd.io" },
  spec: {
    group: "kustomize.toolkit.fluxcd.io",
    names: {
      kind: "Kustomization",
      listKind: "KustomizationList",
      plural: "kustomizations",
      singular: "kustomization",
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    ],
  },
};

describe("managementOf", () => {
  it("Given the marks each tool leaves, When read, Then the tool and its unit are named, Flux before Helm", () => {
    expect(
      managementOf(
        configMap("a", {
          annotations: { "argocd.argoproj.io/tracking-id": "shop:/ConfigMap:gitops-shop/a" },
        }),
      ),
    ).toEqual({ tool: "Argo CD", owner: "application shop" });
    expect(managementOf(configMap("b", { labels: { "argocd.argoproj.io/instance": "shop" } }))).toEqual({
      tool: "Argo CD",
      owner: "application shop",
    });
    expect(managementOf(configMap("c", { labels: FLUX_KUSTOMIZATION }))).toEqual({
      tool: "Flux",
      owner: "kustomization flux-system/apps",
    });
    expect(
      managementOf(
        configMap("d", {
          labels: {
            ...HELM_MARKS.labels,
            "helm.toolkit.fluxcd.io/name": "web",
            "helm.toolkit.fluxcd.io/namespace": NS,
          },
        }),
      ),
    ).toEqual({ tool: "Flux", owner: `helmrelease ${NS}/web` });
    expect(managementOf(helmRelease[0]!)).toEqual({ tool: "Helm", owner: `release ${NS}/frontend` });
    expect(managementOf(helmRelease[1]!)).toEqual({ tool: "Helm", owner: `release ${NS}/frontend` });
  });

  it("Given only app.kubernetes.io/instance (Argo CD's default label tracking, set by charts and kustomize too), When read, Then no tool is claimed", () => {
    expect(
      managementOf(configMap("e", { labels: { "app.kubernetes.io/instance": "shop" } })),
    ).toBeUndefined();
  });

  it("Given a Flux Kustomization and an Argo CD Application, When asked, Then they are the tools' own objects", () => {
    expect(
      gitOpsObject({
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "a" },
      }),
    ).toBe("Flux");
    expect(
      gitOpsObject({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: "a" } }),
    ).toBe("Argo CD");
    expect(gitOpsObject(configMap("f"))).toBeUndefined();
  });

  it("Given an object with Argo CD, Flux and Helm marks, When the GitOps marks are stripped, Then Helm's and the user's stay", () => {
    const object = configMap("g", {
      labels: {
        ...FLUX_KUSTOMIZATION,
        "argocd.argoproj.io/instance": "shop",
        ...HELM_MARKS.labels,
        team: "a",
      },
      annotations: { "argocd.argoproj.io/tracking-id": "shop:/ConfigMap:x/g", ...HELM_MARKS.annotations },
    });
    expect(withoutGitOpsMarks(object).metadata).toEqual({
      name: "g",
      namespace: NS,
      labels: { ...HELM_MARKS.labels, team: "a" },
      annotations: HELM_MARKS.annotations,
    });
    expect(withoutGitOpsMarks(configMap("h", { labels: FLUX_KUSTOMIZATION })).metadata).toEqual({
      name: "h",
      namespace: NS,
    });
  });
});

describe.each(SUBSTRATES)(
  "mirror-workloads and objects deployed by Argo CD, Flux and Helm on %s",
  (substrate) => {
    const clusters = useClusters(substrate, { istio: false });

    beforeAll(async () => {
      for (const context of ["source", "target"]) await clusters().seed(context, [kustomizationCrd]);
      const source = clusters().client("source");
      await eventually(
        async () => (await source.apiResources("kustomize.toolkit.fluxcd.io/v1")).length > 0 || undefined,
        60_000,
        { message: () => "the Kustomization CRD was not served within 60 s" },
      );
      await clusters().seed("source", [
        namespaceObject(NS),
        configMap("plain"),
        configMap("flux-config", { labels: { ...FLUX_KUSTOMIZATION, team: "shop" } }),
        configMap("argo-config", {
          annotations: { "argocd.argoproj.io/tracking-id": `shop:/ConfigMap:${NS}/argo-config` },
        }),
        ...helmRelease,
        {
          apiVersion: "kustomize.toolkit.fluxcd.io/v1",
          kind: "Kustomization",
          metadata: { name: "shop", namespace: NS },
          spec: {
            interval: "5m",
            path: "./shop",
            prune: true,
            sourceRef: { kind: "GitRepository", name: "apps" },
          },
        },
      ]);
    }, 180_000);

    async function plan(
      c: TestClusters,
      managed?: "mirror" | "leave",
    ): Promise<{ plan: StepPlan; lines: string[]; warnings: string[]; h: ReturnType<typeof stepHarness> }> {
      const playbook = testPlaybook({ workloads: { namespaces: [NS], ...(managed ? { managed } : {}) } });
      const h = stepHarness({ kubeconfig: c.kubeconfigPath, playbook });
      const [instance] = mirrorWorkloadsStep.expand(playbook);
      const planned = await mirrorWorkloadsStep.plan(instance!, h.ctx);
      return {
        plan: planned,
        lines: planLines(planned.changes),
        warnings: h.progress.lines.filter((l) => l.startsWith("warn")),
        h,
      };
    }

    it("Given the default (managed: mirror), When planned, Then each tool's objects are named with what happens to them, and the Kustomization is left out", async () => {
      const { lines, warnings } = await plan(clusters());

      expect(lines.filter((l) => l.startsWith("= "))).toEqual([
        "= mirror 1 object deployed by Argo CD (application shop) (copied without Argo CD's tracking marks: no Argo CD on the target deploys them until you point it there)",
        "= mirror 1 object deployed by Flux (kustomization flux-system/apps) (copied without Flux's tracking marks: no Flux on the target deploys them until you point it there)",
        `= mirror 2 objects deployed by Helm (release ${NS}/frontend) (copied with Helm's marks and the release Secrets: helm on the target sees the same release)`,
        `= leave out 1 object of the GitOps tools (1 Kustomization (Flux): copied, a target that runs the tool would deploy the app again over the mirror; create them for "target" when the tool is to manage it)`,
      ]);
      expect(lines.filter((l) => l.startsWith("+ ")).sort()).toEqual([
        `+ ConfigMap ${NS}/argo-config`,
        `+ ConfigMap ${NS}/flux-config`,
        `+ ConfigMap ${NS}/frontend-config`,
        `+ ConfigMap ${NS}/plain`,
        `+ Namespace ${NS}`,
        `+ Secret ${NS}/sh.helm.release.v1.frontend.v1`,
      ]);
      expect(warnings).toEqual([]);
    });

    it("Given the default, When applied on real kube-apiserver or the sandbox, Then the target's copies carry no Argo CD or Flux mark, keep Helm's, and the release Secret is there", async () => {
      const { plan: planned, h } = await plan(clusters());
      await mirrorWorkloadsStep.apply(planned, h.ctx);

      const target = clusters().client("target");
      const get = (kind: string, name: string) => target.get({ apiVersion: "v1", kind, namespace: NS, name });
      expect((await get("ConfigMap", "flux-config"))?.metadata.labels).toEqual({ team: "shop" });
      expect((await get("ConfigMap", "argo-config"))?.metadata.annotations).toBeUndefined();
      const helm = await get("ConfigMap", "frontend-config");
      expect(helm?.metadata.labels).toEqual(HELM_MARKS.labels);
      expect(helm?.metadata.annotations).toEqual(HELM_MARKS.annotations);
      expect((await get("Secret", "sh.helm.release.v1.frontend.v1"))?.type).toBe("helm.sh/release.v1");
      const kustomizations = await target.list("kustomize.toolkit.fluxcd.io/v1", "Kustomization", {
        namespace: NS,
      });
      expect(kustomizations).toEqual([]);

      // Planned again, the mirror is in place: the stripped copies count as unchanged.
      const again = await plan(clusters());
      expect(again.plan.changes.filter((c) => c.action === "create" || c.action === "update")).toEqual([]);
    });

    it("Given managed: leave, When planned, Then the tools' objects are left out, named, and a warning says they must reach the target first", async () => {
      const { lines, warnings } = await plan(clusters(), "leave");

      expect(lines.filter((l) => l.startsWith("= leave out") && l.includes("deployed by"))).toEqual([
        `= leave out 1 object deployed by Argo CD (application shop) (spec.workloads.managed is leave: Argo CD is to deploy them on "target")`,
        `= leave out 1 object deployed by Flux (kustomization flux-system/apps) (spec.workloads.managed is leave: Flux is to deploy them on "target")`,
        `= leave out 2 objects deployed by Helm (release ${NS}/frontend) (spec.workloads.managed is leave: Helm is to deploy them on "target")`,
      ]);
      expect(warnings).toEqual([
        `warn spec.workloads.managed is leave: 4 objects must reach "target" by their tools before traffic moves there`,
      ]);
    });
  },
);
