import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/engine/errors.js";
import type { ClusterPort } from "../../src/providers/kubernetes/port.js";
import { exposeTargetStep } from "../../src/steps/expose-target/index.js";
import { istioApiVersion, imageOf } from "../../src/steps/expose-target/istio.js";
import {
  buildServiceEntry,
  buildTargetVirtualService,
  exposeNames,
  ingressAddress,
} from "../../src/steps/expose-target/manifests.js";
import { carryThrough, gatesOf, shiftTrafficStep } from "../../src/steps/shift-traffic/index.js";
import {
  boundToGateway,
  resolveGateway,
  serviceHosts,
} from "../../src/steps/shift-traffic/virtual-service.js";
import { shiftWeights, type VirtualService } from "../../src/steps/shift-traffic/weights.js";
import { testPlaybook } from "../support/step-harness.js";
import { goldenPath, toYaml } from "./fixtures.js";
import { REMOTE_HOST, trafficPlaybook } from "./world.js";

const OB = {
  gateway: "onlineboutique/frontend-gateway",
  namespace: "onlineboutique",
  service: "frontend",
  port: 80,
};

describe("expand", () => {
  it("Given traffic with three weights, When expanded, Then there is one expose-target and one shift-traffic per weight", () => {
    const playbook = trafficPlaybook(OB);
    expect(exposeTargetStep.expand(playbook).map((i) => [i.id, i.title])).toEqual([
      ["expose-target", "Expose frontend of the target cluster to the source mesh"],
    ]);
    expect(shiftTrafficStep.expand(playbook).map((i) => [i.id, i.title])).toEqual([
      ["shift-traffic[1]", "Shift traffic to 10%"],
      ["shift-traffic[2]", "Shift traffic to 50%"],
      ["shift-traffic[3]", "Shift traffic to 100%"],
    ]);
  });

  it("Given no traffic section, When expanded, Then neither step runs", () => {
    expect(exposeTargetStep.expand(testPlaybook())).toEqual([]);
    expect(shiftTrafficStep.expand(testPlaybook())).toEqual([]);
  });

  it("Given traffic without the ingress gateways, When expanded, Then both paths are named", () => {
    const playbook = testPlaybook({
      traffic: {
        namespace: "shop",
        service: "frontend",
        port: 80,
        remoteHost: REMOTE_HOST,
        steps: [{ weight: 10 }],
      },
    });
    expect(() => exposeTargetStep.expand(playbook)).toThrow(UsageError);
    expect(() => shiftTrafficStep.expand(playbook)).toThrow(
      "spec.source.ingress: Required value: the source ingress gateway, needed by spec.traffic\n" +
        "spec.target.ingress: Required value: the target ingress gateway, needed by spec.traffic",
    );
  });
});

describe("gatesOf", () => {
  it("Given a step with every gate, When planned, Then they run pause, probe, analysis, approval, each rolling back the traffic steps", () => {
    const playbook = trafficPlaybook({
      ...OB,
      onFailure: "pause",
      steps: [
        {
          weight: 50,
          approval: true,
          pause: "1m",
          probe: { url: "http://shop.example.com/healthz", host: "shop.example.com" },
          analysis: {
            prometheus: "http://prom:9090",
            metrics: [{ name: "p99", query: "q", failureCondition: "> 500" }],
          },
        },
      ],
    });
    const traffic = playbook.spec.traffic;
    if (!traffic) throw new Error("no traffic");
    const gates = gatesOf("shift-traffic[1]", { traffic, index: 0 });
    expect(gates.map((g) => [g.address, g.detail, g.onFailure, g.rollbackKinds])).toEqual([
      ["shift-traffic[1]/pause", "pause 1m", "pause", ["expose-target", "shift-traffic"]],
      [
        "shift-traffic[1]/probe",
        "probe http://shop.example.com/healthz (Host: shop.example.com): 10 × HTTP 200, ≥ 100% within 5s",
        "pause",
        ["expose-target", "shift-traffic"],
      ],
      [
        "shift-traffic[1]/analysis",
        "analysis p99 fails > 500, 5 × 30s",
        "pause",
        ["expose-target", "shift-traffic"],
      ],
      ["shift-traffic[1]/approval", "approval", "pause", ["expose-target", "shift-traffic"]],
    ]);
    expect(gates.map((g) => g.gate)).toEqual([
      { type: "pause", duration: "1m" },
      {
        type: "probe",
        url: "http://shop.example.com/healthz",
        host: "shop.example.com",
        requests: 10,
        expectStatus: 200,
        minSuccessRate: 1,
        timeout: "5s",
      },
      {
        type: "analysis",
        prometheus: "http://prom:9090",
        interval: "30s",
        count: 5,
        failureLimit: 0,
        inconclusiveLimit: 0,
        metrics: [{ name: "p99", query: "q", failureCondition: "> 500" }],
      },
      { type: "approval" },
    ]);
  });
});

