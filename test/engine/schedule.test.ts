import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { apply as applyRun, promote } from "../../src/engine/executor.js";
import { foldJournal } from "../../src/engine/run-state.js";
import { criticalPath, scheduleOf } from "../../src/engine/schedule.js";
import { Registry } from "../../src/engine/registry.js";
import type { GateRunner, JournalEntry, Step } from "../../src/engine/types.js";
import { loadPlaybook } from "../../src/playbook/load.js";
import { registerBuiltins } from "../../src/steps/index.js";
import { inProcessEngine } from "../support/engine.js";
import { useTempDir } from "../support/temp.js";
import { cli, freshSandbox, type Sandbox } from "./support.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PLUGIN = resolve(ROOT, "test/engine/fixtures/parallel-steps.mjs");
const PLAYBOOK = "test/engine/fixtures/parallel.yaml";
const FILES = ["prov.json", "ttl.json", "mesh.json", "cut.json"];

const run = (sandbox: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}) =>
  cli(sandbox, [...args, "-f", PLAYBOOK], { CLUSTERSHIFT_PLUGIN: PLUGIN, ...env });
const apply = (sandbox: Sandbox, env: NodeJS.ProcessEnv = {}) =>
  run(sandbox, ["apply", "--yes", "--non-interactive"], env);

async function journalOf(sandbox: Sandbox): Promise<JournalEntry[]> {
  const text = await readFile(join(sandbox.state, "parallel-test", "journal.jsonl"), "utf8");
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as JournalEntry);
}

/** The sequence number of `step`'s record of `type` (the first one, or the last with `last`). */
function seqOf(journal: JournalEntry[], type: "step-started" | "step-finished", step: string, last = false) {
  const found = journal.filter((e) => e.type === type && "step" in e && e.step === step);
  const entry = last ? found.at(-1) : found[0];
  return entry?.seq ?? Number.NaN;
}

async function present(sandbox: Sandbox): Promise<string[]> {
  const here: string[] = [];
  for (const file of FILES) {
    if (
      await readFile(join(sandbox.world, file), "utf8").then(
        () => true,
        () => false,
      )
    )
      here.push(file);
  }
  return here;
}

describe("the built-in steps' schedule", () => {
  const registry = registerBuiltins(new Registry());
  const item = (kind: string, id = kind) => ({ step: registry.getStep(kind), instance: { id } });
  const steps = [
    item("provision-cluster"),
    item("enable-mesh"),
    item("install-ingress-gateway"),
    item("mirror-workloads"),
    item("expose-target"),
    item("shift-traffic", "shift-traffic[1]"),
    item("shift-traffic", "shift-traffic[2]"),
    item("lower-dns-ttl"),
    item("cutover-dns", "cutover-dns[switch]"),
    item("decommission-source"),
  ];

  it("Given a full playbook, When it is scheduled, Then lower-dns-ttl needs nothing and cutover-dns waits for it and the last traffic step", () => {
    const schedule = new Map(scheduleOf(registry, steps).map((s) => [s.id, s.needs]));
    expect(schedule.get("lower-dns-ttl")).toEqual([]);
    expect(schedule.get("cutover-dns[switch]")).toEqual([
      "shift-traffic[1]",
      "shift-traffic[2]",
      "lower-dns-ttl",
    ]);
    expect(schedule.get("shift-traffic[2]")).toContain("shift-traffic[1]");
    expect(schedule.get("shift-traffic[1]")).toEqual(["expose-target"]);
    expect(schedule.get("mirror-workloads")).toEqual(["enable-mesh", "install-ingress-gateway"]);
    expect(schedule.get("decommission-source")).toContain("cutover-dns[switch]");
  });

  it("Given a playbook without provisioning and mesh, When it is scheduled, Then a step stands on what the absent kinds needed", () => {
    const schedule = new Map(
      scheduleOf(registry, [item("mirror-workloads"), item("lower-dns-ttl"), item("cutover-dns")]).map(
        (s) => [s.id, s.needs],
      ),
    );
    expect(schedule.get("mirror-workloads")).toEqual([]);
    // No shift-traffic, no expose-target: the cutover stands on the mirror, as the run used to order them.
    expect(schedule.get("cutover-dns")).toEqual(["mirror-workloads", "lower-dns-ttl"]);
  });

  it("Given waits on two branches, When the critical path is computed, Then it is the longest chain, not their sum", () => {
    const schedule = scheduleOf(registry, steps);
    const waits = new Map<string, number>([
      ["provision-cluster", 6000],
      ["enable-mesh", 10_000],
      ["shift-traffic[1]", 3000],
      ["shift-traffic[2]", 3000],
      ["lower-dns-ttl", 30_000],
    ]);
    const path = criticalPath(schedule, waits);
    expect(path.steps).toEqual(["lower-dns-ttl", "cutover-dns[switch]", "decommission-source"]);
    expect(path.ms).toBe(30_000);
    expect(path.sumMs).toBe(52_000);
  });
});

