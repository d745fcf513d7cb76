import { spawn } from "node:child_process";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DriftError } from "../../src/engine/errors.js";
import { LocalJournalStore } from "../../src/engine/journal/local-store.js";
import { Registry } from "../../src/engine/registry.js";
import { loadPlaybook } from "../../src/playbook/load.js";
import { CLI } from "../support/cli.js";
import { RunHarness } from "../support/harness.js";
import {
  APPROVAL_PLAYBOOK,
  PLUGIN,
  applyArgs,
  cli,
  ENGINE_PLAYBOOK,
  freshSandbox,
  rollbackArgs,
  setHealth,
  worldOf,
} from "./support.js";

const journalOf = async (state: string, name = "engine-test") =>
  (await readFile(join(state, name, "journal.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("plan", () => {
  it("Given the test steps, when planning, then it prints Terraform-like lines per step and the summary", async () => {
    const sandbox = await freshSandbox();
    const result = await cli(sandbox, ["plan", "-f", ENGINE_PLAYBOOK]);
    expect(result.code).toBe(0);
    await expect(result.stdout).toMatchFileSnapshot("__golden__/plan-engine-test.txt");
    expect(await worldOf(sandbox)).toEqual(await worldOf(await freshSandbox()));
  });

  it("Given a secret among the objects, when planning as JSON, then its values never appear", async () => {
    const sandbox = await freshSandbox();
    const result = await cli(sandbox, ["plan", "-f", ENGINE_PLAYBOOK, "-o", "json"]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("hunter2");
    const plan = JSON.parse(result.stdout) as {
      formatVersion: number;
      steps: { changes: { after?: unknown }[] }[];
    };
    expect(plan.formatVersion).toBe(2);
    expect(plan.steps[0]?.changes[2]?.after).toBe("(sensitive: 2 keys)");
  });
});

describe("apply, status, rollback", () => {
  it("Given a run, then the journal never holds secret values and rollback puts everything back", async () => {
    const sandbox = await freshSandbox();
    const before = await worldOf(sandbox);
    expect((await cli(sandbox, applyArgs())).code).toBe(0);
    const journal = await readFile(join(sandbox.state, "engine-test", "journal.jsonl"), "utf8");
    expect(journal).not.toContain("hunter2");
    expect(journal).toContain("(sensitive: 2 keys)");

    const status = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    expect(status.stdout).toContain("engine-test: completed");
    expect(status.stdout).toContain("lock: free");

    const back = await cli(sandbox, rollbackArgs());
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("Rolled back 6 changes;");
    expect(await worldOf(sandbox)).toEqual(before);
    expect((await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK])).stdout).toContain(
      "engine-test: rolled back",
    );
  });

  it("Given apply with -o json, then it streams NDJSON events", async () => {
    const sandbox = await freshSandbox();
    const result = await cli(sandbox, [...applyArgs(), "-o", "json"]);
    expect(result.code).toBe(0);
    const types = result.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types[0]).toBe("run-started");
    expect(types).toContain("step-started");
    expect(types).toContain("change-applied");
    expect(types).toContain("gate-passed");
    expect(types.at(-1)).toBe("run-finished");
  });

  it("Given a torn last journal line, when status and apply run, then it is ignored", async () => {
    const sandbox = await freshSandbox();
    expect((await cli(sandbox, applyArgs())).code).toBe(0);
    await appendFile(join(sandbox.state, "engine-test", "journal.jsonl"), '{"seq":999,"type":"cha');
    expect((await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK])).code).toBe(0);
    const again = await cli(sandbox, applyArgs());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("No changes. The migration is complete.");
    // The torn record is still there (nothing was appended after it) and every reader drops it.
    const entries = await new LocalJournalStore(sandbox.state, "engine-test").read();
    expect(entries.at(-1)?.type).toBe("run-finished");
  });
});

describe("gates", () => {
  it("Given a failing analysis gate with onFailure rollback, then apply exits 3 and the weights go back", async () => {
    const sandbox = await freshSandbox();
    await setHealth(sandbox, false);
    const result = await cli(sandbox, applyArgs());
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("gate set-weight[2]/analysis failed: health.json says not ok");
    const world = await worldOf(sandbox);
    expect(world["weight.json"]).toBe('{"weight":0}');
    expect(world["alpha.json"]).toBeDefined();
    expect((await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK])).stdout).toContain(
      "rolled back (set-weight)",
    );
  });

  it("Given an approval gate and --non-interactive, then the run stops (exit 0), promote passes it and apply goes on", async () => {
    const sandbox = await freshSandbox();
    const first = await cli(sandbox, applyArgs(APPROVAL_PLAYBOOK));
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Waiting for approval at set-weight[2]");
    expect((await worldOf(sandbox))["weight.json"]).toBe('{"weight":50}');
    const status = await cli(sandbox, ["status", "-f", APPROVAL_PLAYBOOK]);
    expect(status.stdout).toContain("approval-test: waiting for approval at set-weight[2]/approval");

    const promoted = await cli(sandbox, ["promote", "-f", APPROVAL_PLAYBOOK]);
    expect(promoted.code).toBe(0);
    const second = await cli(sandbox, applyArgs(APPROVAL_PLAYBOOK));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Migration complete.");
    expect((await worldOf(sandbox))["weight.json"]).toBe('{"weight":100}');
  });

  it("Given nothing waits, when promoting, then it is a usage error", async () => {
    const sandbox = await freshSandbox();
    const result = await cli(sandbox, ["promote", "-f", APPROVAL_PLAYBOOK]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("nothing to promote: the run is not started\n");
  });
});

