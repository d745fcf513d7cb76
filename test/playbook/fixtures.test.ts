import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, parsePlaybook } from "../../src/playbook/load.js";

/** Paths as the CLI is given them from the repository root, so the goldens are exactly its stderr. */
const DIR = "test/fixtures/playbooks";
const root = path.resolve(import.meta.dirname, "../..");
const files = readdirSync(path.join(root, DIR)).filter((name) => name.endsWith(".yaml"));
const invalid = files.filter((name) => name.startsWith("invalid-"));
const valid = files.filter((name) => name.startsWith("valid-"));

function parseFixture(name: string) {
  const file = `${DIR}/${name}`;
  return parsePlaybook(readFileSync(path.join(root, file), "utf8"), file);
}

describe("invalid playbook fixtures", () => {
  it("Given the fixture directory, When it is listed, Then it holds at least 25 invalid playbooks", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(25);
  });

  it.each(invalid)(
    "Given %s, When it is parsed, Then the diagnostics are exactly its .expected lines",
    async (name) => {
      const result = parseFixture(name);
      expect(result.ok).toBe(false);
      const lines = result.ok ? [] : result.diagnostics.map(formatDiagnostic);
      expect(lines.length).toBeGreaterThan(0);
      await expect(lines.join("\n") + "\n").toMatchFileSnapshot(
        path.join(root, DIR, name.replace(/\.yaml$/, ".expected")),
      );
    },
  );
});

describe("valid playbook fixtures", () => {
  it.each(valid)("Given %s, When it is parsed, Then it is accepted", (name) => {
    const result = parseFixture(name);
    expect(result.ok ? [] : result.diagnostics.map(formatDiagnostic)).toEqual([]);
  });
});
