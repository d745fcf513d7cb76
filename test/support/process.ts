import { spawn } from "node:child_process";
import { eventually, sleep } from "./wait.js";

export interface ServerProcess {
  /** SIGTERM, SIGKILL when it is still running 5 s later. */
  stop(): Promise<void>;
}

/**
 * Spawns a server and resolves once `ready` answers true; one that fails to start, exits, or is not ready within
 * `timeoutMs` is stopped and fails the start, with the end of its stderr.
 */
export async function startServerProcess(
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const name = command.split("/").pop() ?? command;
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let failed: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      failed = error;
      resolve();
    });
  });
  const running = () => !failed && child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) child.kill("SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    if (running()) child.kill("SIGKILL");
  };
  try {
    await eventually(
      async () => {
        if (!running()) {
          throw new Error(
            `${name} exited (${failed?.message ?? child.exitCode ?? child.signalCode}): ${stderr}`,
          );
        }
        return (await ready().catch(() => false)) || undefined;
      },
      timeoutMs,
      { intervalMs: 100, message: () => `${name} was not ready within ${timeoutMs / 1000}s: ${stderr}` },
    );
    return { stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
