import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePlaybook } from "../../src/playbook/load.js";
import {
  playbookYaml,
  trafficSteps,
  type TrafficAnswers,
  type WizardAnswers,
} from "../../src/wizard/build.js";
import { isSystemNamespace, serviceOfHost } from "../../src/wizard/discover.js";
import { defaultName } from "../../src/wizard/index.js";
import * as check from "../../src/wizard/validate.js";
import { ASM_INGRESS, GKE_PROVISION } from "../support/step-harness.js";

const traffic: TrafficAnswers = {
  namespace: "onlineboutique",
  service: "frontend",
  port: 80,
  remoteHost: "frontend.target.clustershift.internal",
  weights: [10, 50, 100],
  pause: "2m",
  approval: true,
  prometheus: "http://127.0.0.1:9090",
  onFailure: "rollback",
};

const full: WizardAnswers = {
  name: "online-boutique-to-csm",
  source: {
    context: "cluster-with-istio",
    ingress: {
      namespace: "istio-system",
      service: "istio-ingressgateway",
      gateway: "onlineboutique/frontend-gateway",
    },
  },
  target: {
    context: "cluster-with-csm",
    provision: GKE_PROVISION,
    ingress: { ...ASM_INGRESS, install: true },
  },
  namespaces: ["onlineboutique"],
  exclude: [{ namespace: "onlineboutique", name: "frontend-external" }],
  traffic: {
    ...traffic,
    hosts: ["shop.example.com"],
    probe: { url: "http://203.0.113.20/", host: "shop.example.com", expectStatus: 200 },
    onFailure: "pause",
  },
  dns: { provider: "route53", zone: "example.com.", record: "shop.example.com", type: "A", lowTtl: 30 },
};

describe("the playbook the wizard writes", () => {
  it("Given every section answered, When rendered, Then it is the DESIGN.md playbook and parsePlaybook accepts it", async () => {
    const text = playbookYaml(full, "playbook.yaml");
    const parsed = parsePlaybook(text, "playbook.yaml");
    expect(parsed.ok ? [] : parsed.diagnostics).toEqual([]);
    await expect(text).toMatchFileSnapshot(resolve(import.meta.dirname, "__golden__/full.yaml"));
  });

  it("Given only source and target, When rendered, Then the playbook has no optional sections and is valid", () => {
    const text = playbookYaml(
      { name: "plain", source: { context: "a" }, target: { context: "b" }, namespaces: [] },
      "p.yaml",
    );
    const parsed = parsePlaybook(text, "p.yaml");
    expect(parsed.ok && Object.keys(parsed.playbook.spec)).toEqual(["source", "target", "state"]);
  });

  it("Given 10,50,100 with analysis and approval, When the steps are built, Then 10 pauses and 50 carries the gates before 100", () => {
    const steps = trafficSteps(traffic);
    expect(steps.map((step) => Object.keys(step))).toEqual([
      ["weight", "pause"],
      ["weight", "analysis", "approval"],
      ["weight"],
    ]);
  });

  it("Given no Prometheus, When the steps are built, Then every step before the last pauses and the one before 100 asks approval", () => {
    const { prometheus: _, ...rest } = traffic;
    expect(trafficSteps({ ...rest, weights: [5, 25, 50, 100] })).toEqual([
      { weight: 5, pause: "2m" },
      { weight: 25, pause: "2m" },
      { weight: 50, pause: "2m", approval: true },
      { weight: 100 },
    ]);
  });

  it("Given a probe, When the steps are built, Then it sits with the gates before 100 and keeps that step's pause", () => {
    const { prometheus: _, ...rest } = traffic;
    const probe = { url: "http://203.0.113.20/", expectStatus: 204 };
    expect(trafficSteps({ ...rest, probe })).toEqual([
      { weight: 10, pause: "2m" },
      { weight: 50, pause: "2m", probe, approval: true },
      { weight: 100 },
    ]);
    expect(trafficSteps({ ...rest, weights: [100], probe })).toEqual([
      { weight: 100, probe, approval: true },
    ]);
  });

  it("Given hosts, exclusions, a probe and onFailure pause, When parsed back, Then the playbook says exactly that", () => {
    const parsed = parsePlaybook(playbookYaml(full, "p.yaml"), "p.yaml");
    if (!parsed.ok) throw new Error(parsed.diagnostics.map((d) => d.message).join("\n"));
    const { workloads, traffic: shifted } = parsed.playbook.spec;
    expect(workloads?.exclude).toEqual([
      { kind: "Service", name: "frontend-external", namespace: "onlineboutique" },
    ]);
    expect(shifted?.hosts).toEqual(["shop.example.com"]);
    expect(shifted?.onFailure).toBe("pause");
    expect(shifted?.steps[1]?.probe).toMatchObject({
      url: "http://203.0.113.20/",
      host: "shop.example.com",
      expectStatus: 200,
    });
  });

  it("Given a single weight of 100, When the steps are built, Then that step carries the gates", () => {
    expect(trafficSteps({ ...traffic, weights: [100] })).toEqual([
      expect.objectContaining({ weight: 100, approval: true, analysis: expect.any(Object) as unknown }),
    ]);
  });

  it("Given context names that are not DNS labels, When the default name is made, Then it is a DNS label", () => {
    expect(defaultName({ namespaces: [], target: { context: "gke_My-Project_us-central1-a_c" } })).toBe(
      "migration-to-gke-my-project-us-central1-a-c",
    );
  });
});

