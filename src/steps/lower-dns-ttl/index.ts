import type { Step } from "../../engine/types.js";
import { dnsStageStep } from "../dns-common/stage-step.js";
import type { DnsStageSpec } from "../dns-common/stages.js";

/**
 * Lowers the record's TTL to `dns.lowTtl` (same values, one change batch), waits for INSYNC, then waits out
 * the old TTL so every resolver holds the short one before the cutover. Nothing when the TTL is already low.
 */
export const lowerDnsTtlStep: Step<DnsStageSpec> = dnsStageStep(
  "lower-dns-ttl",
  (stages) => stages.filter((stage) => stage.kind === "lower-ttl"),
  // Only the record: its old TTL runs out while the target is provisioned, meshed and mirrored.
  [],
);
