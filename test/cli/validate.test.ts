import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";

const FIXTURES = "test/fixtures/playbooks";
const invalid = (await readdir(join(ROOT, FIXTURES)))
  .filter((f) => f.startsWith("invalid-") && f.endsWith(".yaml"))
  .sort();
const valid = (await readdir(join(ROOT, FIXTURES)))
  .filter((f) => f.startsWith("valid-") && f.endsWith(".yaml"))
  .sort();

describe("clustershift validate (the real CLI process)", () => {
  it("has at least 25 invalid playbooks to check", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(25);
  });

  it.each(invalid)(
    "Given %s, when validating, then it prints the expected diagnostics and exits 2",
    async (file) => {
      const path = `${FIXTURES}/${file}`;
      const expected = await readFile(join(ROOT, path.replace(/\.yaml$/, ".expected")), "utf8");
      // No KUBECONFIG and no AWS endpoint: any network call would fail loudly instead of passing.
      const result = await runCli(["validate", "-f", path], {
        env: { KUBECONFIG: "/nonexistent", AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
      });
      expect(result.stderr).toBe(expected);
      expect(result.stdout).toBe("");
      expect(result.code).toBe(2);
    },
  );

  it.each(valid)("Given %s, when validating, then it is accepted", async (file) => {
    const result = await runCli(["validate", "-f", `${FIXTURES}/${file}`]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/: valid playbook [a-z0-9-]+\n$/);
    expect(result.code).toBe(0);
  });

  it.each(["playbooks/online-boutique-to-csm.yaml", "playbooks/bookinfo-sandbox.yaml"])(
    "Given the example playbook %s, when validating, then it is accepted",
    async (file) => {
      const result = await runCli(["validate", "-f", file]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    },
  );

  it("Given a file that does not exist, then it exits 2 saying so", async () => {
    const result = await runCli(["validate", "-f", "no/such/playbook.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no/such/playbook.yaml");
  });

  it("Given an invalid playbook, when planning or applying, then it exits 2 before any call", async () => {
    for (const command of [["plan"], ["apply", "--yes"], ["rollback", "--yes"], ["status"]]) {
      const result = await runCli([
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