describe("answer validators", () => {
  it.each([
    ["dnsLabel", check.dnsLabel, "Shop", check.MESSAGES.dnsLabel],
    ["dnsLabel", check.dnsLabel, "-shop", check.MESSAGES.dnsLabel],
    ["dnsName", check.dnsName, "shop..example.com", check.MESSAGES.dnsName],
    ["dnsName", check.dnsName, "203.0.113.300", check.MESSAGES.dnsName],
    ["duration", check.duration, "2 minutes", check.MESSAGES.duration],
    ["duration", check.duration, "0s", check.MESSAGES.durationZero],
    ["weights", check.weights, "10;50;100", check.MESSAGES.weightsFormat],
    ["weights", check.weights, "10,,100", check.MESSAGES.weightsFormat],
    ["weights", check.weights, "0,100", check.MESSAGES.weightsRange],
    ["weights", check.weights, "10,50,120", check.MESSAGES.weightsRange],
    ["weights", check.weights, "10,50,50,100", "weights must increase: 50 comes after 50"],
    ["weights", check.weights, "10,50", check.MESSAGES.weightsLast],
    ["ttl", check.ttl, "4", check.MESSAGES.ttl],
    ["ttl", check.ttl, "86401", check.MESSAGES.ttl],
    ["ttl", check.ttl, "60s", check.MESSAGES.ttl],
    ["port", check.port, "0", check.MESSAGES.port],
    ["nodeCount", check.nodeCount, "1.5", check.MESSAGES.nodeCount],
    ["gcpProject", check.gcpProject, "My-Project", check.MESSAGES.gcpProject],
    ["gcpProject", check.gcpProject, "proj", check.MESSAGES.gcpProject],
    ["gcpProject", check.gcpProject, "1project", check.MESSAGES.gcpProject],
    ["gcpLocation", check.gcpLocation, "central", check.MESSAGES.gcpLocation],
    ["httpUrl", check.httpUrl, "prometheus:9090", check.MESSAGES.url],
    ["httpUrl", check.httpUrl, "ftp://prometheus", check.MESSAGES.url],
    ["gatewayRef", check.gatewayRef, "frontend-gateway", check.MESSAGES.gateway],
    ["A target", check.addressFor("A"), "lb.example.com", check.MESSAGES.ipv4],
    ["AAAA target", check.addressFor("AAAA"), "203.0.113.10", check.MESSAGES.ipv6],
    ["CNAME target", check.addressFor("CNAME"), "203.0.113.10", check.MESSAGES.cname],
    ["record", check.recordIn("example.com."), "shop.example.org", "must be inside the zone example.com"],
    ["hosts", check.hosts, "shop.example.com www.example.com", check.MESSAGES.hosts],
    ["hosts", check.hosts, "shop.*.com", check.MESSAGES.hosts],
    ["httpStatus", check.httpStatus, "99", check.MESSAGES.httpStatus],
  ])("Given %s, When %j is typed, Then it is rejected", (_, validator, value, message) => {
    expect(validator(value)).toBe(message);
  });

  it.each([
    [check.dnsLabel, "online-boutique"],
    [check.dnsName, "frontend.target.clustershift.internal"],
    [check.duration, "1h30m"],
    [check.weights, "5, 25,50,100"],
    [check.weights, "100"],
    [check.ttl, "5"],
    [check.ttl, "86400"],
    [check.gcpProject, "my-project-123"],
    [check.gcpLocation, "us-central1-a"],
    [check.gcpLocation, "europe-west4"],
    [check.machineType, "e2-standard-4"],
    [check.httpUrl, "http://prometheus.monitoring:9090"],
    [check.gatewayRef, "onlineboutique/frontend-gateway"],
    [check.addressFor("A"), "203.0.113.10"],
    [check.addressFor("CNAME"), "lb.example.com"],
    [check.recordIn("example.com."), "Shop.Example.com."],
    [check.optional(check.httpUrl), ""],
    [check.hosts, "shop.example.com, *.example.com"],
    [check.hosts, ""],
    [check.httpStatus, "204"],
  ])("Given a valid answer %#, When it is typed, Then it is accepted", (validator, value) => {
    expect(validator(value)).toBe(true);
  });

  it("Given a context name in use, When it is typed as the new cluster's name, Then it is rejected", () => {
    expect(check.newName(["source", "target"], "kubeconfig context")("target")).toBe(
      "kubeconfig context target exists already: choose it from the list instead",
    );
  });
});

describe("reading route destinations", () => {
  it.each([
    ["frontend", { namespace: "shop", service: "frontend" }],
    ["frontend.web", { namespace: "web", service: "frontend" }],
    ["frontend.web.svc", { namespace: "web", service: "frontend" }],
    ["frontend.web.svc.cluster.local", { namespace: "web", service: "frontend" }],
    ["api.example.com", undefined],
    ["frontend.web.svc.other.domain", undefined],
  ])("Given the host %j in a VirtualService of shop, When it is read, Then it names %j", (host, expected) => {
    expect(serviceOfHost(host, "shop")).toEqual(expected);
  });

  it("Given platform namespaces, When namespaces are offered, Then they are left out and application ones kept", () => {
    const names = [
      "default",
      "kube-system",
      "istio-system",
      "gke-managed-system",
      "gmp-public",
      "onlineboutique",
    ];
    expect(names.filter((name) => !isSystemNamespace(name))).toEqual(["default", "onlineboutique"]);
  });
});
