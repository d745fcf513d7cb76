import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { applyArgs, cli, copySandbox, freshSandbox, rollbackArgs, worldOf } from "./support.js";

describe("crash safety (real child processes, SIGKILL after each journaled change)", () => {
  let initialWorld: Record<string, string>;
  let finalWorld: Record<string, string>;
  let crashPoints: number;

  beforeAll(async () => {
    const reference = await freshSandbox();
    initialWorld = await worldOf(reference);
    const run = await cli(reference, applyArgs());
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    finalWorld = await worldOf(reference);
    const journal = await readFile(join(reference.state, "engine-test", "journal.jsonl"), "utf8");
    crashPoints = journal.split("\n").filter((line) => /"type":"change(-applied)?"/.test(line)).length;
  });

  it("Given an uninterrupted run, then the journal holds a change and an applied record per write", () => {
    // 3 namespaces (one update of an existing object, two creates, one secret) + 3 weights, two records each.
    expect(crashPoints).toBe(12);
    expect(finalWorld["weight.json"]).toBe('{"weight":100}');
    expect(finalWorld["beta.json"]).toBe('{"name":"beta","labels":{"istio.io/rev":"asm-managed"}}');
  });

  it("Given apply killed after each journaled change, when apply runs again, then it finishes with the same final state; and rollback from the crash point restores the initial state", async () => {
    for (let point = 1; point <= crashPoints; point++) {
      const crashed = await freshSandbox();
      const killed = await cli(crashed, applyArgs(), { CLUSTERSHIFT_CRASH_AFTER: String(point) });
      expect(killed.signal, `crash point ${point}`).toBe("SIGKILL");

      const resumed = await copySandbox(crashed);
      const resume = await cli(resumed, applyArgs());
      expect(resume.code, `resume after crash point ${point}: ${resume.stderr}`).toBe(0);
      expect(resume.stdout).toContain("warning: taking over the lock of pid");
      expect(await worldOf(resumed), `world after resume from crash point ${point}`).toEqual(finalWorld);

      const back = await cli(crashed, rollbackArgs());
      expect(back.code, `rollback from crash point ${point}: ${back.stderr}`).toBe(0);
      expect(await worldOf(crashed), `world after rollback from crash point ${point}`).toEqual(initialWorld);
    }
  });
});
