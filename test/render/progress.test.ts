import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/engine/events.js";
import { createSink } from "../../src/render/progress.js";

const events: RunEvent[] = [
  { type: "run-started", playbook: "shop", steps: [{ id: "mirror-workloads", title: "Mirror workloads" }] },
  { type: "step-started", step: "mirror-workloads", title: "Mirror workloads" },
  { type: "change-applied", step: "mirror-workloads", address: "Secret shop/payment", action: "create" },
  {
    type: "wait-progress",
    step: "mirror-workloads",
    address: "rollout Deployment shop/web",
    detail: "1/2 ready",
  },
  {
    type: "wait-progress",
    step: "mirror-workloads",
    address: "rollout Deployment shop/web",
    detail: "1/2 ready",
  },
  { type: "step-finished", step: "mirror-workloads", verification: { outcome: "passed" }, elapsedMs: 2300 },
  {
    type: "gate-failed",
    step: "shift-traffic[2]",
    address: "shift-traffic[2]/analysis",
    detail: "0.93 < 0.99",
  },
  { type: "run-finished", outcome: "completed", message: "Migration complete." },
];

function capture(mode: "plain" | "json"): string {
  let text = "";
  const clock = new Date("2026-11-20T10:00:00.000Z");
  const sink = createSink(mode, { write: (chunk: string) => (text += chunk) }, () => clock);
  for (const event of events) sink.emit(event);
  sink.close();
  return text;
}

describe("progress output without a terminal", () => {
  it("Given a run's events, when rendered as plain lines, then each is timestamped and repeated waits are throttled", async () => {
    await expect(capture("plain")).toMatchFileSnapshot("__golden__/plain.txt");
  });

  it("Given a run's events, when rendered as NDJSON, then each line is one event with its time", () => {
    const lines = capture("json").trim().split("\n");
    expect(lines).toHaveLength(events.length);
    expect(JSON.parse(lines[0] ?? "")).toEqual({ time: "2026-11-20T10:00:00.000Z", ...events[0] });
  });
});

describe("progress output on a terminal", () => {
  it("Given a run's events, when drawn as a task tree, then the final frame shows each step with its icon and time", () => {
    let text = "";
    const sink = createSink("tty", { write: (chunk: string) => (text += chunk) });
    for (const event of events.slice(0, 6)) sink.emit(event);
    sink.close();
    const finalFrame = text.split("\x1b[0J").at(-1);
    expect(finalFrame).toBe("✔ Mirror workloads [2s]\n");
  });
});
