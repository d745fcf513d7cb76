import { execFileSync } from "node:child_process";
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { applyArgs, cli, freshSandbox, rollbackArgs, worldOf, type Sandbox } from "./support.js";

/**
 * A full disk under the journal: a real tmpfs of a few 4 KiB pages as the state dir (mounting needs root; CI runs
 * as root). When the journal grows into a page the disk does not have, the kernel writes the record up to the
 * page's end and then fails: a record cut short. The run must stop before that change is made, with no torn
 * record left behind (the next reader would drop it as "killed mid-write" and rollback forget the change).
 */
const mounted = new Set<string>();

function mountSmallDisk(dir: string, pages: number): void {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${pages * 4096}`, "tmpfs", dir]);
  } catch (error) {
    throw new Error(`these tests mount a small tmpfs and need root: ${(error as Error).message}`);
  }
  mounted.add(dir);
}

function unmount(dir: string): void {
  execFileSync("umount", ["-l", dir]);
  mounted.delete(dir);
}

afterEach(() => {
  for (const dir of mounted) unmount(dir);
});

/** Moves the state dir off the small disk, as an operator freeing space would, keeping every file. */
async function freeSpace(sandbox: Sandbox): Promise<void> {
  const copy = `${sandbox.state}.saved`;
  await cp(sandbox.state, copy, { recursive: true });
  unmount(sandbox.state);
  await rm(sandbox.state, { recursive: true, force: true });
  await cp(copy, sandbox.state, { recursive: true });
}

describe("a full disk under the local journal", () => {
  // Runs and rollbacks follow one another until the journal needs a page the disk lacks: each size runs out at
  // another record, in an apply or in a rollback.
  it.each([2, 3, 4])(
    "Given a state dir of %i pages, When a run or rollback runs out of space, Then it stops with exit 1 and no torn record, and once space is freed rollback restores everything",
    async (pages) => {
      const sandbox = await freshSandbox();
      const before = await worldOf(sandbox);
      await mkdir(sandbox.state, { recursive: true });
      mountSmallDisk(sandbox.state, pages);

      let failed: { code: number | null; stderr: string } | undefined;
      for (let cycle = 0; cycle < 12 && !failed; cycle++) {
        const result = await cli(sandbox, cycle % 2 === 0 ? applyArgs() : rollbackArgs());
        if (result.code !== 0) failed = result;
      }
      expect(failed, "the disk never filled up").toBeDefined();
      expect(failed?.code).toBe(1);
      // Out of space in a journal record, a before-image file or the lock file: each stops the run.
      expect(failed?.stderr).toMatch(/ENOSPC/);
      expect(failed?.stderr).not.toContain("This is a bug");

      const journal = await readFile(join(sandbox.state, "engine-test", "journal.jsonl"), "utf8");
      expect(journal.endsWith("\n")).toBe(true);
      for (const line of journal.split("\n").filter(Boolean))
        expect(() => JSON.parse(line) as unknown).not.toThrow();

      await freeSpace(sandbox);
      const back = await cli(sandbox, rollbackArgs());
      expect(back.code, back.stderr).toBe(0);
      expect(await worldOf(sandbox)).toEqual(before);
    },
  );
});
