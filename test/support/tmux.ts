import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { eventually } from "./wait.js";

/**
 * A real terminal for tests: a tmux server on its own socket gives a program a pty of a fixed size, keys go in
 * with `send-keys` and the screen comes back with `capture-pane`, so raw mode, colour detection, cursor movement
 * and Ctrl-C are the terminal's, not a test double's.
 */

const run = promisify(execFile);

function whichTmux(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v tmux"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The tmux binary, or undefined when it is not installed (pair with `requireTool`). */
export const TMUX: string | undefined =
  ["/usr/bin/tmux", "/usr/local/bin/tmux"].find((path) => existsSync(path)) ?? whichTmux();

/** Single-quotes `text` for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export interface ScreenOptions {
  /** Keep SGR escapes (`capture-pane -e`): to check colour was on. */
  escapes?: boolean;
  /** From the start of the scrollback, not only the visible screen. Default true. */
  history?: boolean;
}

/** One tmux server on a private socket; `kill()` ends it and every pane in it. */
export class TmuxServer {
  constructor(readonly socket: string) {}

  async tmux(...args: string[]): Promise<string> {
    if (!TMUX) throw new Error("tmux is not installed: apt-get install tmux (.ci/run does)");
    const { stdout } = await run(TMUX, ["-S", this.socket, ...args]);
    return stdout;
  }

  /** A new session `name` of `width`×`height` running `command` (a shell line) in `cwd`; its first pane. */
  async session(
    name: string,
    command: string,
    { cwd, width = 120, height = 50 }: { cwd: string; width?: number; height?: number },
  ): Promise<Pane> {
    await this.tmux(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(width),
      "-y",
      String(height),
      "-c",
      cwd,
      command,
    );
    return new Pane(this, `${name}:0`);
  }

  /** A new window `window` of session `session`, same size, running `command` in `cwd`. */
  async window(session: string, window: string, command: string, { cwd }: { cwd: string }): Promise<Pane> {
    await this.tmux("new-window", "-d", "-t", `${session}:`, "-n", window, "-c", cwd, command);
    return new Pane(this, `${session}:${window}`);
  }

  async kill(): Promise<void> {
    await this.tmux("kill-server").catch(() => undefined);
  }
}

export class Pane {
  constructor(
    readonly server: TmuxServer,
    readonly target: string,
  ) {}

  /**
   * The pane's text. Wrapped lines are joined (`-J`) so that a long path or a narrower terminal does not move
   * line breaks around; trailing blank lines are dropped.
   */
  async screen({ escapes = false, history = true }: ScreenOptions = {}): Promise<string> {
    const args = ["capture-pane", "-p", "-J", "-t", this.target];
    if (escapes) args.push("-e");
    if (history) args.push("-S", "-");
    const text = await this.server.tmux(...args);
    return text.replace(/\s+$/, "") + "\n";
  }

  /** Waits, polling the screen, until `matches` accepts it; fails with the last screen. */
  async waitFor(
    matches: string | RegExp | ((screen: string) => boolean),
    timeoutMs = 30_000,
  ): Promise<string> {
    let last = "";
    const accept =
      typeof matches === "function"
        ? matches
        : (screen: string) => (typeof matches === "string" ? screen.includes(matches) : matches.test(screen));
    return eventually(
      async () => {
        last = await this.screen();
        return accept(last) ? last : undefined;
      },
      timeoutMs,
      {
        intervalMs: 100,
        message: () => `timed out after ${timeoutMs} ms waiting for ${String(matches)}; the screen:\n${last}`,
      },
    );
  }

  /** Key names as tmux knows them: `Enter`, `C-c`, `C-l`, `Down`. */
  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) await this.server.tmux("send-keys", "-t", this.target, key);
  }

  /** Literal text, no key names. */
  async type(text: string): Promise<void> {
    await this.server.tmux("send-keys", "-t", this.target, "-l", text);
  }

  async clearHistory(): Promise<void> {
    await this.server.tmux("clear-history", "-t", this.target);
  }
}
