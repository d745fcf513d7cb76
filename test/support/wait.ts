export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `intervalMs` until it returns a value (not undefined) and resolves with that value; past
 * `timeoutMs` it fails with `message`.
 */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 3000,
  options: { intervalMs?: number; message?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(options.message?.() ?? `condition not met within ${timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 20);
  }
}
