import { copyFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT } from "../support/cli.js";
import { tempDir } from "../support/temp.js";
import { requireTool } from "../support/tools.js";
import { type Pane, shellQuote, TMUX, TmuxServer } from "../support/tmux.js";

/**
 * The README's "Rehearse a migration on the sandbox", typed into a real terminal (tmux, 120×50) word for word:
 * terminal 1 runs `clustershift sandbox --seed bookinfo --kubeconfig …`, terminal 2 exports KUBECONFIG and runs
 * plan, apply, status, report and rollback, answering the questions a terminal gets. Each command's screen is a
 * golden under __golden__/rehearsal-*.txt, after {@link normalise} took out what changes from run to run.
 *
 * Only the sandbox substrate: the rehearsal is the sandbox's by definition (the README's commands start it).
 */

const GOLDEN = resolve(import.meta.dirname, "__golden__");
const PLAYBOOK = "playbooks/bookinfo-sandbox.yaml";
/** The TTL wait alone is 30 s (the seeded record's TTL); the machine is busy: generous. */
const APPLY_TIMEOUT = 240_000;
const COMMAND_TIMEOUT = 60_000;

let dir: string;
const SANDBOX_LINE = (): string =>
  `clustershift sandbox --seed bookinfo --kubeconfig ${join(dir, "sandbox.kubeconfig")}`;
let server: TmuxServer;
let sandbox: Pane;
let shell: Pane;

/**
 * What varies between runs, and only that: the temp directory, the sandbox's random port, wall-clock
 * timestamps and measured durations (a task's `[1.2s]`, the summary's `time` line). Configured durations
 * (pauses, TTLs, timeouts) stay, since they come from the playbook.
 */
function normalise(screen: string): string {
  return (
    screen
      .replaceAll(dir, "<tmp>")
      .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
      .replace(/\[(\d+(\.\d+)?(ms|s|m|h) ?)+\]/g, "[<duration>]")
      .replace(
        /^( {2}time +)(.*)$/m,
        (_line, head: string, rest: string) => head + rest.replace(/\d+(\.\d+)?(ms|s|m|h)\b/g, "<d>"),
      )
      // The task tree's branch marker (`∥ beside lower-dns-ttl`) on a step of the main branch says whether the old TTL
      // was still running when that step started: a race with the clock. lower-dns-ttl's own marker is not (it starts
      // with provision-cluster), so it stays pinned.
      .replace(/^(?!.*Lower the TTL)(.*?) {2}∥ beside .*$/gm, "$1")
  );
}

/**
 * lower-dns-ttl needs only the record, so it runs beside provisioning and the mesh (issue 13.4): where its records
 * fall among theirs in the journal, and with them its place in `status` and in a rollback (newest first), depends on
 * which reply came first. Its lines are put in one place, the end of each listing, so that the golden pins
 * everything else; that it is there, once, the goldens still say.
 */
function pinParallelBranch(screen: string): string {
  const lines = screen.split("\n");
  const moved = (at: number, count: number, before: (line: string) => boolean) => {
    const taken = lines.splice(at, count);
    let to = lines.findIndex((line, i) => i >= at - 1 && before(line));
    if (to < 0) to = lines.length;
    lines.splice(to, 0, ...taken);
  };
  const status = lines.findIndex((line) => line === "  lower-dns-ttl: passed");
  if (status >= 0) moved(status, 1, (line) => !/^ {2}\S/.test(line) && !/^ {4}/.test(line));
  const block = lines.findIndex((line) => line === "lower-dns-ttl");
  if (block >= 0) {
    let end = block + 1;
    while (lines[end]?.startsWith("  ")) end++;
    moved(block, end - block, (line) => !/^(\S| {2})/.test(line) || line.startsWith("(") || line === "");
  }
  const undo = lines.findIndex((line) => line.startsWith("✔ Undo lower-dns-ttl "));
  if (undo >= 0) moved(undo, 1, (line) => !line.startsWith("✔ Undo "));
  return lines.join("\n");
}

/** bash with no rc files, the shim first on PATH, `$ ` as prompt and each command's exit code printed after it. */
function shellCommand(): string {
  const env = [
    // The user's terminal: no colour switches from the test runner's environment, no kubeconfig until exported.
    "-u NO_COLOR",
    "-u FORCE_COLOR",
    "-u CI",
    "-u KUBECONFIG",
    `PATH=${shellQuote(`${join(dir, "bin")}:${process.env.PATH ?? ""}`)}`,
    `PS1=${shellQuote("$ ")}`,
    `PROMPT_COMMAND=${shellQuote(`echo "(exit $?)"`)}`,
  ];
  return `env ${env.join(" ")} bash --norc --noprofile`;
}

