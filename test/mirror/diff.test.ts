import { describe, expect, it } from "vitest";
import { subsetDiff, summarizePaths } from "../../src/steps/mirror-workloads/diff.js";

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
  ])("Given %s, Then the differing paths are %j", (_, desired, current, expected) => {
    expect(subsetDiff(desired, current)).toEqual(expected);
  });

  it("Given many paths, When summarized, Then the first five are shown and the rest counted", () => {
    expect(summarizePaths(["a", "b", "c", "d", "e", "f", "g"])).toBe("a, b, c, d, e (+2 more)");
  });
});
