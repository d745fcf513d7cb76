import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parsePlaybook } from "../../src/playbook/load.js";
import { defaultNotes, renderDefaultNotes } from "../../src/render/defaults.js";

const BOOKINFO = "playbooks/bookinfo-sandbox.yaml";

async function notesOf(edit: (raw: { spec: Record<string, Record<string, unknown>> }) => void) {
  const raw = parse(await readFile(BOOKINFO, "utf8")) as { spec: Record<string, Record<string, unknown>> };
  edit(raw);
  const parsed = parsePlaybook(JSON.stringify(raw), BOOKINFO);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.diagnostics));
  return defaultNotes(raw, parsed.playbook);
}

describe("defaults the playbook leaves unsaid", () => {
  it("Given the sandbox playbook as shipped, When its defaults are listed, Then only the exclusions, the DNS target and the TTL after the cutover are named", async () => {
    const notes = await notesOf(() => undefined);

    expect(notes.map((note) => `${note.path}: ${note.value}`)).toEqual([
      "spec.workloads.exclude: []",
      "spec.dns.target: the target ingress address",
      "spec.dns.restoreTtl: false",
    ]);
  });

  it("Given a playbook without traffic.onFailure, scope, hosts and dns.lowTtl, When its defaults are listed, Then each is named with the value taken", async () => {
    const notes = await notesOf((raw) => {
      for (const field of ["onFailure", "scope", "hosts"]) delete raw.spec.traffic?.[field];
      delete raw.spec.dns?.lowTtl;
    });

    expect(notes.map((note) => `${note.path}: ${note.value}`)).toEqual([
      "spec.workloads.exclude: []",
      "spec.traffic.hosts: every host",
      "spec.traffic.scope: app",
      "spec.traffic.onFailure: rollback",
      "spec.dns.lowTtl: 60",
      "spec.dns.target: the target ingress address",
      "spec.dns.restoreTtl: false",
    ]);
  });

  it("Given a playbook that says everything itself, When the notes are rendered, Then there is no warning at all", async () => {
    const notes = await notesOf((raw) => {
      raw.spec.workloads = { ...raw.spec.workloads, exclude: [] };
      raw.spec.dns = { ...raw.spec.dns, target: "203.0.113.9", restoreTtl: true };
    });

    expect(notes).toEqual([]);
    expect(renderDefaultNotes(notes)).toBe("");
  });

  it("Given two defaults, When rendered, Then a Warning: line says how to make them explicit, and each default has its line", () => {
    const text = renderDefaultNotes([
      { path: "spec.traffic.onFailure", value: "rollback", means: "a failed gate rolls the whole run back" },
      { path: "spec.dns.lowTtl", value: "60", means: "seconds of TTL set before the cutover" },
    ]);

    expect(text.split("\n")).toEqual([
      "",
      "Warning: defaults the playbook leaves unsaid (write them in it to make them explicit):",
      "  spec.traffic.onFailure: rollback  a failed gate rolls the whole run back",
      "  spec.dns.lowTtl: 60               seconds of TTL set before the cutover",
      "",
    ]);
  });
});
