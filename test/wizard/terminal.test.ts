import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePlaybook } from "../../src/playbook/load.js";
import { CANCELLED, NEEDS_TERMINAL } from "../../src/wizard/index.js";
import { ROOT, runCli } from "../support/cli.js";
import { seededSandbox, type SeededSandbox } from "./seed.js";
import { requireTool } from "../support/tools.js";
import { isWrite } from "../cli/request-log.js";

/**
 * The wizard in a real terminal: tmux gives it a pty of 200×50, keys go in with `send-keys`, and the screen is
 * read back with `capture-pane`, so raw mode, cursor movement and Ctrl-C are the terminal's, not a test double's.
 */

const run = promisify(execFile);
const TMUX = ["/usr/bin/tmux", "/usr/local/bin/tmux"].find((path) => existsSync(path)) ?? whichTmux();

function whichTmux(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v tmux"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `clustershift wizard`, built. */
const ENTRY = [resolve(ROOT, "dist/bin/main.js"), "wizard"];

let world: SeededSandbox;
let socket: string;

beforeAll(async () => {
  if (!TMUX) return;
  world = await seededSandbox();
  socket = join(world.dir, "tmux.sock");
});

afterAll(async () => {
  if (TMUX && socket) await run(TMUX, ["-S", socket, "kill-server"]).catch(() => undefined);
  await world?.stop();
});

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

class Terminal {
  constructor(readonly session: string) {}

  /** `environment`: how the wizard finds its kubeconfig, as a shell prefix; default the seeded sandbox's. */
  static async open(
    session: string,
    dir: string,
    out: string,
    environment = `KUBECONFIG=${quote(world.kubeconfig)}`,
  ): Promise<Terminal> {
    const command = [
      `cd ${quote(dir)}`,
      // The exit code stays on screen; the session lives on until the server is killed.
      `${environment} ${quote(process.execPath)} ${ENTRY.map(quote).join(" ")} --out ${quote(out)}; echo "EXIT:$?"; sleep 600`,
    ].join(" && ");
    await run(TMUX as string, [
      "-S",
      socket,
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "200",
      "-y",
      "50",
      command,
    ]);
    return new Terminal(session);
  }

  async screen(): Promise<string> {
    const { stdout } = await run(TMUX as string, [
      "-S",
      socket,
      "capture-pane",
      "-p",
      "-S",
      "-",
      "-t",
      this.session,
    ]);
    return stdout;
  }

  async waitFor(text: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (typeof text === "string" ? screen.includes(text) : text.test(screen)) return screen;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${String(text)}; the screen:\n${screen}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) await run(TMUX as string, ["-S", socket, "send-keys", "-t", this.session, key]);
  }

  async type(text: string): Promise<void> {
    await run(TMUX as string, ["-S", socket, "send-keys", "-t", this.session, "-l", text]);
  }

  /** Waits for the question, then answers it. */
  async answer(question: string, ...keys: Array<string | { type: string }>): Promise<void> {
    await this.waitFor(`? ${question}`);
    for (const key of keys) {
      if (typeof key === "string") await this.keys(key);
      else await this.type(key.type);
    }
  }
}

function sandboxDnsState(): unknown {
  return world.dns.zones().map((zone) => ({ zone, records: world.dns.recordSets(zone.id) }));
}