describe("drift", () => {
  it("Given an object changes after the plan was approved, when the step re-plans, then apply stops, says what drifted and changes nothing", async () => {
    const sandbox = await freshSandbox();
    process.env.CLUSTERSHIFT_TEST_WORLD = sandbox.world;
    const registry = new Registry();
    ((await import(PLUGIN)) as { register: (r: Registry) => void }).register(registry);
    const harness = new RunHarness(registry, await loadPlaybook(ENGINE_PLAYBOOK), {
      options: { stateDir: sandbox.state, playbookFile: ENGINE_PLAYBOOK },
    });
    const run = harness.apply(async () => {
      await writeFile(join(sandbox.world, "alpha.json"), '{"name":"alpha","labels":{"team":"someone-else"}}');
      return true;
    });
    await expect(run).rejects.toThrow(
      [
        "seed-objects: the plan changed since it was shown; nothing of this step was changed:",
        "  alpha.json: approved create, now update",
        "Run `clustershift plan` to review, then `clustershift apply` again.",
      ].join("\n"),
    );
    await expect(run).rejects.toBeInstanceOf(DriftError);
    const world = await worldOf(sandbox);
    expect(world["alpha.json"]).toBe('{"name":"alpha","labels":{"team":"someone-else"}}');
    expect(world["secret-store.json"]).toBeUndefined();
  });
});

describe("locks", () => {
  it("Given two applies started together, then exactly one runs and the other exits 1 changing nothing", async () => {
    const sandbox = await freshSandbox();
    const [a, b] = await Promise.all([
      cli(sandbox, applyArgs(APPROVAL_PLAYBOOK)),
      cli(sandbox, applyArgs(APPROVAL_PLAYBOOK)),
    ]);
    const results = [a, b];
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code === 1);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]?.stderr).toMatch(
      new RegExp(`^error: locked by pid \\d+ on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`),
    );
    const starts = (await journalOf(sandbox.state, "approval-test")).filter((e) => e.type === "run-started");
    expect(starts).toHaveLength(1);
  });

  it("Given a lock left by a dead process on this host, then apply takes it over with a warning", async () => {
    const sandbox = await freshSandbox();
    // No pid reaches 9,999,999 (pid_max is at most 4,194,304), so this holder is surely gone.
    await mkdir(join(sandbox.state, "engine-test"), { recursive: true });
    await writeFile(
      join(sandbox.state, "engine-test", "lock.json"),
      JSON.stringify({ pid: 999_999_9, host: hostname(), since: "2026-01-01T00:00:00.000Z" }),
    );
    const result = await cli(sandbox, applyArgs());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("warning: taking over the lock of pid 9999999");
  });

  it("Given a lock held by a live process, when rolling back, then it exits 1 changing nothing", async () => {
    const sandbox = await freshSandbox();
    expect((await cli(sandbox, applyArgs())).code).toBe(0);
    await mkdir(join(sandbox.state, "engine-test"), { recursive: true });
    await writeFile(
      join(sandbox.state, "engine-test", "lock.json"),
      JSON.stringify({ pid: process.pid, host: hostname(), since: "2026-01-01T00:00:00.000Z" }),
    );
    const world = await worldOf(sandbox);
    const result = await cli(sandbox, rollbackArgs());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: locked by pid ${process.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z\n`,
    );
    expect(await worldOf(sandbox)).toEqual(world);
    const status = await cli(sandbox, ["status", "-f", ENGINE_PLAYBOOK]);
    expect(status.stdout).toContain(
      `lock: held by pid ${process.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z`,
    );
  });
});

describe("interruption", () => {
  it("Given apply waiting in a pause, when it gets SIGINT, then it stops with exit 130, the journal intact, and apply resumes", async () => {
    const sandbox = await freshSandbox();
    const child = spawn(
      process.execPath,
      [CLI, ...applyArgs(APPROVAL_PLAYBOOK), "--state-dir", sandbox.state],
      {
        env: { ...process.env, CLUSTERSHIFT_PLUGIN: PLUGIN, CLUSTERSHIFT_TEST_WORLD: sandbox.world },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    await new Promise<void>((ready) =>
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("= wait pause 1s")) ready();
      }),
    );
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain(
      "interrupted by SIGINT: no new change was started and the journal is intact; `clustershift apply` resumes, `clustershift rollback` goes back\n",
    );
    expect((await worldOf(sandbox))["weight.json"]).toBe('{"weight":10}');
    const resumed = await cli(sandbox, applyArgs(APPROVAL_PLAYBOOK));
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("Waiting for approval at set-weight[2]");
  });
});
