import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/** A new directory `clustershift-<name>-XXXXXX` in the OS temp dir. */
export function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `clustershift-${name}-`));
}

/**
 * A temp directory for the tests of the enclosing file or describe block (a fresh one for each test with
 * `each`), removed after them; call the returned function inside tests and later hooks.
 */
export function useTempDir(name: string, scope: "all" | "each" = "all"): () => string {
  let dir: string | undefined;
  const [before, after] = scope === "all" ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    dir = await tempDir(name);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error("the temp directory is not made yet (use it inside a test or a later hook)");
    return dir;
  };
}
