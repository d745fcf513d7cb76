import type { ReadContext } from "../engine/types.js";
import { memoClient } from "./memo.js";
import { LazyRoute53Dns } from "./route53/lazy.js";
import type { DnsPort } from "./route53/port.js";
import { SandboxDnsClient } from "./sandbox-dns/client.js";

export type { DnsPort } from "./route53/port.js";

/**
 * The DNS service `spec.dns.provider` names, memoized for the run in `ctx.clients` under `dns:<provider>`
 * (tests put their own client there). The sandbox DNS lives on the source sandbox cluster's port. Its calls stop
 * with the run's signal.
 */
export function dnsProvider(
  ctx: Pick<ReadContext, "clients" | "options" | "playbook"> & Partial<Pick<ReadContext, "signal">>,
): DnsPort {
  const { dns, source } = ctx.playbook.spec;
  if (!dns) throw new Error("dnsProvider: the playbook has no spec.dns; this is a bug");
  return memoClient(ctx, `dns:${dns.provider}`, (): DnsPort =>
    dns.provider === "route53"
      ? new LazyRoute53Dns(ctx.signal ? { signal: ctx.signal } : {})
      : new SandboxDnsClient({
          context: source.context,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig }),
        }),
  );
}
