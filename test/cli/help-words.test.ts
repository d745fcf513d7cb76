import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { runCli } from "../support/cli.js";
import { useTempDir } from "../support/temp.js";

async function help(command: string): Promise<string> {
  let out = "";
  const code = await run([command, "--help"], {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: () => undefined },
  });
  expect(code).toBe(0);
  return out;
}

const SUBCOMMANDS = [
  "validate",
  "plan",
  "apply",
  "status",
  "report",
  "promote",
  "rollback",
  "finish",
  "wizard",
  "sandbox",
  "demo",
  "schema",
];
const NEED_A_PLAYBOOK = ["validate", "plan", "status", "report", "promote", "rollback", "finish"];

describe("subcommand help", () => {
  it.each(SUBCOMMANDS)(
    "Given `clustershift %s --help`, When read, Then it ends with examples of the command",
    async (command) => {
      const text = await help(command);
      expect(text).toMatch(
        new RegExp(`\\nExamples?:\\n(  .*\\n)*  (\\S+=\\S+ )?(npx )?clustershift ${command}\\b`),
      );
    },
  );

  it.each(NEED_A_PLAYBOOK)(
    "Given `clustershift %s --help`, When read, Then -f is marked required",
    async (command) => {
      expect(await help(command)).toContain("  -f, --file <playbook>  the playbook (YAML) (required)\n");
    },
  );

  it("Given `clustershift apply --help`, When read, Then -f is marked required unless a saved plan is given", async () => {
    expect(await help("apply")).toContain(
      "  -f, --file <playbook>  the playbook (YAML) (required, unless PLAN is given)\n",
    );
  });

  it("Given `clustershift wizard --help`, When read, Then it says which kubeconfig it reads", async () => {
    expect(await help("wizard")).toContain("KUBECONFIG");
  });

  it("Given `clustershift sandbox --help`, When read, Then it says state lives in memory and how to seed it", async () => {
    const text = await help("sandbox");
    expect(text).toContain("State lives in memory");
    expect(text).toContain("clustershift sandbox --seed bookinfo");
  });
});

describe("no raw Node or SDK words reach the user", () => {
  const dir = useTempDir("help-words");

  it("Given a directory where a file is written (sandbox --kubeconfig DIR), When the command fails, Then it says so in words and exits 1, not as a bug", async () => {
    const out = join(dir(), "plans");
    await mkdir(out);
    const result = await runCli(["sandbox", "--kubeconfig", out, "--clusters", "a"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${out} is a directory: give the path of a file there\n`);
  });

  it("Given google-auth's MetadataLookupWarning (this machine is not a GCE VM), When the CLI runs, Then nothing of it reaches stderr", async () => {
    // The warning as gcp-metadata emits it, while the command runs (here: as it ends).
    const emit = `process.once("beforeExit", () => process.emitWarning("received unexpected error = connect ECONNREFUSED", { type: "MetadataLookupWarning" }));`;
    const result = await runCli(["schema"], {
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(emit)}` },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const other = `process.once("beforeExit", () => process.emitWarning("something else", { type: "OtherWarning" }));`;
    const shown = await runCli(["schema"], {
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(other)}` },
    });
    expect(shown.stderr).toBe("warning: OtherWarning: something else\n");
  });
});
