import type { Step } from "../../engine/types.js";
import { dnsStageStep } from "../dns-common/stage-step.js";
import type { DnsStageSpec } from "../dns-common/stages.js";

/**
 * Points the record at the target: one change batch that DELETEs the exact current record and CREATEs the
 * new one (a record changed since the plan fails the batch instead of being overwritten), or with
 * `dns.weights` one instance per weight over a weighted pair that collapses into a simple record at 100.
 * With `dns.restoreTtl`, a last instance puts the original TTL back after the `dns.soak` pause.
 */
export const cutoverDnsStep: Step<DnsStageSpec> = dnsStageStep(
  "cutover-dns",
  (stages) => stages.filter((stage) => stage.kind !== "lower-ttl"),
  // The old TTL run out, and the target taking all the mesh traffic (or ready to, without shift-traffic).
  ["lower-dns-ttl", "shift-traffic"],
);
