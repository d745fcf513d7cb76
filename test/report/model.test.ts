import { describe, expect, it } from "vitest";
import { foldJournal } from "../../src/engine/run-state.js";
import type { ChangeEntry, JournalEntry, JournalEntryInput } from "../../src/engine/types.js";
import { renderReportHtml } from "../../src/render/report/html.js";
import { buildReport } from "../../src/render/report/model.js";
import { renderRollbackPreview } from "../../src/render/status.js";
import { rows, section, text } from "./page.js";

const REMOTE = "frontend.target.clustershift.internal";
const VS = {
  type: "kube.object",
  context: "source",
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
} as const;

function vs(remote: number) {
  const route =
    remote === 0
      ? [{ destination: { host: "frontend" } }]
      : [
          { destination: { host: "frontend" }, weight: 100 - remote },
          { destination: { host: REMOTE }, weight: remote },
        ];
  return { spec: { http: [{ route }] } };
}

/** A journal as the executor writes it: seq and time given in order, one second apart. */
function journal(inputs: JournalEntryInput[]): JournalEntry[] {
  const start = Date.parse("2026-11-28T10:00:00.000Z");
  return inputs.map((input, index) => ({
    ...input,
    seq: index + 1,
    time: new Date(start + index * 1000).toISOString(),
  }));
}

const STEPS = [
  { id: "expose-target", title: "Expose frontend", kind: "expose-target" },
  { id: "shift-traffic[1]", title: "Shift traffic to 10%", kind: "shift-traffic" },
  { id: "shift-traffic[2]", title: "Shift traffic to 50%", kind: "shift-traffic" },
];

/** A run whose analysis gate at 10 % failed: the shift was rolled back, the ServiceEntry stayed. */
const FAILED_GATE = journal([
  { type: "run-started", playbook: "shop", pid: 1, host: "h" },
  { type: "step-started", step: "expose-target", kind: "expose-target", gates: [] },
  {
    type: "change",
    step: "expose-target",
    kind: "expose-target",
    address: "ServiceEntry shop/remote",
    action: "create",
    after: { spec: {} },
    target: { ...VS, kind: "ServiceEntry", namespace: "shop", name: "remote" },
  },
  { type: "change-applied", step: "expose-target", ref: 3 },
  {
    type: "change",
    step: "expose-target",
    kind: "expose-target",
    address: "Secret shop/tls",
    action: "create",
    sensitive: true,
    after: "(sensitive: 2 keys)",
    target: {
      type: "kube.object",
      context: "target",
      apiVersion: "v1",
      kind: "Secret",
      namespace: "shop",
      name: "tls",
    },
  },
  { type: "change-applied", step: "expose-target", ref: 5 },
  { type: "step-finished", step: "expose-target", verification: { outcome: "passed" } },
  {
    type: "step-started",
    step: "shift-traffic[1]",
    kind: "shift-traffic",
    gates: ["shift-traffic[1]/analysis"],
  },
  {
    type: "change",
    step: "shift-traffic[1]",
    kind: "shift-traffic",
    address: "VirtualService shop/frontend",
    action: "update",
    before: vs(0),
    after: vs(10),
    target: { ...VS, namespace: "shop", name: "frontend" },
  },
  { type: "change-applied", step: "shift-traffic[1]", ref: 9 },
  { type: "step-finished", step: "shift-traffic[1]", verification: { outcome: "passed" } },
  {
    type: "note",
    step: "shift-traffic[1]",
    note: "measurement",
    data: {
      metric: "success-rate",
      index: 1,
      count: 2,
      value: 0.995,
      phase: "successful",
      detail: "0.995 meets >= 0.99",
    },
  },
  {
    type: "note",
    step: "shift-traffic[1]",
    note: "measurement",
    data: {
      metric: "success-rate",
      index: 2,
      count: 2,
      value: 0.9,
      phase: "failed",
      detail: "0.9 does not meet >= 0.99",
    },
  },
  {
    type: "gate",
    step: "shift-traffic[1]",
    address: "shift-traffic[1]/analysis",
    state: "failed",
    detail: "1 of 2 measurements failed <limit 0>",
  },
  { type: "rollback-started", reason: "gate failed", kinds: ["shift-traffic"] },
  { type: "change-reverted", ref: 9 },
  { type: "rollback-finished", kinds: ["shift-traffic"] },
]);

