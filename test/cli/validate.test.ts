import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { ROOT, runCli, type CliResult } from "../support/cli.js";

const FIXTURES = "test/fixtures/playbooks";
const invalid = (await readdir(join(ROOT, FIXTURES)))
  .filter((f) => f.startsWith("invalid-") && f.endsWith(".yaml"))
  .sort();
const valid = (await readdir(join(ROOT, FIXTURES)))
  .filter((f) => f.startsWith("valid-") && f.endsWith(".yaml"))
  .sort();

/**
 * The CLI's `run` in this process, with stdout and stderr captured: what the process wrapper prints and exits
 * with. A child process per golden cost a Node start-up each (most of this file's time on a busy machine); the
 * child-process smoke tests below check that the built CLI behaves the same way.
 */
async function runInProcess(args: string[]): Promise<Omit<CliResult, "signal">> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

describe("clustershift validate (the CLI's run, in process)", () => {
  // No KUBECONFIG and no AWS endpoint: any network call would fail loudly instead of passing.
  const saved = { KUBECONFIG: process.env.KUBECONFIG, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL };
  beforeAll(() => {
    expect(process.cwd()).toBe(ROOT);
    process.env.KUBECONFIG = "/nonexistent";
    process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:9";
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("has at least 25 invalid playbooks to check", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(25);
  });

  it.each(invalid)(
    "Given %s, when validating, then it prints the expected diagnostics and exits 2",
    async (file) => {
      const path = `${FIXTURES}/${file}`;
      const expected = await readFile(join(ROOT, path.replace(/\.yaml$/, ".expected")), "utf8");
      const result = await runInProcess(["validate", "-f", path]);
      expect(result.stderr).toBe(expected);
      expect(result.stdout).toBe("");
      expect(result.code).toBe(2);
    },
  );

  it.each(valid)("Given %s, when validating, then it is accepted", async (file) => {
    const result = await runInProcess(["validate", "-f", `${FIXTURES}/${file}`]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/: valid playbook [a-z0-9-]+\n$/);
    expect(result.code).toBe(0);
  });

  it.each(["playbooks/online-boutique-to-csm.yaml", "playbooks/bookinfo-sandbox.yaml"])(
    "Given the example playbook %s, when validating, then it is accepted",
    async (file) => {
      const result = await runInProcess(["validate", "-f", file]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    },
  );

  it("Given a file that does not exist, then it exits 2 saying so", async () => {
    const result = await runInProcess(["validate", "-f", "no/such/playbook.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no/such/playbook.yaml");
  });

  it("Given an invalid playbook, when planning or applying, then it exits 2 before any call", async () => {
    for (const command of [["plan"], ["apply", "--yes"], ["rollback", "--yes"], ["status"]]) {
      const result = await runInProcess([
        ...command,
        "-f",
        `${FIXTURES}/invalid-same-context.yaml`,
        "--state-dir",
        "/nonexistent/state",
      ]);
      expect(result.code).toBe(2);
    }
  });
});

describe("clustershift validate (the built CLI, a real child process)", () => {
  it("Given an invalid playbook, when validating, then the process prints its golden diagnostics and exits 2", async () => {
    const path = `${FIXTURES}/invalid-same-context.yaml`;
    const expected = await readFile(join(ROOT, path.replace(/\.yaml$/, ".expected")), "utf8");
    const result = await runCli(["validate", "-f", path], {
      env: { KUBECONFIG: "/nonexistent", AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
    });
    expect(result.stderr).toBe(expected);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(2);
  });

  it("Given the example playbook, when validating, then the process says it is valid and exits 0", async () => {
    const result = await runCli(["validate", "-f", "playbooks/online-boutique-to-csm.yaml"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/: valid playbook [a-z0-9-]+\n$/);
    expect(result.code).toBe(0);
  });

  it("Given an invalid playbook, when planning, then the process exits 2 before any call", async () => {
    const result = await runCli([
      "plan",
      "-f",
      `${FIXTURES}/invalid-same-context.yaml`,
      "--state-dir",
      "/nonexistent/state",
    ]);
    expect(result.code).toBe(2);
  });
});

describe("usage", () => {
  it("Given an unknown command, then it exits 2", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  it("Given --help, then every command is listed", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const command of [
      "validate",
      "plan",
      "apply",
      "status",
      "promote",
      "rollback",
      "wizard",
      "sandbox",
      "demo",
      "schema",
    ]) {
      expect(result.stdout).toContain(`  ${command}`);
    }
  });

  it("Given schema, then it prints the playbook's JSON Schema", async () => {
    const result = await runCli(["schema"]);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { $id: string; properties: Record<string, unknown> };
    expect(schema.properties).toHaveProperty("spec");
  });
});