const PROMPT_AFTER_EXIT = /\(exit (\d+)\)\n\$\n$/;

/** Waits for the prompt, then types `line`. */
async function enter(pane: Pane, line: string): Promise<void> {
  await pane.waitFor((screen) => screen.endsWith("$\n"), COMMAND_TIMEOUT);
  await pane.type(line);
  await pane.keys("Enter");
}

/**
 * The screen from the last time `line` was typed: each golden holds one command and what it printed. (Slicing
 * the scrollback rather than clearing the screen: bash's Ctrl-L, sent by tmux, did not clear it.)
 */
function since(screen: string, line: string, strict = true): string {
  const at = screen.lastIndexOf(`$ ${line}\n`);
  if (at < 0 && !strict) return "";
  if (at < 0) throw new Error(`\`${line}\` is not on the screen:\n${screen}`);
  return screen.slice(at);
}

/** Types `line` at the prompt; `answers` pairs a question on screen with the keys that answer it. */
async function command(
  pane: Pane,
  line: string,
  {
    answers = [],
    timeoutMs = COMMAND_TIMEOUT,
  }: { answers?: Array<[string, string[]]>; timeoutMs?: number } = {},
): Promise<{ screen: string; exit: number }> {
  await enter(pane, line);
  for (const [question, keys] of answers) {
    await pane.waitFor((screen) => since(screen, line, false).includes(question), timeoutMs);
    await pane.keys(...keys);
  }
  const screen = since(
    await pane.waitFor((whole) => PROMPT_AFTER_EXIT.test(since(whole, line, false)), timeoutMs),
    line,
  );
  return { screen, exit: Number(PROMPT_AFTER_EXIT.exec(screen)?.[1]) };
}

beforeAll(async () => {
  if (!TMUX) return;
  dir = await tempDir("rehearsal");
  // `clustershift` on PATH as the README's install section puts it there: the built CLI behind a shim.
  await mkdir(join(dir, "bin"));
  await writeFile(
    join(dir, "bin", "clustershift"),
    `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(CLI)} "$@"\n`,
    { mode: 0o755 },
  );
  // The README runs from the checkout; a copy of the playbook keeps the journal out of the working tree.
  await mkdir(join(dir, "playbooks"));
  await copyFile(join(ROOT, PLAYBOOK), join(dir, PLAYBOOK));
  server = new TmuxServer(join(dir, "tmux.sock"));
  sandbox = await server.session("rehearsal", shellCommand(), { cwd: dir, width: 120, height: 50 });
  shell = await server.window("rehearsal", "work", shellCommand(), { cwd: dir });
});

