import { describe, expect, it } from "vitest";
import { subsetDiff, summarizePaths } from "../../src/resources/diff.js";

describe("subsetDiff", () => {
  it.each<[string, unknown, unknown, string[]]>([
    ["equal objects", { spec: { replicas: 2 } }, { spec: { replicas: 2 } }, []],
    [
      "server defaults only in current",
      { spec: { replicas: 2 } },
      { spec: { replicas: 2, revisionHistoryLimit: 10 } },
      [],
    ],
    ["a changed scalar", { spec: { replicas: 3 } }, { spec: { replicas: 2 } }, ["spec.replicas"]],
    ["a missing field", { spec: { paused: true } }, { spec: {} }, ["spec.paused"]],
    [
      "a changed label reports the map",
      { metadata: { labels: { app: "a", v: "2" } } },
      { metadata: { labels: { app: "a", v: "1" } } },
      ["metadata.labels"],
    ],
    [
      "secret data never shows a key",
      { data: { password: "bmV3" } },
      { data: { password: "b2xk" } },
      ["data"],
    ],
    [
      "a changed container image",
      { spec: { containers: [{ name: "a", image: "x:2" }] } },
      { spec: { containers: [{ name: "a", image: "x:1", imagePullPolicy: "IfNotPresent" }] } },
      ["spec.containers[0].image"],
    ],
    [
      "a list of another length",
      { ports: [{ port: 80 }, { port: 81 }] },
      { ports: [{ port: 80 }] },
      ["ports"],
    ],
    ["an empty desired map against an absent one", { resources: {} }, {}, []],
    [
      "null in desired (creationTimestamp: null)",
      { metadata: { creationTimestamp: null } },
      { metadata: {} },
      [],
    ],
    ["a type change", { spec: { port: 80 } }, { spec: { port: "80" } }, ["spec.port"]],
    [
      "resource quantities the API server stored in canonical form",
      { resources: { limits: { cpu: "2000m", memory: "1024Mi" }, requests: { cpu: 0.5, storage: "1e3" } } },
      { resources: { limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "500m", storage: "1k" } } },
      [],
    ],
    [
      "a changed quantity",
      { resources: { limits: { cpu: "2000m", memory: "1Gi" } } },
      { resources: { limits: { cpu: "1", memory: "1G" } } },
      ["resources.limits.cpu", "resources.limits.memory"],
    ],
    [
      "a number-like text that is no quantity",
      { spec: { version: "1.0" } },
      { spec: { version: "1" } },
      ["spec.version"],
    ],
  ])("Given %s, Then the differing paths are %j", (_, desired, current, expected) => {
    expect(subsetDiff(desired, current)).toEqual(expected);
  });

  it("Given many paths, When summarized, Then the first five are shown and the rest counted", () => {
    expect(summarizePaths(["a", "b", "c", "d", "e", "f", "g"])).toBe("a, b, c, d, e (+2 more)");
  });
});
