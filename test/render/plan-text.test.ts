import { describe, expect, it } from "vitest";
import type { PlacedChange } from "../../src/engine/change-context.js";
import type { RunPlan } from "../../src/engine/planner.js";
import { KNOWN_AFTER_APPLY, type Step, type StepPlan } from "../../src/engine/types.js";
import { colorWanted } from "../../src/render/color.js";
import { afterUnknown, fieldDiff, formatValue, withoutUnknowns } from "../../src/render/diff.js";
import { planJson, renderPlanText } from "../../src/render/plan.js";

function runPlan(steps: StepPlan[], done: string[] = []): RunPlan {
  return {
    playbook: "shop",
    complete: false,
    contexts: { source: "old-cluster", target: "new-cluster" },
    steps: steps.map((plan) => ({
      step: {} as Step,
      instance: { id: plan.id, title: plan.title, spec: {} },
      plan,
      ...(done.includes(plan.id) ? { done: true } : {}),
    })),
  };
}

const virtualService = (weights: number[]) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "frontend", namespace: "shop" },
  spec: {
    http: [
      { route: [{ destination: { host: "frontend" } }] },
      {
        route: weights.map((weight, i) => ({
          destination: { host: i === 0 ? "frontend" : "frontend.remote" },
          weight,
        })),
      },
    ],
  },
});

describe("colour", () => {
  it.each([
    [{ isTTY: true }, {}, true, true],
    [{ isTTY: false }, {}, true, false],
    [{}, {}, true, false],
    [{ isTTY: true }, { NO_COLOR: "1" }, true, false],
    [{ isTTY: true }, { NO_COLOR: "0" }, true, false],
    [{ isTTY: true }, { NO_COLOR: "" }, true, true],
    [{ isTTY: true }, {}, false, false],
  ])(
    "Given stdout %j, environment %j and --color %s, When deciding, Then colour is %s",
    (stream, env, flag, wanted) => {
      expect(colorWanted(stream, env, flag)).toBe(wanted);
    },
  );
});

describe("field diff", () => {
  it("Given two images, When diffed, Then only the fields that differ are listed, as old → new, added and removed", () => {
    const before = { spec: { replicas: 1, paused: true, labels: { "app.kubernetes.io/name": "a" } } };
    const after = { spec: { replicas: 3, labels: { "app.kubernetes.io/name": "b" }, minReadySeconds: 5 } };
    expect(fieldDiff(before, after)).toEqual([
      { op: "change", path: "spec.replicas", before: 1, after: 3 },
      { op: "change", path: 'spec.labels["app.kubernetes.io/name"]', before: "a", after: "b" },
      { op: "add", path: "spec.minReadySeconds", after: 5 },
      { op: "remove", path: "spec.paused", before: true },
    ]);
  });

  it("Given a server-side apply (merge), When a field is only on the cluster, Then it is not shown as removed", () => {
    const before = { spec: { replicas: 1, dnsPolicy: "ClusterFirst" } };
    expect(fieldDiff(before, { spec: { replicas: 2 } }, { merge: true })).toEqual([
      { op: "change", path: "spec.replicas", before: 1, after: 2 },
    ]);
  });

  it("Given a route that had one destination without a weight, When a split is diffed, Then its implicit 100 reads as old → new and the added destination as host and weight", () => {
    const before = { spec: { http: [{ route: [{ destination: { host: "web" } }] }] } };
    const after = {
      spec: {
        http: [
          {
            route: [
              { destination: { host: "web" }, weight: 90 },
              { destination: { host: "web.remote", port: { number: 80 } }, weight: 10 },
            ],
          },
        ],
      },
    };
    const fields = fieldDiff(before, after);

    expect(fields).toEqual([
      { op: "change", path: "spec.http[0].route[0].weight", before: 100, after: 90 },
      { op: "add", path: "spec.http[0].route[1]", after: after.spec.http[0]?.route[1] },
    ]);
    expect(formatValue(after.spec.http[0]?.route[1])).toBe("web.remote:80 weight 10");
    // The way back (rollback's before-image): the lone destination reads as weight 100 again.
    expect(fieldDiff(after, before)).toEqual([
      { op: "change", path: "spec.http[0].route[0].weight", before: 90, after: 100 },
      { op: "remove", path: "spec.http[0].route[1]", before: after.spec.http[0]?.route[1] },
    ]);
  });

  it("Given values of every kind, When formatted, Then strings are quoted, long values end in …, unknowns read as such", () => {
    expect(formatValue("a")).toBe('"a"');
    expect(formatValue({ host: "x", port: 80 })).toBe('{host: "x", port: 80}');
    expect(formatValue([1, 2])).toBe("[1, 2]");
    expect(formatValue("x".repeat(100))).toBe(`"${"x".repeat(58)}…`);
    expect(formatValue(KNOWN_AFTER_APPLY)).toBe("(known after apply)");
  });

  it("Given an image with values known only after apply, When made JSON, Then after leaves them out and after_unknown marks them true", () => {
    const after = { spec: { address: KNOWN_AFTER_APPLY, ports: [80, KNOWN_AFTER_APPLY], host: "h" } };
    expect(withoutUnknowns(after)).toEqual({ spec: { ports: [80, null], host: "h" } });
    expect(afterUnknown(after)).toEqual({ spec: { address: true, ports: [false, true] } });
    expect(afterUnknown({ spec: { host: "h" } })).toEqual({});
  });
});

