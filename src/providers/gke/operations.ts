import { RuntimeError } from "../../engine/errors.js";
import { poll } from "./poll.js";
import type { GkeOperation, GkePort, HubOperation, HubPort } from "./port.js";

export interface WaitOptions {
  /** `create cluster projects/p/locations/z/clusters/c`. */
  what: string;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (detail: string) => void;
  /** Between polls of the operation (default: {@link poll}'s). */
  intervalMs?: number;
}

export const OPERATION_TIMEOUT_MS = 45 * 60_000;

/** Polls a GKE operation until DONE; an operation that ended in error becomes a RuntimeError with the API's words. */
export function waitForGkeOperation(
  port: GkePort,
  operation: GkeOperation,
  options: WaitOptions,
): Promise<void> {
  return waitForOperation(
    operation,
    (name) => port.getOperation(name),
    (current) =>
      current.status === "DONE"
        ? undefined
        : `operation ${current.status}${current.progress ? `: ${current.progress}` : ""}`,
    options,
  );
}

/** Polls a GKE Hub long-running operation until done; an error in it becomes a RuntimeError. */
export function waitForHubOperation(
  port: HubPort,
  operation: HubOperation,
  options: WaitOptions,
): Promise<void> {
  return waitForOperation(
    operation,
    (name) => port.getOperation(name),
    (current) => (current.done ? undefined : "operation running"),
    options,
  );
}

/** `running` says how a running operation is doing, and undefined once it has ended. */
async function waitForOperation<T extends { name: string; error?: string }>(
  operation: T,
  read: (name: string) => Promise<T>,
  running: (current: T) => string | undefined,
  options: WaitOptions,
): Promise<void> {
  let current = operation;
  await poll(
    async () => {
      if (running(current) !== undefined) current = await read(current.name);
      const detail = running(current);
      if (detail !== undefined) return { done: false, detail };
      if (current.error)
        throw new RuntimeError(`${options.what}: operation ${current.name} failed: ${current.error}`);
      return { done: true, value: undefined };
    },
    { ...options, what: `${options.what} (operation ${operation.name})` },
  );
}
