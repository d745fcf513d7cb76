import { describe, expect, it } from "vitest";
import type { PlacedChange } from "../../src/engine/change-context.js";
import type { RunPlan } from "../../src/engine/planner.js";
import { KNOWN_AFTER_APPLY, type Step, type StepPlan } from "../../src/engine/types.js";
import { colorWanted } from "../../src/render/color.js";
import { afterUnknown, fieldDiff, formatValue, withoutUnknowns } from "../../src/render/diff.js";
import { planJson, renderPlanText } from "../../src/render/plan.js";
import { Registry } from "../../src/engine/registry.js";
import { planSchedule, type PlanSchedule } from "../../src/engine/schedule.js";
import { registerBuiltins } from "../../src/steps/index.js";

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

describe("plan text: the schedule", () => {
  const registry = registerBuiltins(new Registry());
  const stepPlan = (kind: string, id: string, waitMs?: number, pause?: string): StepPlan => ({
    id,
    kind,
    title: id,
    changes:
      waitMs === undefined
        ? [{ action: "create", address: `Thing ${id}`, after: {} }]
        : [{ action: "wait", address: `${id} wait`, detail: "runs out", expectedMs: waitMs }],
    gates: pause
      ? [
          {
            address: `${id}/pause`,
            detail: `pause ${pause}`,
            onFailure: "rollback",
            gate: { type: "pause", duration: pause },
          },
        ]
      : [],
  });
  const scheduled = (plans: StepPlan[], done: string[] = []): RunPlan => {
    const plan = runPlan(plans, done);
    plan.steps = plan.steps.map((s) => ({ ...s, step: registry.getStep(s.plan.kind) }));
    return { ...plan, schedule: planSchedule(registry, plan.steps) };
  };
  const full = [
    stepPlan("provision-cluster", "provision-cluster", 360_000),
    stepPlan("enable-mesh", "enable-mesh", 600_000),
    stepPlan("mirror-workloads", "mirror-workloads"),
    stepPlan("expose-target", "expose-target"),
    stepPlan("shift-traffic", "shift-traffic[1]", undefined, "3s"),
    stepPlan("lower-dns-ttl", "lower-dns-ttl", 300_000),
    stepPlan("cutover-dns", "cutover-dns"),
  ];

  it("Given steps on two branches, When rendered, Then the critical path with its waits and the branch beside it come before the summary", () => {
    const text = renderPlanText(scheduled(full), "shop.yaml");
    const tail = text.trimEnd().split("\n").slice(-5);
    expect(tail).toEqual([
      "Schedule: 2 branches side by side; critical path 16m3s of expected waits (21m3s if run one after another):",
      "  provision-cluster (6m) → enable-mesh (10m) → … → shift-traffic[1] (3s) → cutover-dns",
      "  beside it: lower-dns-ttl (5m)",
      "",
      "Plan: 4 to create, 0 to update, 0 to delete, 3 waits, 1 gate.",
    ]);
  });

  it("Given the same steps as JSON, When made data, Then each step has its needs and expected wait, and the critical path its steps and sum", () => {
    const json = planJson(scheduled(full)) as { schedule: PlanSchedule };
    expect(json.schedule.steps.find((s) => s.id === "lower-dns-ttl")).toEqual({
      id: "lower-dns-ttl",
      needs: [],
      expectedMs: 300_000,
    });
    expect(json.schedule.steps.find((s) => s.id === "cutover-dns")?.needs).toEqual([
      "shift-traffic[1]",
      "lower-dns-ttl",
    ]);
    expect(json.schedule.criticalPath).toEqual({
      steps: [
        "provision-cluster",
        "enable-mesh",
        "mirror-workloads",
        "expose-target",
        "shift-traffic[1]",
        "cutover-dns",
      ],
      expectedMs: 963_000,
    });
  });

  it("Given a long wait-less stretch on a branch, When rendered, Then it is elided as …, keeping the first and last step", () => {
    const text = renderPlanText(
      scheduled([
        ...full.slice(0, 5),
        stepPlan("lower-dns-ttl", "lower-dns-ttl", 3_600_000),
        full[6] as StepPlan,
      ]),
      "shop.yaml",
    );
    expect(text).toContain("  lower-dns-ttl (1h) → cutover-dns\n");
    expect(text).toContain(
      "  beside it: provision-cluster (6m) → enable-mesh (10m) → … → shift-traffic[1] (3s)\n",
    );
  });

  it("Given the provisioning branch is done, When rendered, Then the done steps are left out and one branch is left: no schedule section", () => {
    const done = [
      "provision-cluster",
      "enable-mesh",
      "mirror-workloads",
      "expose-target",
      "shift-traffic[1]",
    ];
    // As the planner plans a done step: no changes, and only the gates that have not passed (here none).
    const asDone = (p: StepPlan) => (done.includes(p.id) ? { ...p, changes: [], gates: [] } : p);
    const plan = scheduled(full.map(asDone), done);
    expect(plan.schedule?.steps.map((s) => s.id)).toEqual(["lower-dns-ttl", "cutover-dns"]);
    expect(plan.schedule?.steps.at(-1)?.needs).toEqual(["lower-dns-ttl"]);
    expect(renderPlanText(plan, "shop.yaml")).not.toContain("Schedule:");
    // A done step whose approval still holds the run stays in the schedule: the run waits there.
    const waiting = scheduled(
      full.map((p) => (p.id === "shift-traffic[1]" ? { ...asDone(p), gates: p.gates } : asDone(p))),
      done,
    );
    expect(waiting.schedule?.steps.map((s) => s.id)).toEqual([
      "shift-traffic[1]",
      "lower-dns-ttl",
      "cutover-dns",
    ]);
    expect(renderPlanText(waiting, "shop.yaml")).toContain("  beside it: shift-traffic[1] (3s)\n");
  });

  it("Given steps one after another, When rendered, Then there is no schedule section", () => {
    const text = renderPlanText(scheduled(full.slice(0, 5)), "shop.yaml");
    expect(text).not.toContain("Schedule:");
    expect(text.trimEnd().split("\n").at(-1)).toBe(
      "Plan: 3 to create, 0 to update, 0 to delete, 2 waits, 1 gate.",
    );
  });
});
