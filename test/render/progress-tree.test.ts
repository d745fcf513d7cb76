import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/engine/events.js";
import { createSink, describeEvent } from "../../src/render/progress.js";

const ESC = String.fromCharCode(27);
const CONTROL = new RegExp(`(${ESC}\\[\\d+A|${ESC}\\[0J|\n)`);
const UP = new RegExp(`^${ESC}\\[(\\d+)A$`);
const CLEAR = `${ESC}[0J`;

/** Plays `events` into a terminal sink, then `after` writes below it as the CLI does; returns the screen. */
function screen(events: RunEvent[], after = "", columns?: number): string {
  const rows: string[] = [""];
  // A terminal of our own: text goes at the cursor, `ESC[nA` moves up, `ESC[0J` clears to the end.
  let row = 0;
  const write = (chunk: string) => {
    for (const part of chunk.split(CONTROL)) {
      const up = UP.exec(part);
      if (up) {
        row = Math.max(0, row - Number(up[1]));
      } else if (part === CLEAR) {
        rows.splice(row + 1, rows.length);
        rows[row] = "";
      } else if (part === "\n") {
        row += 1;
        if (rows.length <= row) rows.push("");
      } else {
        rows[row] = (rows[row] ?? "") + part;
      }
    }
  };
  const sink = createSink("tty", { write, ...(columns ? { columns } : {}) });
  for (const event of events) sink.emit(event);
  sink.close();
  write(after);
  return rows
    .join("\n")
    .replace(/ \[\d+ms\]/g, " [t]")
    .replace(/\n+$/, "\n");
}

const rollbackEvents: RunEvent[] = [
  {
    type: "rollback-started",
    reason: "rollback requested",
    steps: [
      { step: "cutover-dns", changes: 1 },
      { step: "shift-traffic[1]", changes: 1 },
      { step: "mirror-workloads", changes: 2 },
    ],
  },
  {
    type: "wait-progress",
    step: "cutover-dns",
    address: "route53 change shop.example.com. A",
    detail: "INSYNC",
  },
  {
    type: "change-reverted",
    step: "cutover-dns",
    address: "route53 record shop.example.com. A",
    action: "update",
  },
  { type: "change-reverted", step: "shift-traffic[1]", address: "VirtualService shop/web", action: "update" },
  { type: "info", step: "mirror-workloads", message: "kept Namespace shop: not empty" },
  { type: "change-reverted", step: "mirror-workloads", address: "Deployment shop/web", action: "create" },
  { type: "change-reverted", step: "mirror-workloads", address: "Namespace shop", action: "create" },
  { type: "rollback-finished", reverted: 4 },
];

describe("the task tree on a terminal", () => {
  it("Given a rollback on its own, When drawn, Then the tree lists only the steps it undoes, each once and done, and the closing line stays below it", () => {
    const text = screen(rollbackEvents, "Rolled back 4 changes; the clusters and DNS are as they were.\n");
    expect(text).toBe(
      [
        "rollback: 4 changes to undo, newest first",
        "mirror-workloads: kept Namespace shop: not empty",
        "✔ Undo cutover-dns (1/1 change) [t]",
        "✔ Undo shift-traffic[1] (1/1 change) [t]",
        "✔ Undo mirror-workloads (2/2 changes) [t]",
        "Rolled back 4 changes; the clusters and DNS are as they were.",
        "",
      ].join("\n"),
    );
  });

  it("Given an apply, When the run finishes, Then its message comes after the last frame of the tree, not above it", () => {
    const text = screen([
      {
        type: "run-started",
        playbook: "shop",
        steps: [{ id: "mirror-workloads", title: "Mirror workloads" }],
      },
      { type: "step-started", step: "mirror-workloads", title: "Mirror workloads" },
      {
        type: "step-finished",
        step: "mirror-workloads",
        verification: { outcome: "passed" },
        elapsedMs: 2300,
      },
      { type: "run-finished", outcome: "completed", message: "Migration complete." },
    ]);
    expect(text).toBe("✔ Mirror workloads [2s]\nMigration complete.\n");
  });

  it("Given a narrow terminal, When a wait's detail is longer than a row, Then the line is cut so that the redraw leaves nothing behind", () => {
    const text = screen(
      [
        { type: "run-started", playbook: "shop", steps: [{ id: "lower-dns-ttl", title: "Lower the TTL" }] },
        { type: "step-started", step: "lower-dns-ttl", title: "Lower the TTL" },
        {
          type: "wait-progress",
          step: "lower-dns-ttl",
          address: "route53 ttl shop.example.com. A",
          detail: "waiting out the old TTL: 300s left",
        },
        { type: "step-failed", step: "lower-dns-ttl", error: "interrupted by SIGINT", elapsedMs: 1000 },
      ],
      "",
      30,
    );
    expect(text).toBe("✖ Lower the TTL [1s]\n  └ interrupted by SIGINT\n");
    const long = screen(
      [
        { type: "run-started", playbook: "shop", steps: [{ id: "lower-dns-ttl", title: "Lower the TTL" }] },
        { type: "step-started", step: "lower-dns-ttl", title: "Lower the TTL" },
        {
          type: "step-failed",
          step: "lower-dns-ttl",
          error: "the zone example.com. answered SERVFAIL",
          elapsedMs: 1000,
        },
      ],
      "",
      30,
    );
    expect(long).toBe("✖ Lower the TTL [1s]\n  └ the zone example.com. an…\n");
  });
});

