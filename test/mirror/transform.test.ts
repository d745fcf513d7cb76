import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { namespaceLabels, rewriteImage, rewriteImages } from "../../src/steps/mirror-workloads/transform.js";

const rules = [
  { from: "gcr.io/google-samples", to: "us-docker.pkg.dev/my-project/mirror" },
  { from: "docker.io/istio/", to: "mirror.local/istio/" },
];

describe("rewriteImage", () => {
  it.each([
    [
      "gcr.io/google-samples/microservices-demo/frontend:v0.10.3",
      "us-docker.pkg.dev/my-project/mirror/microservices-demo/frontend:v0.10.3",
    ],
    ["gcr.io/google-samples:latest", "us-docker.pkg.dev/my-project/mirror:latest"],
    ["gcr.io/google-samples@sha256:abc", "us-docker.pkg.dev/my-project/mirror@sha256:abc"],
    ["gcr.io/google-samples-other/x:v1", "gcr.io/google-samples-other/x:v1"],
    [
      "docker.io/istio/examples-bookinfo-details-v1:1.20",
      "mirror.local/istio/examples-bookinfo-details-v1:1.20",
    ],
    ["redis:alpine", "redis:alpine"],
  ])("Given image %s, When rewritten, Then it is %s", (image, expected) => {
    expect(rewriteImage(image, rules)).toBe(expected);
  });
});

describe("rewriteImages", () => {
  const containers = () => ({
    initContainers: [{ name: "init", image: "gcr.io/google-samples/init:1" }],
    containers: [
      { name: "app", image: "gcr.io/google-samples/app:1" },
      { name: "redis", image: "redis:7" },
    ],
  });
  type Spec = { template: { spec: unknown }; jobTemplate: { spec: { template: { spec: unknown } } } };
  const specOf = (o: KubeObject): Spec => o.spec as Spec;
  it.each<[string, KubeObject, (o: KubeObject) => unknown]>([
    [
      "Deployment",
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "a" },
        spec: { template: { spec: containers() } },
      },
      (o) => specOf(o).template.spec,
    ],
    [
      "StatefulSet",
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "a" },
        spec: { template: { spec: containers() } },
      },
      (o) => specOf(o).template.spec,
    ],
    [
      "DaemonSet",
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "a" },
        spec: { template: { spec: containers() } },
      },
      (o) => specOf(o).template.spec,
    ],
    [
      "Job",
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "a" },
        spec: { template: { spec: containers() } },
      },
      (o) => specOf(o).template.spec,
    ],
    [
      "CronJob",
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "a" },
        spec: { jobTemplate: { spec: { template: { spec: containers() } } } },
      },
      (o) => specOf(o).jobTemplate.spec.template.spec,
    ],
  ])(
    "Given a %s, When its images are rewritten, Then containers and init containers move, others stay",
    (_, object, podSpec) => {
      const out = rewriteImages(object, rules);
      expect(podSpec(out)).toEqual({
        initContainers: [{ name: "init", image: "us-docker.pkg.dev/my-project/mirror/init:1" }],
        containers: [
          { name: "app", image: "us-docker.pkg.dev/my-project/mirror/app:1" },
          { name: "redis", image: "redis:7" },
        ],
      });
      expect(podSpec(object)).toEqual(containers());
    },
  );
});

describe("namespaceLabels", () => {
  it.each<[Record<string, string>, Record<string, string>, Record<string, string>]>([
    [
      { "istio-injection": "enabled", team: "a" },
      { "istio.io/rev": "asm-managed" },
      { team: "a", "istio.io/rev": "asm-managed" },
    ],
    [{ "istio-injection": "enabled" }, {}, { "istio-injection": "enabled" }],
    [{ "istio-injection": "enabled", "istio.io/rev": "1-20" }, {}, { "istio.io/rev": "1-20" }],
    [
      {},
      { "istio-injection": "enabled", "istio.io/rev": "x" },
      { "istio-injection": "enabled", "istio.io/rev": "x" },
    ],
  ])("Given labels %j and extra %j, Then the namespace gets %j", (labels, extra, expected) => {
    expect(namespaceLabels(labels, extra)).toEqual(expected);
  });
});
