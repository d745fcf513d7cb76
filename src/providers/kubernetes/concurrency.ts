/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping order. After the first failure no new
 * call starts; the ones in flight are awaited (no write is left running unobserved), then the first error is thrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * A gate of `limit` slots: `run(fn)` calls `fn` once a slot is free, in call order. Lets a pipeline keep more
 * items moving than it has requests in flight (journal records being committed while others are written).
 */
export function slots(limit: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    if (busy >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else busy++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot jump the queue.
      const next = waiting.shift();
      if (next) next();
      else busy--;
    }
  };
}
