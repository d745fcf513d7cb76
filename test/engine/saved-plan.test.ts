import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { applyArgs, cli, ENGINE_PLAYBOOK, freshSandbox, worldOf, type Sandbox } from "./support.js";

/** `plan --out` of `playbook` into the sandbox's dir; returns the saved plan's path. */
async function savedPlan(sandbox: Sandbox, playbook = ENGINE_PLAYBOOK): Promise<string> {
  const out = join(sandbox.dir, "plan.json");
  const result = await cli(sandbox, ["plan", "-f", playbook, "--out", out]);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain(`Saved the plan to ${out}`);
  return out;
}

const applySaved = (sandbox: Sandbox, plan: string) =>
  cli(sandbox, ["apply", plan, "--yes", "--non-interactive"]);

describe("saved plans", () => {
  it("Given a plan saved with --out, When applying the file, Then exactly that plan is carried out, as a plain apply would, and no secret is in the file", async () => {
    const sandbox = await freshSandbox();
    const plan = await savedPlan(sandbox);
    expect(await readFile(plan, "utf8")).not.toContain("hunter2");
    const result = await applySaved(sandbox, plan);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Migration complete.");

    const plain = await freshSandbox();
    expect((await cli(plain, applyArgs())).code).toBe(0);
    expect(await worldOf(sandbox)).toEqual(await worldOf(plain));
  });

  it("Given a saved plan, When the world changes before it is applied, Then apply refuses naming the drift and writes nothing", async () => {
    const sandbox = await freshSandbox();
    const plan = await savedPlan(sandbox);
    await writeFile(join(sandbox.world, "alpha.json"), '{"name":"alpha","labels":{"team":"someone-else"}}');
    const world = await worldOf(sandbox);
    const result = await applySaved(sandbox, plan);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        "error: the saved plan no longer holds; nothing was changed:",
        "  seed-objects: alpha.json: approved create, now update",
        "Run `clustershift plan --out FILE` again to review and save a new plan.",
        "",
      ].join("\n"),
    );
    expect(await worldOf(sandbox)).toEqual(world);
    expect(existsSync(join(sandbox.state, "engine-test", "journal.jsonl"))).toBe(false);
  });

  it("Given a saved plan, When the playbook is edited or the journal moves before it is applied, Then apply refuses and says which", async () => {
    const sandbox = await freshSandbox();
    const playbook = join(sandbox.dir, "engine-test.yaml");
    await writeFile(playbook, await readFile(resolve(ROOT, ENGINE_PLAYBOOK), "utf8"));
    const plan = await savedPlan(sandbox, playbook);
    await writeFile(
      playbook,
      (await readFile(playbook, "utf8")).replace(
        "[alpha, beta, secret-store]",
        "[alpha, beta, secret-store, gamma]",
      ),
    );
    const edited = await applySaved(sandbox, plan);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(`the playbook ${playbook} changed since the plan`);

    const fresh = await freshSandbox();
    const second = await savedPlan(fresh);
    expect((await cli(fresh, applyArgs())).code).toBe(0);
    const moved = await applySaved(fresh, second);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/the journal moved since the plan \(entry 0 then, \d+ now\)/);
  });
  it("Given a plan saved by the previous format (1, changes without context), When applying it, Then it is carried out; a newer format is refused saying which it reads", async () => {
    const sandbox = await freshSandbox();
    const plan = await savedPlan(sandbox);
    const current = JSON.parse(await readFile(plan, "utf8")) as {
      formatVersion: number;
      steps: { plan: { changes: Record<string, unknown>[] } }[];
    };
    expect(current.formatVersion).toBe(2);
    const newer = join(sandbox.dir, "newer.json");
    await writeFile(newer, JSON.stringify({ ...current, formatVersion: 3 }));
    const refused = await applySaved(sandbox, newer);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${newer}: a saved plan of format 3; this clustershift reads formats 1 and 2. Run \`clustershift plan --out FILE\` again with this version.`,
    );
    for (const step of current.steps) for (const change of step.plan.changes) delete change.context;
    await writeFile(plan, JSON.stringify({ ...current, formatVersion: 1 }));
    const result = await applySaved(sandbox, plan);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Migration complete.");
  });
});
