import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { compareForApply, priorityRuns } from "../../src/steps/mirror-workloads/kinds.js";

const o = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: namespace ? { name, namespace } : { name },
});

describe("apply order", () => {
  it("Given objects of every kind, When sorted, Then they follow the restore priorities with Istio last", () => {
    const objects = [
      o("networking.istio.io/v1", "VirtualService", "web", "shop"),
      o("policy/v1", "PodDisruptionBudget", "web", "shop"),
      o("networking.k8s.io/v1", "NetworkPolicy", "deny", "shop"),
      o("apps/v1", "Deployment", "web", "shop"),
      o("v1", "Service", "web", "shop"),
      o("rbac.authorization.k8s.io/v1", "RoleBinding", "rb", "shop"),
      o("v1", "PersistentVolumeClaim", "data", "shop"),
      o("v1", "ConfigMap", "cfg", "shop"),
      o("v1", "Secret", "s", "shop"),
      o("v1", "ServiceAccount", "web", "shop"),
      o("v1", "Namespace", "shop"),
      o("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.com"),
      o("autoscaling/v2", "HorizontalPodAutoscaler", "web", "shop"),
      o("security.istio.io/v1", "AuthorizationPolicy", "allow", "shop"),
    ];
    expect(objects.sort(compareForApply).map((x) => x.kind)).toEqual([
      "CustomResourceDefinition",
      "Namespace",
      "ServiceAccount",
      "Secret",
      "ConfigMap",
      "PersistentVolumeClaim",
      "RoleBinding",
      "Service",
      "Deployment",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "AuthorizationPolicy",
      "VirtualService",
    ]);
  });

  it("Given sorted objects, When split into runs, Then each run holds one priority", () => {
    const rbac = "rbac.authorization.k8s.io/v1";
    const objects = [
      o("v1", "Namespace", "a"),
      o("v1", "Namespace", "b"),
      o(rbac, "Role", "r", "a"),
      o(rbac, "RoleBinding", "rb", "a"),
      o("v1", "Service", "s", "a"),
    ];
    expect(priorityRuns(objects, (x) => x).map((run) => run.map((x) => x.kind))).toEqual([
      ["Namespace", "Namespace"],
      ["Role", "RoleBinding"],
      ["Service"],
    ]);
  });
});