describe("the wizard in a real terminal (tmux)", () => {
  requireTool("tmux", Boolean(TMUX), "apt-get install tmux (.ci/run does)");
  it("Given the seeded sandbox, When a user answers every question, Then the playbook written validates and plans", async () => {
    const dir = join(world.dir, "answered");
    await run("mkdir", ["-p", dir]);
    for (const cluster of world.sandbox.clusters.values()) cluster.resetRequests();
    const dnsBefore = sandboxDnsState();
    const terminal = await Terminal.open("answered", dir, "shop.yaml");
    await terminal.answer("Source cluster", "Enter");
    await terminal.answer("Target cluster", "Enter");
    await terminal.answer("Namespaces to mirror from source", "Down", "Space", "Enter");
    await terminal.answer("Shift traffic gradually", "Enter");
    await terminal.answer("Ingress gateway Service on source", "Enter");
    await terminal.answer("Istio Gateway served by istio-system/istio-ingressgateway", "Enter");
    await terminal.answer("Service to split", "Enter");
    await terminal.answer("Public hosts that move to the target", { type: "shop.example.com" }, "Enter");
    await terminal.answer("Host name the source mesh uses", "Enter");
    await terminal.answer("Ingress gateway on the target target", "Down", "Enter");
    await terminal.answer("Weights to shift", { type: "10,50,80" }, "Enter");
    await terminal.waitFor("> the last weight must be 100");
    await terminal.keys("BSpace", "BSpace");
    await terminal.type("100");
    await terminal.keys("Enter");
    await terminal.answer("Pause after each weight", "Enter");
    await terminal.answer("Wait for your approval before going to 100%?", "Enter");
    await terminal.answer("Prometheus URL", "Enter");
    // A sandbox target's load balancer answers nothing: no probe unless one is typed.
    await terminal.answer("Probe URL", "Enter");
    await terminal.answer("When a gate fails", "Enter");
    await terminal.waitFor("❯◉ onlineboutique/frontend-external");
    await terminal.answer("Leave these public Services out of the mirror?", "Enter");
    await terminal.answer("Cut a DNS record over", "Enter");
    await terminal.answer("DNS provider", "Enter");
    // Zone and record come from the sandbox DNS: chosen, not typed; the public host's record is the default.
    await terminal.waitFor("❯ example.com.");
    await terminal.answer("Hosted zone (sandbox DNS)", "Enter");
    await terminal.waitFor("❯ shop.example.com A");
    await terminal.answer("DNS record to cut over", "Enter");
    await terminal.answer("TTL in seconds", { type: "30" }, "Enter");
    await terminal.answer("New address for the record", "Enter");
    await terminal.answer("Name of this playbook", "Enter");
    // The CLI may go on to show the plan and offer to apply it: not this time.
    const after = await terminal.waitFor(/EXIT:\d+|\? Apply/);
    if (after.includes("? Apply")) await terminal.keys("n", "Enter");
    const screen = await terminal.waitFor(/EXIT:\d+/);

    expect(screen).toContain("Wrote shop.yaml: playbook frontend-to-target.");
    expect(screen).toContain(
      "✔ Weights to shift, in percent to the target (comma-separated, ending in 100) 10,50,100",
    );
    expect(screen).toMatch(/EXIT:0/);
    // Then the CLI showed the playbook's plan and, told no, changed nothing.
    expect(screen).toMatch(/^Plan: \d+ to create/m);
    expect(screen).toContain("Apply cancelled; nothing changed.");
    const file = join(dir, "shop.yaml");
    const parsed = parsePlaybook(await readFile(file, "utf8"), file);
    expect(parsed.ok && parsed.playbook.spec.traffic?.steps.map((step) => step.weight)).toEqual([
      10, 50, 100,
    ]);
    expect(parsed.ok && parsed.playbook.spec.traffic).toMatchObject({
      hosts: ["shop.example.com"],
      onFailure: "rollback",
    });
    // The installed gateway injects by revision: the mirrored namespace gets that label, and the plan no warning.
    expect(screen).toContain(
      "The target gateway's namespace injects by istio.io/rev=asm-managed: the mirrored namespaces get that label.",
    );
    expect(parsed.ok && parsed.playbook.spec.workloads?.namespaceLabels).toEqual({
      "istio.io/rev": "asm-managed",
    });
    expect(parsed.ok && parsed.playbook.spec.workloads?.exclude).toEqual([
      { kind: "Service", name: "frontend-external", namespace: "onlineboutique" },
    ]);
    expect(parsed.ok && parsed.playbook.spec.dns).toMatchObject({
      provider: "sandbox",
      zone: "example.com.",
      record: "shop.example.com",
      type: "A",
    });
    // The wizard, the plan it showed and the declined apply sent the clusters reads only; the DNS is untouched.
    const writes = [...world.sandbox.clusters.values()].flatMap((cluster) =>
      cluster.requests.filter(isWrite).map((r) => `${cluster.name}: ${r.method} ${r.path}`),
    );
    expect(writes).toEqual([]);
    expect(sandboxDnsState()).toEqual(dnsBefore);

    const validate = await runCli(["validate", "-f", file]);
    expect(validate).toMatchObject({ code: 0, stdout: `${file}: valid playbook frontend-to-target\n` });
    const plan = await runCli(["plan", "-f", file, "--state-dir", join(dir, ".clustershift")], {
      env: { KUBECONFIG: world.kubeconfig },
    });
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 0, stderr: "" });
    expect(plan.stdout).toMatch(/^Plan: /m);
  });

  it("Given a question on screen, When Ctrl-C is pressed, Then the wizard says it wrote nothing, exits 130 and leaves no file", async () => {
    const dir = join(world.dir, "interrupted");
    await run("mkdir", ["-p", dir]);
    const terminal = await Terminal.open("interrupted", dir, "shop.yaml");
    await terminal.answer("Source cluster", "Enter");
    await terminal.answer("Target cluster", "Enter");
    await terminal.answer("Namespaces to mirror from source", "Down", "Space", "Enter");
    await terminal.answer("Shift traffic gradually", "C-c");
    const screen = await terminal.waitFor(/EXIT:\d+/);

    expect(screen).toContain(CANCELLED);
    expect(screen).toContain("EXIT:130");
    expect(await readdir(dir)).toEqual([]);
  });

  it("Given no KUBECONFIG and no ~/.kube/config, When the wizard starts, Then it says there is no kubeconfig and how to get one, exits 1 and offers no made-up context", async () => {
    const dir = join(world.dir, "no-kubeconfig");
    await run("mkdir", ["-p", dir]);
    const terminal = await Terminal.open(
      "no-kubeconfig",
      dir,
      "shop.yaml",
      `env -u KUBECONFIG HOME=${quote(dir)}`,
    );
    const screen = await terminal.waitFor(/EXIT:\d+/);

    expect(screen).toContain(`no kubeconfig: KUBECONFIG is not set and ${dir}/.kube/config does not exist.`);
    expect(screen).toContain("KUBECONFIG=sandbox.kubeconfig clustershift wizard");
    expect(screen).not.toContain("loaded-context");
    expect(screen).not.toContain("? Source cluster");
    expect(screen).toContain("EXIT:1");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("clustershift wizard without a terminal", () => {
  it("Given stdin that is not a TTY, When wizard runs, Then it says it needs a terminal and exits 2, writing nothing", async () => {
    const dir = join(world?.dir ?? ROOT, "no-tty");
    await run("mkdir", ["-p", dir]);
    const result = await runCli(["wizard", "--out", join(dir, "shop.yaml")], {
      env: { KUBECONFIG: world?.kubeconfig ?? "" },
    });
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toContain(NEEDS_TERMINAL);
    expect(result.stderr).not.toContain("cancelled");
    expect(await readdir(dir)).toEqual([]);
  });

  it("Given --help, When wizard's help is shown, Then it names KUBECONFIG and has examples", async () => {
    const result = await runCli(["wizard", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("KUBECONFIG (default ~/.kube/config)");
    expect(result.stdout).toMatch(/Examples:\n {2}KUBECONFIG=\S+ clustershift wizard --out shop\.yaml\n/);
  });
});
