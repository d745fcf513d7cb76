import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyArgs, cli, ENGINE_PLAYBOOK, freshSandbox, rollbackArgs } from "../engine/support.js";

/** Times and the temp dir vary from run to run; everything else is compared exactly. */
const normal = (text: string, dir: string) =>
  text.replaceAll(dir, "DIR").replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "TIME");

describe("status after a failed apply", () => {
  it("Given a step that fails half-way, When status runs, Then it names the failed step, the error and the two ways forward, and both work", async () => {
    const sandbox = await freshSandbox();
    // The second step writes weight.json: a directory in its place makes the write fail, as a broken cluster would.
    await rm(join(sandbox.world, "weight.json"), { force: true });
    await mkdir(join(sandbox.world, "weight.json"));
    const failed = await cli(sandbox, applyArgs());
    expect(failed.code).toBe(1);

    const status = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    expect(status.code).toBe(0);
    const error = "EISDIR: illegal operation on a directory, open 'DIR/world/weight.json'";
    expect(normal(status.stdout, sandbox.dir)).toBe(
      [
        "engine-test: failed at set-weight[1]",
        `error: ${error}`,
        "journal: DIR/state/engine-test",
        "lock: free",
        "last entry: TIME",
        "",
        "steps:",
        "  seed-objects: passed",
        "  set-weight[1]: failed",
        "",
        "4 journaled changes that rollback would undo.",
        "",
        "Two ways forward:",
        `  fix the cause, then resume: clustershift apply -f ${ENGINE_PLAYBOOK} --state-dir DIR/state`,
        `  or undo what the run did:   clustershift rollback -f ${ENGINE_PLAYBOOK} --state-dir DIR/state`,
        "",
      ].join("\n"),
    );
    const json = JSON.parse((await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK, "-o", "json"])).stdout) as {
      summary: string;
      failure: { step: string; error: string };
    };
    expect(json.summary).toBe("failed at set-weight[1]");
    expect({ ...json.failure, error: normal(json.failure.error, sandbox.dir) }).toEqual({
      step: "set-weight[1]",
      error,
      time: expect.any(String) as unknown,
    });

    // Way forward 1: fix the cause and apply again; status no longer speaks of the failure.
    await rm(join(sandbox.world, "weight.json"), { recursive: true });
    expect((await cli(sandbox, applyArgs())).code).toBe(0);
    const after = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    expect(after.stdout.split("\n")[0]).toBe("engine-test: completed");
    expect(after.stdout).not.toContain("Two ways forward");
  });

  it("Given a step that fails half-way, When rolling back instead (the other way forward), Then status says rolled back and names no failure", async () => {
    const sandbox = await freshSandbox();
    await rm(join(sandbox.world, "weight.json"), { force: true });
    await mkdir(join(sandbox.world, "weight.json"));
    expect((await cli(sandbox, applyArgs())).code).toBe(1);
    // The fixture's delete of weight.json (journaled before the write that failed) cannot remove a directory.
    await rm(join(sandbox.world, "weight.json"), { recursive: true });
    const back = await cli(sandbox, rollbackArgs());
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("Rolled back 4 changes; the clusters and DNS are as they were.");
    const status = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    expect(status.stdout.split("\n")[0]).toBe("engine-test: rolled back; the journal is closed");
    expect(status.stdout).not.toContain("error:");
  });

  it("Given a run that stopped without an error journaled (killed), When status runs with the lock free, Then it says stopped and interrupted, not running", async () => {
    const sandbox = await freshSandbox();
    // Killed at once: the first records are journaled, no failure note is (SIGKILL leaves no time to write one).
    const killed = await cli(sandbox, applyArgs(), { CLUSTERSHIFT_CRASH_AFTER: "2" });
    expect(killed.code === null || killed.code !== 0).toBe(true);
    const status = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    const lines = status.stdout.split("\n");
    expect(lines[0]).toMatch(/^engine-test: stopped at seed-objects: interrupted, no run holds the lock$/);
    expect(status.stdout).toContain("lock: free");
    expect(status.stdout).toContain("  resume where it stopped:    clustershift apply -f ");
  });
});

describe("a run that fails before writing anything", () => {
  it("Given a playbook whose plan fails (no such kubeconfig context), When apply runs, Then it exits 1 and leaves no state folder", async () => {
    const sandbox = await freshSandbox();
    const result = await cli(sandbox, ["apply", "-f", "playbooks/bookinfo-sandbox.yaml", "--yes"], {
      KUBECONFIG: join(sandbox.dir, "missing.kubeconfig"),
      CLUSTERSHIFT_PLUGIN: "",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: /);
    await expect(readdir(sandbox.state)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