describe("the task tree of a run whose steps run side by side", () => {
  const steps = [
    { id: "provision-cluster", title: "Provision the target" },
    { id: "enable-mesh", title: "Enable the mesh" },
    { id: "lower-dns-ttl", title: "Lower the TTL" },
    { id: "cutover-dns", title: "Cut over DNS" },
  ];
  const ttlWait = (detail: string): RunEvent => ({
    type: "wait-progress",
    step: "lower-dns-ttl",
    address: "route53 ttl shop.example.com. A",
    detail,
  });
  const overlapping: RunEvent[] = [
    { type: "run-started", playbook: "shop", steps },
    { type: "step-started", step: "provision-cluster", title: "Provision the target" },
    { type: "step-started", step: "lower-dns-ttl", title: "Lower the TTL" },
    {
      type: "change-applied",
      step: "lower-dns-ttl",
      address: "route53 record shop.example.com. A",
      action: "update",
    },
    {
      type: "change-applied",
      step: "provision-cluster",
      address: "sandbox cluster target",
      action: "create",
    },
    ttlWait("waiting out the old TTL: 300s left"),
    {
      type: "wait-progress",
      step: "provision-cluster",
      address: "sandbox cluster target",
      detail: "RUNNING",
    },
    ttlWait("waiting out the old TTL: 290s left"),
    {
      type: "step-finished",
      step: "provision-cluster",
      verification: { outcome: "passed" },
      elapsedMs: 6000,
    },
    { type: "step-started", step: "enable-mesh", title: "Enable the mesh" },
    { type: "wait-progress", step: "enable-mesh", address: "mesh feature", detail: "ACTIVE in 1 of 2" },
    ttlWait("waiting out the old TTL: 200s left"),
  ];
  // Elapsed times of running steps depend on the machine's speed: not asserted.
  const stable = (text: string) => text.replace(/ \[[\d.]+(ms|s|m)[\dsm]*\]/g, " [t]");

  it("Given two steps whose events interleave, When drawn, Then each step's latest line stays under its own heading and the later one is marked as beside the earlier", () => {
    const text = stable(screen(overlapping.slice(0, 8)));
    expect(text).toBe(
      [
        "… Provision the target [t]",
        "  └ = wait sandbox cluster target: RUNNING",
        "○ Enable the mesh",
        "… Lower the TTL [t]  ∥ beside provision-cluster",
        "  └ = wait route53 ttl shop.example.com. A: waiting out the old TTL: 290s left",
        "○ Cut over DNS",
        "",
      ].join("\n"),
    );
  });

  it("Given the first branch moves on while the other still waits, When drawn, Then the next step is marked as beside the one still running, and the done step keeps its time", () => {
    const text = stable(screen(overlapping));
    expect(text).toBe(
      [
        "✔ Provision the target [t]",
        "… Enable the mesh [t]  ∥ beside lower-dns-ttl",
        "  └ = wait mesh feature: ACTIVE in 1 of 2",
        "… Lower the TTL [t]  ∥ beside provision-cluster",
        "  └ = wait route53 ttl shop.example.com. A: waiting out the old TTL: 200s left",
        "○ Cut over DNS",
        "",
      ].join("\n"),
    );
  });

  it("Given one branch fails and stops the run, When drawn, Then the other branch reads as stopped by it, not failed", () => {
    const text = stable(
      screen([
        ...overlapping.slice(0, 8),
        { type: "step-failed", step: "provision-cluster", error: "quota exceeded", elapsedMs: 6000 },
        { type: "step-stopped", step: "lower-dns-ttl", by: "provision-cluster", elapsedMs: 6000 },
      ]),
    );
    expect(text).toBe(
      [
        "✖ Provision the target [t]",
        "  └ quota exceeded",
        "○ Enable the mesh",
        "■ Lower the TTL [t]  ∥ beside provision-cluster",
        "  └ because provision-cluster stopped the run",
        "○ Cut over DNS",
        "",
      ].join("\n"),
    );
    expect(
      describeEvent({
        type: "step-stopped",
        step: "lower-dns-ttl",
        by: "provision-cluster",
        elapsedMs: 6000,
      }),
    ).toBe("lower-dns-ttl: stopped after 6s because provision-cluster stopped the run");
  });

  it("Given steps one after another, When drawn, Then no step carries a branch marker", () => {
    const text = screen([
      { type: "run-started", playbook: "shop", steps: steps.slice(0, 2) },
      { type: "step-started", step: "provision-cluster", title: "Provision the target" },
      {
        type: "step-finished",
        step: "provision-cluster",
        verification: { outcome: "passed" },
        elapsedMs: 6000,
      },
      { type: "step-started", step: "enable-mesh", title: "Enable the mesh" },
      { type: "step-finished", step: "enable-mesh", verification: { outcome: "passed" }, elapsedMs: 10_000 },
    ]);
    expect(text).toBe("✔ Provision the target [6s]\n✔ Enable the mesh [10s]\n");
  });
});
