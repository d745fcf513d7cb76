import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { excludedBy, matchesSelector, parseLabelSelector } from "../../src/steps/mirror-workloads/select.js";

describe("parseLabelSelector and matchesSelector", () => {
  it.each<[string, Record<string, string>, boolean]>([
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "api" }, false],
    ["app!=web", { app: "api" }, true],
    ["app!=web", {}, true],
    ["tier", { tier: "x" }, true],
    ["!tier", { tier: "x" }, false],
    ["app in (web, api),tier notin (db)", { app: "api", tier: "front" }, true],
    ["app in (web, api),tier notin (db)", { app: "api", tier: "db" }, false],
    ["app.kubernetes.io/name=shop, version", { "app.kubernetes.io/name": "shop", version: "v1" }, true],
  ])("Given selector %s and labels %j, Then it matches: %s", (selector, labels, expected) => {
    expect(matchesSelector(labels, parseLabelSelector(selector))).toBe(expected);
  });

  it.each(["=web", "app in web", "a b c", "app=web,", "app=we b", "-bad=x"])(
    "Given the invalid selector %s, Then parsing says what is wrong",
    (selector) => {
      expect(() => parseLabelSelector(selector)).toThrow();
    },
  );

  it("Given an empty value after =, Then it means the label is set to the empty string", () => {
    expect(matchesSelector({ app: "" }, parseLabelSelector("app="))).toBe(true);
  });
});

describe("excludedBy", () => {
  const service = (name: string, labels: Record<string, string> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop", labels },
  });
  const rules = [
    { kind: "Service", name: "frontend-external" },
    { namespace: "other" },
    { labelSelector: "app=loadgenerator" },
    { kind: "service", namespace: "shop", name: "debug" },
  ];
  const selectors = rules.map((r) => (r.labelSelector ? parseLabelSelector(r.labelSelector) : []));
  it.each<[KubeObject, number | undefined]>([
    [service("frontend-external"), 0],
    [service("frontend"), undefined],
    [{ ...service("x"), metadata: { name: "x", namespace: "other" } }, 1],
    [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } }, 1],
    [service("lg", { app: "loadgenerator" }), 2],
    [service("debug"), 3],
  ])("Given %j, Then exclusion %s matches", (object, expected) => {
    expect(excludedBy(object, rules, selectors)).toBe(expected);
  });
});
