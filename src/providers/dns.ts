import type { DnsRecordSetTarget } from "../engine/targets.js";
import type { ReadContext, WriteContext } from "../engine/types.js";
import { memoClient } from "./memo.js";
import { LazyRoute53Dns } from "./route53/lazy.js";
import type { DnsPort } from "./route53/port.js";
import { SandboxDnsClient } from "./sandbox-dns/client.js";

export type { DnsPort } from "./route53/port.js";

/** The methods of {@link DnsPort} that change the zone (engine/readers.ts refuses them at run time too). */
export type DnsWrites = "changeRecordSets";

/** What a plan, verify, status or preflight may do with a DNS service: read zones, records, changes, servers. */
export type DnsReader = Omit<DnsPort, DnsWrites>;

/**
 * What {@link dnsProvider} hands a reading context: a {@link DnsReader} whose writes are typed `never`, so that
 * calling one does not compile (as ReadOnlyCluster does for Kubernetes).
 */
export type ReadOnlyDns = DnsReader & { readonly [K in DnsWrites]: never };

/** What {@link dnsProvider} needs of a step's context; `signal` is absent only outside a run. */
export type DnsContext = Pick<ReadContext, "clients" | "options" | "playbook"> &
  Partial<Pick<ReadContext, "signal">>;

/** An `apply` or `rollback` (it journals through `change`): it gets a writer. */
export type DnsWritingContext = DnsContext & Pick<WriteContext, "change">;

/** A `plan`, `verify`, `status` or gate context: it gets a {@link ReadOnlyDns}. */
export type DnsReadingContext = DnsContext & Pick<ReadContext, "progress">;

/**
 * The DNS service `spec.dns.provider` names, memoized for the run in `ctx.clients` under `dns:<provider>`
 * (tests put their own client there). The sandbox DNS lives on the source sandbox cluster's port. Its calls stop
 * with the run's signal.
 */
export function dnsProvider(ctx: DnsWritingContext): DnsPort;
export function dnsProvider(ctx: DnsReadingContext): ReadOnlyDns;
export function dnsProvider(ctx: DnsContext): DnsPort;
export function dnsProvider(ctx: DnsContext): DnsPort {
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

/** The playbook's `dns.provider` whose client has `label` (`route53`, `sandbox-dns`). */
function providerOfLabel(label: string): "route53" | "sandbox" {
  return label === "sandbox-dns" ? "sandbox" : "route53";
}

/**
 * The DNS client of a journaled record set, built from the target alone (rollback: the playbook may have lost
 * `spec.dns`, or name another provider or zone since); memoized under the same key as {@link dnsProvider}'s
 * (`dns:<provider>`), so a run (or a test) that made one uses it.
 */
export function dnsPortFor(target: DnsRecordSetTarget, ctx: DnsWritingContext): DnsPort;
export function dnsPortFor(target: DnsRecordSetTarget, ctx: DnsReadingContext): ReadOnlyDns;
export function dnsPortFor(target: DnsRecordSetTarget, ctx: DnsContext): DnsPort;
export function dnsPortFor(target: DnsRecordSetTarget, ctx: DnsContext): DnsPort {
  const provider = providerOfLabel(target.provider);
  return memoClient(ctx, `dns:${provider}`, (): DnsPort => {
    if (provider === "route53") return new LazyRoute53Dns(ctx.signal ? { signal: ctx.signal } : {});
    // Journals written before the context was kept: the sandbox DNS then was the playbook's source cluster.
    const context = target.context ?? ctx.playbook.spec.source.context;
    return new SandboxDnsClient({
      context,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.options.kubeconfig === undefined ? {} : { kubeconfig: ctx.options.kubeconfig }),
    });
  });
}