afterAll(async () => {
  await server?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the README's rehearsal in a real terminal (tmux)", () => {
  requireTool("tmux", Boolean(TMUX), "apt-get install tmux (.ci/run does)");

  it("Given terminal 1, When `clustershift sandbox --seed bookinfo` starts, Then it writes the kubeconfig and says how to rehearse", async () => {
    await enter(sandbox, SANDBOX_LINE());
    const screen = await sandbox.waitFor("Press Ctrl-C to stop.", COMMAND_TIMEOUT);

    expect(normalise(screen)).toContain("Kubeconfig written to <tmp>/sandbox.kubeconfig.");
    expect(screen).toContain(`clustershift plan -f ${PLAYBOOK}`);
    expect((await stat(join(dir, "sandbox.kubeconfig"))).isFile()).toBe(true);
  });

  it("Given the sandbox, When terminal 2 runs `plan`, Then it plans the whole migration, in colour", async () => {
    await command(shell, `export KUBECONFIG=${join(dir, "sandbox.kubeconfig")}`);
    const { screen, exit } = await command(shell, `clustershift plan -f ${PLAYBOOK}`);

    expect(exit).toBe(0);
    expect(screen).toMatch(/^Plan: \d+ to create, \d+ to update, 0 to delete/m);
    // Colour is on in a terminal (the goldens are read without escapes): the visible screen keeps its SGR codes.
    // eslint-disable-next-line no-control-regex -- an SGR sequence is exactly what is looked for
    expect(await shell.screen({ escapes: true })).toMatch(/\x1b\[[\d;]*m/);
    await expect(normalise(screen)).toMatchFileSnapshot(join(GOLDEN, "rehearsal-plan.txt"));
  });

  it(
    "Given the plan, When `apply` runs and its question is answered yes, Then the migration completes with a summary",
    async () => {
      const { screen, exit } = await command(shell, `clustershift apply -f ${PLAYBOOK}`, {
        answers: [["? Apply this plan? (y/N)", ["y", "Enter"]]],
        timeoutMs: APPLY_TIMEOUT,
      });

      expect(exit).toBe(0);
      expect(screen).toContain("Migration complete.");
      expect(screen).toMatch(/^ {2}dns +bookinfo\.example\.com\. A → 203\.0\.113\.\d+/m);
      await expect(normalise(screen)).toMatchFileSnapshot(join(GOLDEN, "rehearsal-apply.txt"));
    },
    APPLY_TIMEOUT + 30_000,
  );

  it("Given the applied migration, When `status` runs, Then it says the migration is complete", async () => {
    const { screen, exit } = await command(shell, `clustershift status -f ${PLAYBOOK}`);

    expect(exit).toBe(0);
    expect(screen).toMatch(/^bookinfo-sandbox: complete/m);
    expect(screen).toContain("lock: free");
    await expect(pinParallelBranch(normalise(screen))).toMatchFileSnapshot(
      join(GOLDEN, "rehearsal-status-applied.txt"),
    );
  });

  it("Given the journal, When `report` runs, Then it writes the HTML page where the README says", async () => {
    const { screen, exit } = await command(shell, `clustershift report -f ${PLAYBOOK}`);

    expect(exit).toBe(0);
    expect((await stat(join(dir, ".clustershift/bookinfo-sandbox-report.html"))).size).toBeGreaterThan(0);
    await expect(normalise(screen)).toMatchFileSnapshot(join(GOLDEN, "rehearsal-report.txt"));
  });

  it(
    "Given the applied migration, When `rollback` runs and its question is answered yes, Then it shows what it undoes first and restores everything",
    async () => {
      const { screen, exit } = await command(shell, `clustershift rollback -f ${PLAYBOOK}`, {
        answers: [[" journaled changes of bookinfo-sandbox? (y/N)", ["y", "Enter"]]],
        timeoutMs: APPLY_TIMEOUT,
      });

      expect(exit).toBe(0);
      // The preview comes before the question, and the question before the work.
      const preview = screen.indexOf("changes to undo, newest first:");
      const question = screen.search(/^\S Roll back \d+ journaled changes/m);
      const done = screen.search(/^Rolled back \d+ changes/m);
      expect(preview).toBeGreaterThanOrEqual(0);
      expect(question).toBeGreaterThan(preview);
      expect(done).toBeGreaterThan(question);
      await expect(pinParallelBranch(normalise(screen))).toMatchFileSnapshot(
        join(GOLDEN, "rehearsal-rollback.txt"),
      );
    },
    APPLY_TIMEOUT + 30_000,
  );

  it("Given the rolled-back migration, When `status` runs again, Then nothing is left to undo and the journal is closed", async () => {
    const { screen, exit } = await command(shell, `clustershift status -f ${PLAYBOOK}`);

    expect(exit).toBe(0);
    expect(screen).toMatch(/^bookinfo-sandbox: rolled back/m);
    expect(screen).toContain("0 journaled changes that rollback would undo.");
    await expect(normalise(screen)).toMatchFileSnapshot(join(GOLDEN, "rehearsal-status-rolled-back.txt"));
  });

  it("Given the sandbox in terminal 1, When Ctrl-C is pressed, Then it stops cleanly", async () => {
    await sandbox.keys("C-c");
    const screen = since(
      await sandbox.waitFor(
        (whole) => PROMPT_AFTER_EXIT.test(since(whole, SANDBOX_LINE(), false)),
        COMMAND_TIMEOUT,
      ),
      SANDBOX_LINE(),
    );

    expect(screen).toContain("Stopping the sandbox.");
    // Ctrl-C exits 130 everywhere (README, --help), the sandbox too; it has no journal to speak of.
    expect(PROMPT_AFTER_EXIT.exec(screen)?.[1]).toBe("130");
    expect(screen).not.toContain("journal");
    expect(screen).not.toMatch(/Error|^\s+at /m);
    await expect(normalise(screen)).toMatchFileSnapshot(join(GOLDEN, "rehearsal-sandbox.txt"));
  });
});
