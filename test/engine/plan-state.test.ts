import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APPROVAL_PLAYBOOK, applyArgs, cli, ENGINE_PLAYBOOK, freshSandbox, worldOf } from "./support.js";

const journalText = (state: string, name: string) => readFile(join(state, name, "journal.jsonl"), "utf8");

describe("state-aware plans", () => {
  it("Given a completed run, When planning (text and JSON) and applying again, Then both say No changes and nothing is journaled or written", async () => {
    const sandbox = await freshSandbox();
    expect((await cli(sandbox, applyArgs())).code).toBe(0);
    const world = await worldOf(sandbox);
    const journal = await journalText(sandbox.state, "engine-test");

    const text = await cli(sandbox, ["plan", "-f", ENGINE_PLAYBOOK]);
    expect(text.code).toBe(0);
    await expect(text.stdout).toMatchFileSnapshot("__golden__/plan-engine-test-complete.txt");
    const json = JSON.parse((await cli(sandbox, ["plan", "-f", ENGINE_PLAYBOOK, "-o", "json"])).stdout) as {
      complete: boolean;
      message: string;
      steps: { id: string; done: boolean; changes: unknown[] }[];
    };
    expect(json.complete).toBe(true);
    expect(json.message).toBe("No changes. The migration is complete.");
    expect(json.steps.every((step) => step.done && step.changes.length === 0)).toBe(true);

    const again = await cli(sandbox, applyArgs());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("No changes. The migration is complete.");
    // Not a weight of 10 or 50 proposed again: that would send traffic back to the source.
    expect(again.stdout).not.toContain("~ weight.json");
    expect(await worldOf(sandbox)).toEqual(world);
    expect(await journalText(sandbox.state, "engine-test")).toBe(journal);
  });

  it("Given a run stopped at an approval gate, When planning, Then done steps show as done, the open gate and only what remains are proposed", async () => {
    const sandbox = await freshSandbox();
    const first = await cli(sandbox, applyArgs(APPROVAL_PLAYBOOK));
    expect(first.stdout).toContain("Waiting for approval at set-weight[2]");
    const plan = await cli(sandbox, ["plan", "-f", APPROVAL_PLAYBOOK]);
    expect(plan.code).toBe(0);
    await expect(plan.stdout).toMatchFileSnapshot("__golden__/plan-approval-test-waiting.txt");
    const json = JSON.parse((await cli(sandbox, ["plan", "-f", APPROVAL_PLAYBOOK, "-o", "json"])).stdout) as {
      complete: boolean;
      steps: { id: string; done: boolean; changes: { action: string }[]; gates: { address: string }[] }[];
    };
    expect(json.complete).toBe(false);
    expect(
      json.steps.map((s) => [s.id, s.done, s.changes.map((c) => c.action), s.gates.map((g) => g.address)]),
    ).toEqual([
      ["set-weight[1]", true, [], []],
      ["set-weight[2]", true, [], ["set-weight[2]/approval"]],
      ["set-weight[3]", false, ["update"], []],
    ]);

    expect((await cli(sandbox, ["promote", "-f", APPROVAL_PLAYBOOK])).code).toBe(0);
    const resumed = await cli(sandbox, applyArgs(APPROVAL_PLAYBOOK));
    expect(resumed.stdout).toContain("Migration complete.");
    expect((await cli(sandbox, ["plan", "-f", APPROVAL_PLAYBOOK])).stdout).toContain(
      "No changes. The migration is complete.",
    );
  });

  it("Given a run killed right after journaling the change of set-weight[1], When planning, Then the finished step is done and the rest is planned from where the world stands", async () => {
    const sandbox = await freshSandbox();
    const killed = await cli(sandbox, applyArgs(), { CLUSTERSHIFT_CRASH_AFTER: "7" });
    expect(killed.signal).toBe("SIGKILL");
    const plan = await cli(sandbox, ["plan", "-f", ENGINE_PLAYBOOK]);
    expect(plan.code).toBe(0);
    await expect(plan.stdout).toMatchFileSnapshot("__golden__/plan-engine-test-resumed.txt");
  });
});
