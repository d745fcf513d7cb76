import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  formatDiagnostic,
  MAX_PLAYBOOK_BYTES,
  loadPlaybook,
  parsePlaybook,
} from "../../src/playbook/load.js";
import { useTempDir } from "../support/temp.js";
import { writeFile } from "node:fs/promises";

/** Paths as the CLI is given them from the repository root, so the goldens are exactly its stderr. */
const DIR = "test/playbook/__golden__";
const root = path.resolve(import.meta.dirname, "../..");

function lines(name: string): string[] {
  const file = `${DIR}/${name}`;
  const result = parsePlaybook(readFileSync(path.join(root, file), "utf8"), file);
  return result.ok ? [] : result.diagnostics.map(formatDiagnostic);
}

describe("names, system namespaces and selectors are checked as Kubernetes checks them", () => {
  it("Given namespaces, services and a GKE cluster name Kubernetes and GKE refuse, system namespaces, and bad label selectors, When validated, Then each is reported at its file:line:col with Kubernetes's words", async () => {
    await expect(lines("hostile-names.yaml").join("\n") + "\n").toMatchFileSnapshot(
      path.join(root, DIR, "hostile-names.expected"),
    );
  });

  it("Given system namespaces listed in spec.allowSystemNamespaces and a well-formed selector, When validated, Then it is accepted", () => {
    expect(lines("system-namespaces-allowed.yaml")).toEqual([]);
  });
});

describe("validation in linear time, and a size limit", () => {
  const dir = useTempDir("playbook-size");
  const withUnknownFields = (count: number) =>
    "apiVersion: clustershift.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: big\nspec:\n" +
    "  source: {context: a}\n  target: {context: b}\n" +
    Array.from({ length: count }, (_, i) => `  unknown${i}: 1\n`).join("");

  it("Given 100k unknown fields, When validated, Then every one is reported at its own line", () => {
    const count = 100_000;
    const started = performance.now();
    const result = parsePlaybook(withUnknownFields(count), "big.yaml");
    // Printed, not asserted: the time depends on the machine; it was 500 s when locating each was a scan.
    console.log(`${count} unknown fields validated in ${Math.round(performance.now() - started)} ms`);
    expect(result.ok).toBe(false);
    const diagnostics = result.ok ? [] : result.diagnostics;
    expect(diagnostics).toHaveLength(count);
    expect(formatDiagnostic(diagnostics[count - 1]!)).toBe(
      `big.yaml:${count + 7}:3: spec.unknown${count - 1}: unknown field "unknown${count - 1}"`,
    );
  });

  it("Given a file over the size limit, When loaded, Then it is refused before it is read, saying the limit", async () => {
    const file = path.join(dir(), "huge.yaml");
    await writeFile(file, Buffer.alloc(MAX_PLAYBOOK_BYTES + 1, "#"));
    await expect(loadPlaybook(file)).rejects.toThrow(
      `${file}: cannot read the playbook: ${MAX_PLAYBOOK_BYTES + 1} bytes, over the limit of 4 MiB; a playbook is a few KiB: is this the right file?`,
    );
  });
});