describe("report model", () => {
  it("Given an analysis gate that failed and rolled the shift back, When the report is built, Then the gate carries its measurements, the weight goes 0 → 10 → 0 and the rollback list is the preview's own", () => {
    const model = buildReport({
      playbook: "shop",
      location: "/state/shop",
      entries: FAILED_GATE,
      steps: STEPS,
      remoteHost: REMOTE,
    });
    expect(model.gates).toEqual([
      expect.objectContaining({
        step: "shift-traffic[1]",
        state: "failed",
        detail: "1 of 2 measurements failed <limit 0>",
        // From the step's end (11th entry) to the decision (14th).
        start: Date.parse("2026-11-28T10:00:10.000Z"),
        time: Date.parse("2026-11-28T10:00:13.000Z"),
        measurements: [
          expect.objectContaining({
            kind: "analysis",
            text: "success-rate 1/2: 0.995 meets >= 0.99 → successful",
            ok: true,
          }),
          expect.objectContaining({
            kind: "analysis",
            text: "success-rate 2/2: 0.9 does not meet >= 0.99 → failed",
            ok: false,
          }),
        ],
      }),
    ]);
    expect(model.traffic).toHaveLength(1);
    expect(model.traffic[0]?.points.map((p) => [p.weight, p.cause])).toEqual([
      [0, "before the shift"],
      [10, "shift-traffic[1]"],
      [0, "rollback of shift-traffic[1]"],
    ]);
    expect(model.rollbacks).toEqual([
      {
        start: Date.parse("2026-11-28T10:00:14.000Z"),
        end: Date.parse("2026-11-28T10:00:16.000Z"),
        reason: "gate failed",
        kinds: ["shift-traffic"],
      },
    ]);
    const pending = foldJournal(FAILED_GATE).pending;
    expect(pending.map((c: ChangeEntry) => c.address)).toEqual([
      "ServiceEntry shop/remote",
      "Secret shop/tls",
    ]);
    expect(model.rollbackPreview).toBe(renderRollbackPreview("shop", pending));
    expect(model.steps.find((s) => s.id === "shift-traffic[2]")?.runs).toEqual([]);
  });

  it("Given that journal, When it is rendered, Then the page escapes what it quotes, marks the Secret only as sensitive and lists a step not started", () => {
    const model = buildReport({
      playbook: "shop",
      location: "/state/shop",
      entries: FAILED_GATE,
      steps: STEPS,
    });
    const html = renderReportHtml(model, new Date("2026-11-28T11:00:00.000Z"));
    expect(html).toContain("1 of 2 measurements failed &lt;limit 0&gt;");
    expect(html).not.toContain("<limit 0>");
    expect(html).toContain("<code>+ Secret shop/tls</code> (sensitive: 2 keys)");
    const timeline = rows(section(html, "timeline"), "timeline");
    expect(timeline.map((cells) => cells[3])).toEqual(["passed", "passed", "failed", "not started"]);
    const pending = foldJournal(FAILED_GATE).pending;
    expect(text(section(html, "rollback"))).toContain(renderRollbackPreview("shop", pending).trimEnd());
    // Without the playbook's remote host, the remote destination is the host the shift added.
    expect(model.traffic[0]?.points.map((p) => p.weight)).toEqual([0, 10, 0]);
  });

  it("Given an approval nobody gave yet, When the report is built, Then the gate shows waiting up to the journal's end", () => {
    const entries = journal([
      { type: "run-started", playbook: "shop", pid: 1, host: "h" },
      { type: "step-started", step: "shift-traffic[2]", kind: "shift-traffic", gates: ["a"] },
      { type: "step-finished", step: "shift-traffic[2]", verification: { outcome: "passed" } },
      { type: "gate", step: "shift-traffic[2]", address: "shift-traffic[2]/approval", state: "waiting" },
    ]);
    const model = buildReport({ playbook: "shop", location: "/s", entries, steps: STEPS });
    expect(model.summary).toBe("waiting for approval at shift-traffic[2] (shift-traffic[2]/approval)");
    expect(model.gates).toEqual([
      expect.objectContaining({ address: "shift-traffic[2]/approval", state: "waiting", start: model.end }),
    ]);
    expect(model.rollbackPreview).toBeUndefined();
  });

  it("Given a migration closed by finish, When the report is built, Then it says rollback refuses, in rollback's words", () => {
    const entries = journal([
      ...FAILED_GATE.slice(0, 7).map(({ seq: _seq, time: _time, ...rest }) => rest),
      { type: "run-finished" },
      { type: "journal-closed", by: "finish" },
    ]);
    const model = buildReport({ playbook: "shop", location: "/s", entries, steps: STEPS.slice(0, 1) });
    expect(model.rollbackRefused).toMatch(
      /^rollback refused: `clustershift finish` closed the migration shop at /,
    );
    expect(model.rollbackPreview).toBeUndefined();
  });
  it("Given a step that stopped with an error (its step-failed note), When the report is built and rendered, Then the step shows failed with the error", () => {
    const entries = journal([
      { type: "run-started", playbook: "shop", pid: 1, host: "h" },
      { type: "step-started", step: "expose-target", kind: "expose-target", gates: [] },
      {
        type: "note",
        step: "expose-target",
        note: "step-failed",
        data: { error: "the target ingress has no address after 5m" },
      },
    ]);
    const model = buildReport({ playbook: "shop", location: "/s", entries, steps: STEPS });
    expect(model.steps[0]?.runs).toEqual([
      expect.objectContaining({ error: "the target ingress has no address after 5m", end: model.end }),
    ]);
    const timeline = rows(section(renderReportHtml(model, new Date(0)), "timeline"), "timeline");
    expect(timeline[0]?.slice(3)).toEqual(["failed", "the target ingress has no address after 5m"]);
  });
});
