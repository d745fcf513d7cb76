import { execFileSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { messageOf } from "../../src/engine/errors.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

const mounted: string[] = [];

/** A read-only file system of its own (a tmpfs mounted `ro`; mounting needs root, as CI and these machines have). */
function mountReadOnly(dir: string): void {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir]);
  } catch (error) {
    throw new Error(`this test mounts a read-only tmpfs and needs root: ${(error as Error).message}`);
  }
  mounted.push(dir);
}

afterAll(() => {
  for (const dir of mounted) execFileSync("umount", [dir]);
});

describe("the machine's refusals say what happened and what to do, and are not reported as bugs", () => {
  it("Given a full disk, a read-only file system or a denied permission, When worded, Then the words say which file and what to do", () => {
    const error = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(messageOf(error("EROFS", "EROFS: read-only file system, mkdir '/ro/state'"))).toBe(
      "EROFS: read-only file system, mkdir '/ro/state': the file system is read-only: give --state-dir (or CLUSTERSHIFT_STATE_DIR) a directory on a writable disk",
    );
    expect(messageOf(error("ENOSPC", "ENOSPC: no space left on device, write"))).toBe(
      "ENOSPC: no space left on device, write: the disk is full: free space on it, or give --state-dir a directory on another disk, and run the command again",
    );
    expect(messageOf(error("EACCES", "EACCES: permission denied, open '/srv/state/lock.json'"))).toBe(
      "EACCES: permission denied, open '/srv/state/lock.json': permission denied: make that directory writable for this user, or give --state-dir a directory that is",
    );
    expect(messageOf(new Error("plain"))).toBe("plain");
  });

  it("Given a state directory on a read-only file system, When apply runs, Then it exits 1 saying so and what to do, without calling it a bug", async () => {
    const dir = await tempDir("read-only-state");
    const state = join(dir, "state");
    await mkdir(state);
    mountReadOnly(state);
    const playbook = join(dir, "playbook.yaml");
    await writeFile(
      playbook,
      "apiVersion: clustershift.dev/v1alpha1\nkind: Playbook\nmetadata: {name: read-only}\nspec:\n  source: {context: source}\n  target: {context: target}\n",
    );
    const result = await runCli([
      "apply",
      "-f",
      playbook,
      "--yes",
      "--non-interactive",
      "--state-dir",
      state,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: ENOENT: no such file or directory, mkdir '${join(state, "read-only")}': a directory on that path is missing or cannot be made (a read-only file system?): give --state-dir a directory that exists and is writable\n`,
    );
    // Node's recursive mkdir words EROFS as ENOENT; either way the user learns the path and what to do.
    await rm(playbook);
  });
});
