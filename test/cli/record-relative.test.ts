import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePlaybook } from "../../src/playbook/load.js";
import { runCli } from "../support/cli.js";
import { REPO_ROOT } from "../support/fixtures.js";
import { useTempDir } from "../support/temp.js";

/** The shipped Bookinfo playbook with its `dns.record` line replaced. */
async function withRecord(record: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, "playbooks/bookinfo-sandbox.yaml"), "utf8");
  const changed = text.replace("record: bookinfo.example.com", `record: ${record}`);
  expect(changed).not.toBe(text);
  return changed;
}

describe("dns.record relative to dns.zone", () => {
  it.each([
    ["bookinfo", "bookinfo.example.com."],
    ['"@"', "example.com."],
    ["Bookinfo.Example.com", "Bookinfo.Example.com"],
    ["bookinfo.example.com.", "bookinfo.example.com."],
  ])(
    "Given record: %s in zone example.com., When the playbook is read, Then the record is %s",
    async (record, expected) => {
      const parsed = parsePlaybook(await withRecord(record), "pb.yaml");
      expect(parsed.ok && parsed.playbook.spec.dns?.record).toBe(expected);
    },
  );

  it("Given an absolute name outside the zone (final dot), When validated, Then it is still refused with its position", async () => {
    const parsed = parsePlaybook(await withRecord("shop.example.org."), "pb.yaml");
    expect(
      parsed.ok ? [] : parsed.diagnostics.map((d) => `${d.line}:${d.col}: ${d.path}: ${d.message}`),
    ).toEqual([
      '50:13: spec.dns.record: Invalid value: "shop.example.org.": must be inside zone "example.com."',
    ]);
  });

  const dir = useTempDir("record-relative");
  it("Given record: bookinfo, When `clustershift validate` runs, Then the playbook is valid", async () => {
    const file = join(dir(), "relative.yaml");
    await writeFile(file, await withRecord("bookinfo"));
    const result = await runCli(["validate", "-f", file]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`${file}: valid playbook bookinfo-sandbox\n`);
    expect(result.code).toBe(0);
  });
});
