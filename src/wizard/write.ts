import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `text` to `file` all at once or not at all: a temporary file in the same directory (so the rename stays
 * on one file system, where it is atomic), fsync'd, then renamed over `file`. An interruption before the rename
 * leaves `file` as it was and removes the temporary file.
 */
export async function writeFileAtomic(file: string, text: string, signal?: AbortSignal): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    signal?.throwIfAborted();
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