describe("apply runs independent steps side by side (real child processes)", () => {
  it("Given steps that do not need each other, When applying, Then they overlap in the journal and the step that needs both starts after both", async () => {
    const sandbox = await freshSandbox();
    const result = await apply(sandbox);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const journal = await journalOf(sandbox);
    // ttl waits for mesh: mesh started while ttl was under way, and ttl finished after.
    expect(seqOf(journal, "step-started", "ttl")).toBeLessThan(seqOf(journal, "step-started", "mesh"));
    expect(seqOf(journal, "step-started", "mesh")).toBeLessThan(seqOf(journal, "step-finished", "ttl"));
    const cut = seqOf(journal, "step-started", "cut");
    for (const step of ["prov", "ttl", "mesh"])
      expect(seqOf(journal, "step-finished", step)).toBeLessThan(cut);
    expect(journal.at(-1)?.type).toBe("run-finished");
    expect(await present(sandbox)).toEqual(FILES);
  });

  it("Given one branch fails, When applying, Then the other stops with the journal intact, and apply resumes it where it stopped", async () => {
    const sandbox = await freshSandbox();
    await writeFile(join(sandbox.world, "_fail-mesh"), "");
    const failed = await apply(sandbox);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("mesh activation failed");
    const stopped = await journalOf(sandbox);
    // ttl was started, wrote its change, and was stopped in its wait: not finished, and nothing after mesh's failure.
    expect(seqOf(stopped, "step-started", "ttl")).toBeGreaterThan(0);
    expect(stopped.some((e) => e.type === "step-finished" && e.step === "ttl")).toBe(false);
    expect(stopped.some((e) => e.type === "step-started" && e.step === "cut")).toBe(false);
    expect(stopped.at(-1)).toMatchObject({ type: "note", step: "mesh", note: "step-failed" });
    // ttl did not fail: it was stopped, and says by whom, in the journal, the progress lines and status.
    expect(
      stopped.filter((e) => e.type === "note" && e.step === "ttl").map((e) => "note" in e && e.note),
    ).toEqual(["step-stopped"]);
    expect(stopped.find((e) => e.type === "note" && e.note === "step-stopped")).toMatchObject({
      data: { by: "mesh" },
    });
    expect(failed.stdout).toMatch(/ ttl: stopped after \S+ because mesh stopped the run\n/);
    expect(failed.stdout).not.toContain("ttl: failed");
    const status = (await run(sandbox, ["status"])).stdout;
    expect(status).toContain("mesh activation failed");
    expect(status).toContain("  ttl: stopped because mesh stopped the run\n");
    expect(status).toContain("  mesh: failed\n");

    await rm(join(sandbox.world, "_fail-mesh"));
    const resumed = await apply(sandbox);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const journal = await journalOf(sandbox);
    // ttl carried on from its wait: its change was journaled once, by the first run.
    expect(journal.filter((e) => e.type === "change" && e.step === "ttl")).toHaveLength(1);
    expect(seqOf(journal, "step-finished", "ttl")).toBeGreaterThan(stopped.length);
    expect(journal.at(-1)?.type).toBe("run-finished");
    expect(await present(sandbox)).toEqual(FILES);
  });

  it("Given a parallel run, When rolling back, Then everything is restored, newest change first", async () => {
    const sandbox = await freshSandbox();
    expect((await apply(sandbox)).code).toBe(0);
    const rolledBack = await run(sandbox, ["rollback", "--yes"]);
    expect(rolledBack.code).toBe(0);
    expect(await present(sandbox)).toEqual([]);
    const journal = await journalOf(sandbox);
    const reverted = journal.flatMap((e) => (e.type === "change-reverted" ? [e.ref] : []));
    const changes = journal.filter((e) => e.type === "change").map((e) => e.seq);
    expect(reverted).toEqual([...changes].reverse());
  });

  it("Given a crash (SIGKILL) after each journaled change of a parallel run, When applying again, Then each branch resumes, the run completes and rollback restores everything", async () => {
    // 4 changes, each journaled twice (change, change-applied): every point of the run.
    for (let crashAfter = 1; crashAfter <= 8; crashAfter++) {
      const sandbox = await freshSandbox();
      const crashed = await apply(sandbox, { CLUSTERSHIFT_CRASH_AFTER: String(crashAfter) });
      expect(crashed.code, `crash after ${crashAfter}`).not.toBe(0);
      const resumed = await apply(sandbox);
      expect(resumed.code, `resume after a crash at ${crashAfter}: ${resumed.stderr}`).toBe(0);
      expect(await present(sandbox)).toEqual(FILES);
      const journal = await journalOf(sandbox);
      // A change journaled but not made when the crash came is journaled again by the resumed run (write-ahead).
      const changed = new Set(journal.flatMap((e) => (e.type === "change" ? [e.address] : [])));
      expect([...changed].sort()).toEqual([...FILES].sort());
      expect((await run(sandbox, ["rollback", "--yes"])).code).toBe(0);
      expect(await present(sandbox), `rollback after a crash at ${crashAfter}`).toEqual([]);
    }
  }, 600_000);
});

