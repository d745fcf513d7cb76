import { fqdn } from "../../providers/route53/names.js";
import type { DnsSpec } from "../../playbook/schema.js";

/**
 * The DNS record's way from its original state to the target, one stage per step instance:
 * lower the TTL, switch (or shift by weights), restore the TTL.
 */
export type DnsStage =
  | { kind: "lower-ttl" }
  | { kind: "switch" }
  /** `index` counts from 1, as in `cutover-dns[1]`. */
  | { kind: "weight"; index: number; weight: number; last: boolean }
  | { kind: "restore-ttl" };

export interface DnsStageSpec {
  stage: DnsStage;
}

export function dnsStages(dns: DnsSpec): DnsStage[] {
  const weights = dns.weights ?? [];
  const cutover: DnsStage[] =
    weights.length > 0
      ? weights.map((weight, i) => ({ kind: "weight", index: i + 1, weight, last: i === weights.length - 1 }))
      : [{ kind: "switch" }];
  return [{ kind: "lower-ttl" }, ...cutover, ...(dns.restoreTtl ? [{ kind: "restore-ttl" } as const] : [])];
}

export function stageId(stage: DnsStage): string {
  switch (stage.kind) {
    case "lower-ttl":
      return "lower-dns-ttl";
    case "switch":
      return "cutover-dns";
    case "weight":
      return `cutover-dns[${stage.index}]`;
    case "restore-ttl":
      return "cutover-dns[restore-ttl]";
  }
}

export function stageTitle(stage: DnsStage, dns: DnsSpec): string {
  const record = `${fqdn(dns.record)} ${dns.type}`;
  switch (stage.kind) {
    case "lower-ttl":
      return `Lower the TTL of ${record} to ${dns.lowTtl}s`;
    case "switch":
      return `Cut ${record} over to the target`;
    case "weight":
      return stage.weight === 100 && stage.last
        ? `Cut ${record} over to the target (weight 100)`
        : `Shift ${stage.weight}% of ${record} answers to the target`;
    case "restore-ttl":
      return `Restore the original TTL of ${record}`;
  }
}

/** The last stage that moves the record; the soak follows it. */
export function isFinalCutover(stage: DnsStage): boolean {
  return stage.kind === "switch" || (stage.kind === "weight" && stage.last);
}
