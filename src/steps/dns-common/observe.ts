import { RuntimeError, UsageError } from "../../engine/errors.js";
import type { DnsRecordSetTarget } from "../../engine/targets.js";
import { KNOWN_AFTER_APPLY, type ChangeEntry, type ReadContext } from "../../engine/types.js";
import type { DnsSpec } from "../../playbook/schema.js";
import { dnsProvider, type DnsReader } from "../../providers/dns.js";
import {
  cluster,
  clusterIfKnown,
  type KubeObject,
  type ObjectRef,
} from "../../providers/kubernetes/index.js";
import { fqdn, recordInZone } from "../../providers/route53/names.js";
import type { RecordSet, Zone } from "../../providers/route53/port.js";
import { describeRecordSets, recordKey } from "../../providers/route53/records.js";
import { ingressAddress, INGRESS_ADDRESS_TIMEOUT_MS } from "../expose-target/manifests.js";
import { addressType, SOURCE_ID, TARGET_ID } from "./chain.js";

export const DNS_KINDS: readonly string[] = ["lower-dns-ttl", "cutover-dns"];

/**
 * Where a journaled DNS change happened: all rollback needs to find the record and talk to its provider, with no
 * help from the playbook (which may have lost `spec.dns` since). `provider` is the client's label (`route53`,
 * `sandbox-dns`); `context` the kubeconfig context that serves the sandbox DNS.
 */
export type DnsTarget = DnsRecordSetTarget;

export function dnsSpecOf(ctx: Pick<ReadContext, "playbook">): DnsSpec {
  const dns = ctx.playbook.spec.dns;
  if (!dns) throw new Error("a DNS step runs without spec.dns: this is a bug");
  return dns;
}

/** What plan, verify and the safety checks hold of the zone: a reader (a write there does not compile). */
export interface Observed {
  port: DnsReader;
  zone: Zone;
  name: string;
  /** `route53 record shop.example.com. A`: the plan address of every change to this record. */
  address: string;
}

export async function observeZone(ctx: ReadContext): Promise<Observed> {
  const dns = dnsSpecOf(ctx);
  const port = dnsProvider(ctx);
  const zone = await port.findZone({
    ...(dns.zone === undefined ? {} : { zone: dns.zone }),
    ...(dns.zoneId === undefined ? {} : { zoneId: dns.zoneId }),
  });
  const name = fqdn(dns.record);
  if (!recordInZone(name, zone.name)) {
    throw new UsageError(
      `spec.dns.record: Invalid value: ${name}: not in the zone ${zone.name} (${zone.id})`,
    );
  }
  return { port, zone, name, address: `${port.label} record ${name} ${dns.type}` };
}

/** The record sets a DNS stage may touch: the record's type, the target's type, and nothing else of the name. */
export async function readRecord(observed: Observed, types: ReadonlySet<string>): Promise<RecordSet[]> {
  const sets = await observed.port.listRecordSets(observed.zone, observed.name);
  return sets.filter((set) => types.has(set.type));
}

/**
 * The record as it was before this run changed it: the before-image of the run's first journaled DNS change
 * (the record no longer shows its original TTL once lowered), else what the zone holds now.
 * Throws when that is not one simple record set.
 */
export function originalRecord(
  observed: Observed,
  current: readonly RecordSet[],
  journaled: readonly ChangeEntry[] | undefined,
  dns: DnsSpec,
): RecordSet {
  const first = (journaled ?? []).find(
    (entry) => DNS_KINDS.includes(entry.kind) && sameRecordTarget(entry, observed),
  );
  const sets = first ? (first.before as RecordSet[]) : current;
  const source = sets.find((set) => set.setIdentifier === SOURCE_ID);
  // Halfway through a weighted shift the source set still holds the original record, plus a weight.
  if (source && sets.length === 2 && sets.some((set) => set.setIdentifier === TARGET_ID)) {
    const { setIdentifier: _id, weight: _weight, ...simple } = source;
    return simple;
  }
  const [only, ...others] = sets;
  if (!only) {
    throw new RuntimeError(
      `no ${dns.type} record ${observed.name} in zone ${observed.zone.name} (${observed.zone.id}): nothing to cut over. ` +
        "Create it first, or fix dns.record and dns.type.",
    );
  }
  if (others.length > 0 || only.setIdentifier !== undefined || only.routing !== undefined) {
    throw new RuntimeError(
      `${observed.name} has record sets with a routing policy (${describeRecordSets(sets)}); ` +
        "clustershift cuts over one simple record. Turn it into a simple record first, or cut it over by hand.",
    );
  }
  return only;
}

