import { prometheusClient } from "./client.js";
import type { PrometheusPort } from "./port.js";

/**
 * The run's client for a Prometheus base URL, memoized in `ctx.clients` as `prometheus:<url>` (tests may put one
 * there); every query it makes takes the run's signal, whatever the caller passes.
 */
export function prometheus(
  ctx: { clients: Map<string, unknown>; signal?: AbortSignal },
  url: string,
): PrometheusPort {
  const key = `prometheus:${url}`;
  let client = ctx.clients.get(key) as PrometheusPort | undefined;
  if (!client) {
    client = prometheusClient(url, ctx.signal ? { signal: ctx.signal } : {});
    ctx.clients.set(key, client);
  }
  return client;
}