describe("carryThrough (the before of later instances)", () => {
  const traffic = { ...trafficPlaybook(OB).spec.traffic! };
  const weights = [10, 50, 100];
  const original: VirtualService = {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "frontend-ingress", namespace: "onlineboutique" },
    spec: {
      hosts: ["*"],
      gateways: ["frontend-gateway"],
      http: [{ route: [{ destination: { host: "frontend", port: { number: 80 } } }] }],
    },
  };
  const target = (weight: number) => ({
    serviceHosts: serviceHosts("frontend", "onlineboutique", "onlineboutique"),
    remoteHost: REMOTE_HOST,
    port: 80,
    weight,
  });
  const at = (weight: number) => shiftWeights(original, target(weight)).next;

  it.each([
    { index: 0, from: "the original", current: original, expected: original },
    { index: 2, from: "the original (planned before anything ran)", current: original, expected: at(50) },
    { index: 2, from: "10% (resumed after instance 1)", current: at(10), expected: at(50) },
    { index: 2, from: "50% (re-planned right before instance 3)", current: at(50), expected: at(50) },
  ])(
    "Given instance $index planned from $from, Then its before is the VirtualService instances before it leave",
    ({ index, current, expected }) => {
      expect(carryThrough(current, weights, { index, traffic })).toEqual(expected);
    },
  );
});

describe("gateway references", () => {
  it.each([
    ["frontend-gateway", "onlineboutique", "onlineboutique/frontend-gateway"],
    ["istio-system/ingress", "onlineboutique", "istio-system/ingress"],
    ["frontend-gateway.onlineboutique.svc.cluster.local", "other", "onlineboutique/frontend-gateway"],
  ])("Given %j in namespace %s, Then it means %s", (ref, ns, expected) => {
    expect(resolveGateway(ref, ns)).toBe(expected);
  });

  it("Given a VirtualService bound to the mesh only, Then it is not bound to the gateway", () => {
    const vs = {
      apiVersion: "v1",
      kind: "VirtualService",
      metadata: { name: "x", namespace: "onlineboutique" },
      spec: {},
    };
    expect(boundToGateway(vs, "onlineboutique/frontend-gateway")).toBe(false);
  });
});

describe("Istio API version", () => {
  const port = (versions: string[]) =>
    ({ context: "c", servedVersions: () => Promise.resolve(versions) }) as unknown as ClusterPort;
  it.each([
    [["v1", "v1beta1", "v1alpha3"], "networking.istio.io/v1"],
    [["v1beta1", "v1alpha3"], "networking.istio.io/v1beta1"],
    [["v1alpha3"], "networking.istio.io/v1alpha3"],
    [["v2"], undefined],
    [[], undefined],
  ])("Given %j served, Then %s is used", async (versions, expected) => {
    expect(await istioApiVersion(port(versions))).toBe(expected);
  });
});

describe("manifests", () => {
  const names = exposeNames("frontend");
  const labels = { "app.kubernetes.io/managed-by": "clustershift" };

  it("Given a load balancer with a host name, When the ServiceEntry is built, Then it resolves by DNS", async () => {
    const se = buildServiceEntry({
      apiVersion: "networking.istio.io/v1",
      name: names.serviceEntry,
      namespace: "onlineboutique",
      labels,
      remoteHost: REMOTE_HOST,
      port: 80,
      endpointPort: 80,
      address: "a1b2c3.elb.us-east-1.amazonaws.com",
    });
    expect((se.spec as { resolution: string }).resolution).toBe("DNS");
    await expect(toYaml(se)).toMatchFileSnapshot(goldenPath("serviceentry-dns.yaml"));
  });

  it("Given public hosts, When the target VirtualService is built, Then it serves them, not * nor the remote host (which nothing would match)", async () => {
    const vs = buildTargetVirtualService({
      apiVersion: "networking.istio.io/v1",
      name: names.virtualService,
      namespace: "onlineboutique",
      labels,
      gateway: "asm-ingress/asm-ingressgateway",
      hosts: ["shop.example.com"],
      service: "frontend",
      port: 80,
    });
    expect((vs.spec as { hosts: string[] }).hosts).toEqual(["shop.example.com"]);
    await expect(toYaml(vs)).toMatchFileSnapshot(goldenPath("target-virtualservice-hosts.yaml"));
  });

  it.each([
    [{ status: { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } } }, "203.0.113.7"],
    [{ status: { loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } } }, "lb.example.com"],
    [{ status: { loadBalancer: {} } }, undefined],
    [undefined, undefined],
  ])("Given Service %j, Then its ingress address is %s", (service, expected) => {
    const object = service && { apiVersion: "v1", kind: "Service", metadata: { name: "gw" }, ...service };
    expect(ingressAddress(object)).toBe(expected);
  });

  it("Given an object read from the API, When imaged, Then server-owned metadata and status are gone", () => {
    expect(
      imageOf({
        apiVersion: "v1",
        kind: "X",
        metadata: {
          name: "a",
          namespace: "b",
          resourceVersion: "7",
          uid: "u",
          managedFields: [],
          labels: { a: "b" },
        },
        spec: { x: 1 },
        status: { y: 2 },
      }),
    ).toEqual({
      apiVersion: "v1",
      kind: "X",
      metadata: { name: "a", namespace: "b", labels: { a: "b" } },
      spec: { x: 1 },
    });
  });
});
