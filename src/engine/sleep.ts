/** Node's timers fire at once when given more than 2^31 - 1 ms; longer sleeps are taken in slices. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** setTimeout as a promise that an AbortSignal cuts short (rejecting with the signal's reason). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  let left = ms;
  do {
    const slice = Math.min(left, LONGEST_TIMER_MS);
    await sleepOnce(slice, signal);
    left -= slice;
  } while (left > 0);
}

function sleepOnce(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
