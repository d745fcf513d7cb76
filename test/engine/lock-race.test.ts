import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

const run = promisify(execFile);
const RUNNER = resolve(ROOT, "test/engine/fixtures/lock-runner.mjs");

/** Holders in log order: a `+` while another holds the lock is two holders at once. */
function overlaps(log: string): string[] {
  let holder: string | undefined;
  const found: string[] = [];
  for (const line of log.split("\n").filter(Boolean)) {
    const pid = line.slice(1);
    if (line.startsWith("+")) {
      if (holder) found.push(`${pid} took the lock while ${holder} held it`);
      holder = pid;
    } else if (holder === pid) {
      holder = undefined;
    }
  }
  return found;
}

describe("the local lock, taken over from a dead holder by runners started at the same instant", () => {
  it.each([
    [2, 10],
    [8, 50],
  ])(
    "Given a stale lock and %i runners, When all start together (%i times), Then never two hold the lock at once",
    async (runners, rounds) => {
      const counts: Record<number, number> = {};
      for (let round = 0; round < rounds; round++) {
        const dir = await tempDir("lock-race");
        const state = join(dir, "state");
        const log = join(dir, "holders.log");
        await mkdir(join(state, "race"), { recursive: true });
        // No pid reaches 9,999,999 (pid_max is at most 4,194,304): this holder is surely gone.
        await writeFile(
          join(state, "race", "lock.json"),
          JSON.stringify({ pid: 9_999_999, host: hostname(), since: "2026-01-01T00:00:00.000Z" }),
        );
        await writeFile(log, "");
        const startAt = String(Date.now() + 1500);
        const outputs = await Promise.all(
          Array.from({ length: runners }, () =>
            run("node", [RUNNER, state, log, startAt]).then((r) => r.stdout.trim()),
          ),
        );
        expect(overlaps(await readFile(log, "utf8")), `round ${round}: ${outputs.join(" | ")}`).toEqual([]);
        const acquired = outputs.filter((o) => o === "acquired").length;
        expect(acquired).toBeGreaterThanOrEqual(1);
        for (const refused of outputs.filter((o) => o !== "acquired"))
          expect(refused).toMatch(/^refused: locked by pid \d+/);
        counts[acquired] = (counts[acquired] ?? 0) + 1;
      }
      console.log(
        `local lock: ${rounds} rounds of ${runners} runners, never two holders at once; ` +
          `holders one after another per round: ${JSON.stringify(counts)} (holders: rounds)`,
      );
    },
    900_000,
  );
});
