import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { skipReason, strip } from "../../src/steps/mirror-workloads/strip.js";

const meta = {
  uid: "1d3e",
  resourceVersion: "42",
  generation: 3,
  creationTimestamp: "2024-05-01T10:00:00Z",
  managedFields: [{ manager: "kubectl" }],
  selfLink: "/x",
  ownerReferences: [{ kind: "Foo", name: "bar", uid: "u" }],
  finalizers: ["kubernetes.io/pvc-protection"],
};

describe("strip", () => {
  it.each<[string, KubeObject, KubeObject]>([
    [
      "server metadata, status and the last-applied and revision annotations",
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
          name: "web",
          namespace: "shop",
          ...meta,
          labels: { app: "web" },
          annotations: {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "deployment.kubernetes.io/revision": "4",
          },
        },
        spec: { replicas: 2 },
        status: { replicas: 2 },
      },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "shop", labels: { app: "web" } },
        spec: { replicas: 2 },
      },
    ],
    [
      "a Service's allocated cluster IPs, node ports and health check port",
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "shop", annotations: { team: "a" } },
        spec: {
          type: "LoadBalancer",
          clusterIP: "10.0.0.7",
          clusterIPs: ["10.0.0.7"],
          healthCheckNodePort: 31000,
          ports: [{ port: 80, nodePort: 30080 }],
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "shop", annotations: { team: "a" } },
        spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
      },
    ],
    [
      "nothing of a headless Service's clusterIP None",
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "db", namespace: "shop" },
        spec: { clusterIP: "None", clusterIPs: ["None"] },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "db", namespace: "shop" },
        spec: { clusterIP: "None", clusterIPs: ["None"] },
      },
    ],
    [
      "a Namespace's finalizers spec and automatic name label",
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
    ],
    [
      "a claim's binding to a source volume",
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          name: "data",
          namespace: "shop",
          annotations: { "pv.kubernetes.io/bind-completed": "yes" },
        },
        spec: { volumeName: "pvc-123", resources: { requests: { storage: "1Gi" } } },
      },
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data", namespace: "shop" },
        spec: { resources: { requests: { storage: "1Gi" } } },
      },
    ],
    [
      "a ServiceAccount's token secret references",
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "web", namespace: "shop" },
        secrets: [{ name: "web-token-abcde" }],
        imagePullSecrets: [{ name: "registry" }],
      },
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "web", namespace: "shop" },
        imagePullSecrets: [{ name: "registry" }],
      },
    ],
    [
      "a Job's generated selector and controller labels",
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "migrate", namespace: "shop" },
        spec: {
          selector: { matchLabels: { "controller-uid": "u1" } },
          template: { metadata: { labels: { "controller-uid": "u1", "job-name": "migrate", app: "m" } } },
        },
      },
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "migrate", namespace: "shop" },
        spec: { template: { metadata: { labels: { app: "m" } } } },
      },
    ],
  ])("Given an object with %s, When stripped, Then only what a user wrote is left", (_, input, expected) => {
    const before = structuredClone(input);
    expect(strip(input)).toEqual(expected);
    expect(input).toEqual(before);
  });
});

describe("skipReason", () => {
  const obj = (kind: string, name: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "v1",
    kind,
    metadata: { name, namespace: "shop" },
    ...extra,
  });
  it.each<[KubeObject, string | undefined]>([
    [obj("Pod", "web-1"), "made by a controller"],
    [obj("Endpoints", "web"), "made by a controller"],
    [obj("EndpointSlice", "web-x"), "made by a controller"],
    [obj("Event", "e"), "made by a controller"],
    [
      {
        ...obj("ReplicaSet", "web-5d"),
        metadata: { name: "web-5d", ownerReferences: [{ kind: "Deployment", controller: true }] },
      },
      "owned by Deployment",
    ],
    [obj("ReplicaSet", "standalone"), undefined],
    [
      {
        ...obj("Job", "j"),
        metadata: { name: "j", ownerReferences: [{ kind: "CronJob", controller: true }] },
      },
      "owned by CronJob",
    ],
    [obj("Secret", "web-token", { type: "kubernetes.io/service-account-token" }), "service account token"],
    [obj("Secret", "db", { type: "Opaque" }), undefined],
    [obj("ConfigMap", "kube-root-ca.crt"), "published by the control plane"],
    [obj("ConfigMap", "istio-ca-root-cert"), "published by the control plane"],
    [obj("ConfigMap", "settings"), undefined],
    [obj("ServiceAccount", "default"), "made with the namespace"],
    [obj("ServiceAccount", "web"), undefined],
    [
      { ...obj("Service", "kubernetes"), metadata: { name: "kubernetes", namespace: "default" } },
      "the API server's own",
    ],
  ])("Given %j, Then the skip reason is %s", (object, reason) => {
    expect(skipReason(object)).toBe(reason);
  });

  const slice = (manager?: string): KubeObject => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "db-x",
      namespace: "shop",
      labels: {
        "kubernetes.io/service-name": "db",
        ...(manager ? { "endpointslice.kubernetes.io/managed-by": manager } : {}),
      },
    },
  });
  it.each<[string, KubeObject, string | undefined]>([
    ["the Endpoints of a Service without a selector (a user's)", obj("Endpoints", "db"), undefined],
    ["the Endpoints of a Service with a selector", obj("Endpoints", "web"), "made by a controller"],
    [
      "Endpoints the endpoints controller labels as its own",
      {
        ...obj("Endpoints", "db"),
        metadata: { name: "db", labels: { "endpoints.kubernetes.io/managed-by": "endpoint-controller" } },
      },
      "made by a controller",
    ],
    [
      "a slice of the EndpointSlice controller",
      slice("endpointslice-controller.k8s.io"),
      "made by a controller",
    ],
    [
      "a slice the mirroring controller made of Endpoints",
      slice("endpointslicemirroring-controller.k8s.io"),
      "made by a controller",
    ],
    ["a slice of another manager (a user's)", slice("staff"), undefined],
  ])("Given %s, When Services db has no selector, Then the skip reason is %s", (_, object, reason) => {
    expect(skipReason(object, new Set(["db"]))).toBe(reason);
  });
});
