import { isApiStatus } from "./errors.js";

/**
 * How many times a read-decide-write runs before a 409 Conflict stops it: enough to outlast a controller writing
 * status and defaults right after our previous write, few enough that a real fight over an object ends.
 */
export const CONFLICT_ATTEMPTS = 10;

/**
 * Runs `attempt` (read the live object, decide, write with the version read) again while its compare-and-swap
 * loses to another writer (409 Conflict): each try reads afresh and decides afresh, so nothing is written over a
 * change it did not see. Any other error, or the last conflict, is thrown.
 */
export async function retryOnConflict<T>(
  attempt: () => Promise<T>,
  attempts: number = CONFLICT_ATTEMPTS,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isApiStatus(error, 409) || tries >= attempts) throw error;
    }
  }
}
