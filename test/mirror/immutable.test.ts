import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { immutablePaths } from "../../src/steps/mirror-workloads/immutable.js";

const live = (apiVersion: string, kind: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: "x", namespace: "shop" },
  ...extra,
});

describe("immutablePaths", () => {
  it.each<[string, KubeObject, string[], string[]]>([
    [
      "a Deployment's selector",
      live("apps/v1", "Deployment"),
      ["spec.selector", "spec.replicas"],
      ["spec.selector"],
    ],
    [
      "a StatefulSet's service name but not its replicas or template",
      live("apps/v1", "StatefulSet"),
      [
        "spec.serviceName",
        "spec.replicas",
        "spec.template.spec.containers[0].image",
        "spec.volumeClaimTemplates",
      ],
      ["spec.serviceName", "spec.volumeClaimTemplates"],
    ],
    [
      "a Service's cluster IP (headless on one side)",
      live("v1", "Service"),
      ["spec.clusterIP", "spec.ports"],
      ["spec.clusterIP"],
    ],
    [
      "a RoleBinding's role",
      live("rbac.authorization.k8s.io/v1", "RoleBinding"),
      ["roleRef", "subjects"],
      ["roleRef"],
    ],
    [
      "a claim's storage class but not a larger size",
      live("v1", "PersistentVolumeClaim"),
      ["spec.storageClassName", "spec.resources.requests.storage"],
      ["spec.storageClassName"],
    ],
    ["the data of an immutable ConfigMap", live("v1", "ConfigMap", { immutable: true }), ["data"], ["data"]],
    ["the data of a mutable ConfigMap", live("v1", "ConfigMap"), ["data"], []],
    ["labels of anything", live("apps/v1", "Deployment"), ["metadata.labels"], []],
  ])("Given %s, Then the refused paths are %j", (_, object, paths, expected) => {
    expect(immutablePaths(object, paths)).toEqual(expected);
  });
});
