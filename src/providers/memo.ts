import type { ReadContext } from "../engine/types.js";

/**
 * The run's client under `key` in `ctx.clients`, made by `create` on first use (tests preset their own).
 * Nothing is kept when `create` throws, so a later call tries again.
 */
export function memoClient<T>(ctx: Pick<ReadContext, "clients">, key: string, create: () => T): T {
  if (!ctx.clients.has(key)) ctx.clients.set(key, create());
  return ctx.clients.get(key) as T;
}