describe("plan text", () => {
  const shift: StepPlan = {
    id: "shift-traffic[1]",
    kind: "shift-traffic",
    title: "Shift traffic to 10%",
    changes: [
      {
        action: "update",
        address: "VirtualService shop/frontend",
        context: "source",
        before: virtualService([100, 0]),
        after: virtualService([90, 10]),
        detail: "frontend 100→90, target 0→10",
      } as PlacedChange,
    ],
    gates: [{ address: "a", gate: { type: "pause" }, onFailure: "rollback", detail: "pause 1m" }],
  };
  const mirror: StepPlan = {
    id: "mirror-workloads",
    kind: "mirror-workloads",
    title: "Mirror workloads",
    changes: [
      ...Array.from({ length: 5 }, (_, i): PlacedChange => ({
        action: "no-op",
        address: `Service shop/s${i}`,
        context: "target",
      })),
      {
        action: "update",
        address: "Secret shop/db",
        context: "target",
        sensitive: true,
        before: { data: { password: "aHVudGVyMg==" } },
        after: { data: { password: "c2VjcmV0", user: "YWRtaW4=" } },
      } as PlacedChange,
      { action: "create", address: "Namespace shop", context: "target" } as PlacedChange,
    ],
    gates: [],
  };

  it("Given an update, unchanged objects and a secret, When rendered, Then the legend, contexts, old → new weights and a count show, and no secret value", () => {
    const text = renderPlanText(runPlan([mirror, shift]), "shop.yaml");
    expect(text).toBe(
      [
        "Plan for shop (shop.yaml):",
        "",
        "Symbols: + create  ~ update  ? gate",
        "Where:   [source] context old-cluster  [target] context new-cluster",
        "",
        "mirror-workloads: Mirror workloads",
        "  ~ [target] Secret shop/db",
        "      (sensitive: 2 keys)",
        "  + [target] Namespace shop",
        "    5 unchanged",
        "",
        "shift-traffic[1]: Shift traffic to 10%",
        "  ~ [source] VirtualService shop/frontend  frontend 100→90, target 0→10",
        "      ~ spec.http[1].route[0].weight: 100 → 90",
        "      ~ spec.http[1].route[1].weight: 0 → 10",
        "  ? pause 1m  (on failure: rollback)",
        "",
        "Plan: 1 to create, 2 to update, 0 to delete, 0 waits, 1 gate.",
        "",
      ].join("\n"),
    );
    for (const secret of ["aHVudGVyMg==", "c2VjcmV0", "YWRtaW4=", "password"])
      expect(text).not.toContain(secret);
    expect(JSON.stringify(planJson(runPlan([mirror, shift])))).not.toMatch(/aHVudGVyMg|c2VjcmV0|YWRtaW4/);
  });

  it("Given colour, When rendered, Then the symbols are green, yellow and cyan and unchanged objects dim; done steps propose nothing", () => {
    const text = renderPlanText(runPlan([mirror, shift], ["mirror-workloads"]), "shop.yaml", { color: true });
    expect(text).toContain("\u001b[33m~\u001b[39m [source] VirtualService shop/frontend");
    expect(text).toContain("\u001b[36m?\u001b[39m pause 1m");
    expect(text).toContain("\u001b[2mmirror-workloads: Mirror workloads  (done)\u001b[22m");
    expect(text).toContain("Symbols: \u001b[33m~\u001b[39m update  \u001b[36m?\u001b[39m gate\n");
    expect(text).not.toContain("[target]");
  });
});
