import { RuntimeError } from "../../engine/errors.js";
import { poll } from "./poll.js";
import type { GkeOperation, GkePort, HubOperation, HubPort } from "./port.js";

export interface WaitOptions {
  /** `create cluster projects/p/locations/z/clusters/c`. */
  what: string;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (detail: string) => void;
}

export const OPERATION_TIMEOUT_MS = 45 * 60_000;

/** Polls a GKE operation until DONE; an operation that ended in error becomes a RuntimeError with the API's words. */
export async function waitForGkeOperation(
  port: GkePort,
  operation: GkeOperation,
  options: WaitOptions,
): Promise<void> {
  let current = operation;
  await poll(
    async () => {
      if (current.status !== "DONE") current = await port.getOperation(current.name);
      if (current.status !== "DONE") {
        return {
          done: false,
          detail: `operation ${current.status}${current.progress ? `: ${current.progress}` : ""}`,
        };
      }
      if (current.error)
        throw new RuntimeError(`${options.what}: operation ${current.name} failed: ${current.error}`);
      return { done: true, value: undefined };
    },
    { ...options, what: `${options.what} (operation ${operation.name})` },
  );
}

/** Polls a GKE Hub long-running operation until done; an error in it becomes a RuntimeError. */
export async function waitForHubOperation(
  port: HubPort,
  operation: HubOperation,
  options: WaitOptions,
): Promise<void> {
  let current = operation;
  await poll(
    async () => {
      if (!current.done) current = await port.getOperation(current.name);
      if (!current.done) return { done: false, detail: "operation running" };
      if (current.error)
        throw new RuntimeError(`${options.what}: operation ${current.name} failed: ${current.error}`);
      return { done: true, value: undefined };
    },
    { ...options, what: `${options.what} (operation ${operation.name})` },
  );
}
