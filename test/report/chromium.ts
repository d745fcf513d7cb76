import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Debian's `chromium` package (`.ci/run` installs it). */
export const CHROMIUM_FOUND = spawnSync("sh", ["-c", "command -v chromium"]).status === 0;
export const CHROMIUM_HOW_TO_GET =
  "install Debian's chromium package (`apt-get install -y chromium`; .ci/run does it)";

/**
 * Headless Chromium as root in a container: no sandbox, no GPU, a profile of its own, and offline: every host name
 * resolves to nothing, and background fetches (updates, sync, field trials) are off, so a page that needed the
 * network would show it.
 */
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--hide-scrollbars",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-field-trial-config",
  "--host-resolver-rules=MAP * ~NOTFOUND",
];

async function runChromium(args: string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), "clustershift-chromium-"));
  try {
    return await new Promise((resolve, reject) => {
      execFile(
        "chromium",
        [...FLAGS, `--user-data-dir=${profile}`, ...args],
        // Generous: the machine is shared; a screenshot takes about 2 s when it is idle.
        { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`chromium ${args.join(" ")} failed: ${error.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM after the page loaded and laid out, serialized. */
export function dumpDom(file: string): Promise<string> {
  return runChromium(["--dump-dom", pathToFileURL(file).href]);
}

export async function screenshot(file: string, png: string, width: number, height: number): Promise<void> {
  await runChromium([`--screenshot=${png}`, `--window-size=${width},${height}`, pathToFileURL(file).href]);
}