/**
 * Two branches `a` and `b` (neither needs the other), each writing one entry of an in-memory world and then running a
 * gate of type `together`: both gates answer only once both are under way, with the same outcome, so that they
 * fail at once (the second failure arrives while the first is stopping the run).
 */
function togetherRun(onFailure: "rollback" | "pause", stateDir: string) {
  const world = new Map<string, string>();
  let entered = 0;
  let bothIn: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => (bothIn = resolve));
  const state = { failing: true, runs: 0 };
  const gate: GateRunner = {
    type: "together",
    describe: () => "together",
    async run() {
      state.runs += 1;
      if (!state.failing) return { outcome: "passed" };
      if (++entered === 2) bothIn();
      await barrier;
      return { outcome: "failed", detail: "the check failed" };
    },
  };
  const step = (kind: string): Step<unknown> => ({
    kind,
    needs: [],
    expand: () => [{ id: kind, title: `${kind} step`, spec: {} }],
    plan: () =>
      Promise.resolve({
        id: kind,
        kind,
        title: `${kind} step`,
        changes: world.has(kind) ? [] : [{ action: "create", address: kind, after: kind }],
        gates: [
          {
            address: `${kind}/together`,
            gate: { type: "together" },
            onFailure,
            detail: "together",
            rollbackKinds: [kind],
          },
        ],
      }),
    async apply(plan, ctx) {
      if (plan.changes.length > 0)
        await ctx.change({ address: kind, action: "create", after: kind }, () => {
          world.set(kind, kind);
          return Promise.resolve();
        });
    },
    verify: () => Promise.resolve({ outcome: "passed" }),
    rollback(entries) {
      for (const entry of entries) world.delete(entry.address);
      return Promise.resolve();
    },
  });
  const registry = new Registry().gate(gate).step(step("a")).step(step("b"));
  const made = async () => {
    const playbook = await loadPlaybook(PLAYBOOK);
    return inProcessEngine({ registry, playbook, stateDir });
  };
  const journal = async () => (await made()).engine.store.read();
  return { world, state, made, journal };
}

describe("a run whose branches stop together (in process)", () => {
  const dir = useTempDir("schedule-gates");

  it("Given gates on two branches that fail at once with onFailure rollback, When applying, Then both are journaled as failed and both branches are rolled back", async () => {
    const run = togetherRun("rollback", join(dir(), "rollback"));
    const { engine } = await run.made();
    await expect(applyRun(engine, () => Promise.resolve(true))).rejects.toThrow(
      /gate (a|b)\/together failed: the check failed; gate (a|b)\/together failed: the check failed\. Rolled back 2 changes of (a, b|b, a)\./,
    );
    const journal = await run.journal();
    const gates = journal.flatMap((e) => (e.type === "gate" ? [[e.address, e.state]] : []));
    expect(gates.sort()).toEqual([
      ["a/together", "failed"],
      ["b/together", "failed"],
    ]);
    expect(run.world.size).toBe(0);
    expect(journal.at(-1)).toMatchObject({ type: "rollback-finished" });
  });

  it("Given gates on two branches that fail at once with onFailure pause, When promoting and applying again, Then both were journaled as failed and paused, promote passes both and apply does not run them again", async () => {
    const run = togetherRun("pause", join(dir(), "pause"));
    const { engine } = await run.made();
    await expect(applyRun(engine, () => Promise.resolve(true))).rejects.toThrow(
      /The run is paused where it is/,
    );
    const paused = await run.journal();
    expect(paused.filter((e) => e.type === "gate" && e.state === "failed")).toHaveLength(2);
    expect(paused.filter((e) => e.type === "run-paused").map((e) => "gate" in e && e.gate)).toHaveLength(2);
    expect(foldJournal(paused).phase.phase).toBe("paused");

    expect(await promote((await run.made()).engine)).toMatch(/^Promoted (a|b)\/together, (a|b)\/together\./);
    run.state.failing = false;
    const outcome = await applyRun((await run.made()).engine, () => Promise.resolve(true));
    expect(outcome.outcome).toBe("completed");
    // Only the two runs of the first apply: the promoted gates are not run again.
    expect(run.state.runs).toBe(2);
    expect([...run.world.keys()].sort()).toEqual(["a", "b"]);
  });
});