function sameRecordTarget(entry: ChangeEntry, observed: Observed): boolean {
  const target = entry.target;
  return (
    target?.type === "dns.recordset" &&
    target.zone.id === observed.zone.id &&
    target.name === observed.name &&
    Array.isArray(entry.before)
  );
}

/** The types a stage reads and replaces: the record's own, and the one the target address needs. */
export function recordTypes(dns: DnsSpec, target: string): Set<string> {
  return new Set([dns.type, addressType(target, dns)]);
}

/** Types of every record set the images hold: what a stage reads back. */
export function typesOf(...images: (readonly RecordSet[])[]): Set<string> {
  return new Set(images.flat().map((set) => set.type));
}

/** Keys of every record set an image pair mentions; rollback replaces exactly those. */
export function keysOf(...images: (readonly RecordSet[])[]): Set<string> {
  return new Set(images.flat().map(recordKey));
}

/**
 * The new address: `dns.target`, else the target ingress Service's load balancer. When an earlier step
 * creates the cluster or the gateway, or the load balancer has no address yet, it is KNOWN_AFTER_APPLY.
 */
export async function targetAddress(ctx: ReadContext): Promise<string> {
  const dns = dnsSpecOf(ctx);
  if (dns.target !== undefined) return dns.target.trim().toLowerCase();
  const { target } = ctx.playbook.spec;
  if (!target.ingress) {
    throw new UsageError(
      "spec.dns.target: Required: set dns.target, or spec.target.ingress to read the target's address from",
    );
  }
  const ref = ingressRef(ctx);
  const port = target.provision ? clusterIfKnown(ctx, target.context) : cluster(ctx, target.context);
  if (!port) return KNOWN_AFTER_APPLY;
  const service = await port.get(ref);
  if (!service && !target.ingress.install && !target.provision) {
    throw new RuntimeError(
      `the target ingress Service ${ref.namespace}/${ref.name} does not exist in context ${target.context}: ` +
        "set dns.target, or fix spec.target.ingress",
    );
  }
  return loadBalancerAddress(service) ?? KNOWN_AFTER_APPLY;
}

/** Waits for the target ingress load balancer's address: at plan time it may have had none yet. */
export async function awaitTargetAddress(
  ctx: ReadContext,
  onProgress: (detail: string) => void,
): Promise<string> {
  const ref = ingressRef(ctx);
  return cluster(ctx, ctx.playbook.spec.target.context).waitFor(
    ref,
    loadBalancerAddress,
    INGRESS_ADDRESS_TIMEOUT_MS,
    (detail) => onProgress(`waiting for the address of ${ref.namespace}/${ref.name}: ${detail}`),
  );
}

function ingressRef(ctx: ReadContext): ObjectRef & { namespace: string } {
  const ingress = ctx.playbook.spec.target.ingress;
  if (!ingress) throw new Error("ingressRef without spec.target.ingress: this is a bug");
  return { apiVersion: "v1", kind: "Service", namespace: ingress.namespace, name: ingress.service };
}

/** Lower-case, like `dns.target`: the DNS steps compare record values as text. */
function loadBalancerAddress(service: KubeObject | undefined): string | undefined {
  return ingressAddress(service)?.toLowerCase();
}
