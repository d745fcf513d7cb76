import { journaledWait } from "../../engine/clock.js";
import type { DnsRecordSetTarget } from "../../engine/targets.js";
import {
  KNOWN_AFTER_APPLY,
  type Change,
  type ChangeEntry,
  type PlannedGate,
  type ReadContext,
  type Step,
  type StepInstance,
  type StepKind,
  type StepPlan,
  type Verification,
  type WriteContext,
} from "../../engine/types.js";
import type { DnsSpec, Playbook } from "../../playbook/schema.js";
import { dnsPortFor, dnsProvider } from "../../providers/dns.js";
import type { ChangeInfo, DnsPort, RecordSet, Zone } from "../../providers/route53/port.js";
import { describeRecordSets, sameRecordSets } from "../../providers/route53/records.js";
import { changeAddress, dnsRecordSetResource, resync, zoneOf } from "../../resources/dns-recordset.js";
import { chainStates, pointsAt } from "./chain.js";
import { describeTransition } from "./describe.js";
import { CHANGE_NOTE, earlierProgress, INSYNC_NOTE, TTL_WAIT_NOTE } from "./resume.js";
import {
  checkOwnership,
  negativeCachingNote,
  readNegativeCaching,
  refuseAlias,
  type NegativeCaching,
} from "./safety.js";
import {
  awaitTargetAddress,
  dnsSpecOf,
  observeZone,
  originalRecord,
  readRecord,
  recordTypes,
  targetAddress,
  typesOf,
  type Observed,
} from "./observe.js";
import { checkEveryServer } from "./verify-servers.js";
import {
  dnsStages,
  isFinalCutover,
  stageId,
  stageTitle,
  type DnsStage,
  type DnsStageSpec,
} from "./stages.js";

/** What apply, verify and rollback need of a DNS stage's plan. */
export interface DnsStageData {
  stage: DnsStage;
  zone: Zone;
  name: string;
  address: string;
  original: RecordSet;
  /** The new address, or KNOWN_AFTER_APPLY while the target load balancer has none. */
  target: string;
  before: RecordSet[];
  after: RecordSet[];
  /** The zone's negative-caching TTL from its SOA, when it has one (see safety.ts). */
  negativeCaching?: NegativeCaching;
}

/** A step kind made of DNS stages: `lower-dns-ttl` takes the first, `cutover-dns` the rest. */
export function dnsStageStep(
  kind: StepKind,
  stagesOf: (stages: DnsStage[]) => DnsStage[],
  needs: readonly StepKind[],
): Step<DnsStageSpec> {
  return {
    kind,
    needs,
    expand(playbook: Playbook): StepInstance<DnsStageSpec>[] {
      const dns = playbook.spec.dns;
      if (!dns) return [];
      return stagesOf(dnsStages(dns)).map((stage) => ({
        id: stageId(stage),
        title: stageTitle(stage, dns),
        spec: { stage },
      }));
    },
    plan: (instance, ctx) => planStage(kind, instance, ctx),
    apply: applyStage,
    verify: verifyStage,
    rollback: rollbackEntries,
  };
}

async function planStage(
  kind: StepKind,
  instance: StepInstance<DnsStageSpec>,
  ctx: ReadContext,
): Promise<StepPlan> {
  const dns = dnsSpecOf(ctx);
  const { stage } = instance.spec;
  const observed = await observeZone(ctx);
  const target = await targetAddress(ctx);
  const current = await readRecord(observed, recordTypes(dns, target));
  const original = originalRecord(observed, current, ctx.journaled, dns);
  refuseAlias(original, observed, dns);
  const ownership = await checkOwnership(observed, dns);
  const negativeCaching = await readNegativeCaching(observed);
  if (stage.kind === "restore-ttl" && ctx.journaled === undefined && pointsAt(original, target, dns)) {
    // Once lowered, the record no longer shows its original TTL; only the journal still knows it.
    throw new Error(
      "cutover-dns[restore-ttl]: the original TTL is unknown because the engine passes no journaled changes (ReadContext.journaled): this is a bug",
    );
  }
  const { states, before, after } = statesOf(original, dns, target, stage);
  const data: DnsStageData = {
    stage,
    zone: observed.zone,
    name: observed.name,
    address: observed.address,
    original,
    target,
    before,
    after,
    ...(negativeCaching ? { negativeCaching } : {}),
  };
  const unchanged = sameRecordSets(before, after);
  const changes: Change[] = unchanged
    ? [{ action: "no-op", address: observed.address, detail: noChangeReason(stage, states, target, dns) }]
    : [
        {
          action: "update",
          address: observed.address,
          before,
          after,
          detail: describeTransition(before, after),
        },
        { action: "wait", address: waitAddress(observed.address, "change"), detail: "INSYNC" },
        ...(stage.kind === "lower-ttl" && original.ttl !== undefined
          ? [
              {
                action: "wait",
                address: waitAddress(observed.address, "ttl"),
                detail: `the old TTL (${original.ttl}s) runs out of resolvers' caches`,
                expectedMs: original.ttl * 1000,
              } as const,
            ]
          : []),
      ];
  const moves = !states.every((state) => sameRecordSets(state, [original]));
  // Notes for the operator: the record's other owner, and negative caching of a record type this stage creates.
  const notes = unchanged
    ? []
    : [ownership, negativeCachingNote(observed, before, after, negativeCaching)].filter(
        (note): note is Change => note !== undefined,
      );
  return {
    id: instance.id,
    kind,
    title: instance.title,
    changes: [...changes, ...notes],
    gates: moves ? stageGates(stage, dns, observed.address, after) : [],
    data,
  };
}

/** Addresses are unique within a step: `route53 change shop.example.com. A` for INSYNC, `route53 ttl …` for the old TTL. */
function waitAddress(address: string, what: "change" | "ttl"): string {
  return address.replace(" record ", ` ${what} `);
}

function statesOf(original: RecordSet, dns: DnsSpec, target: string, stage: DnsStage) {
  const states = chainStates(original, dns, target);
  const position = dnsStages(dns).findIndex((s) => stageId(s) === stageId(stage));
  const before = states[position];
  const after = states[position + 1];
  if (position < 0 || !before || !after)
    throw new Error(`DNS stage ${stageId(stage)} is not in the playbook: this is a bug`);
  return { states, before, after };
}

function noChangeReason(stage: DnsStage, states: RecordSet[][], target: string, dns: DnsSpec): string {
  const [original] = states[0] ?? [];
  if (!original || states.every((state) => sameRecordSets(state, [original])))
    return `already answers ${target}`;
  if (stage.kind === "lower-ttl") {
    return original.alias
      ? "an alias record has no TTL of its own"
      : `ttl ${original.ttl}s is not above ${dns.lowTtl}s`;
  }
  return "nothing to change";
}

/**
 * Between weights: a pause of the record's TTL, so resolvers see one weight before the next. After the
 * last cutover stage: the `dns.soak` pause, before the TTL goes back up and the run ends.
 */
function stageGates(stage: DnsStage, dns: DnsSpec, address: string, after: RecordSet[]): PlannedGate[] {
  const gates: PlannedGate[] = [];
  const ttl = Math.max(0, ...after.map((set) => set.ttl ?? 0));
  if (stage.kind === "weight" && !stage.last && ttl > 0) {
    gates.push(
      pauseGate(`${address} settle`, `${ttl}s`, `pause ${ttl}s (one TTL at weight ${stage.weight})`),
    );
  }
  if (isFinalCutover(stage) && dns.soak !== undefined) {
    gates.push(pauseGate(`${address} soak`, dns.soak, `pause ${dns.soak} (soak)`));
  }
  return gates;
}

function pauseGate(address: string, duration: string, detail: string): PlannedGate {
  return { address, gate: { type: "pause", duration }, onFailure: "rollback", detail };
}

async function applyStage(plan: StepPlan, ctx: WriteContext): Promise<void> {
  if (!plan.changes.some((change) => change.action === "update")) return;
  const data = await resolvedData(plan, ctx);
  const dns = dnsSpecOf(ctx);
  const target: DnsRecordSetTarget = {
    type: "dns.recordset",
    provider: dnsProvider(ctx).label,
    zone: { ...data.zone },
    name: data.name,
    recordType: dns.type,
    // The sandbox DNS is served by a cluster: rollback must find it without the playbook.
    ...(dns.provider === "sandbox" ? { context: ctx.playbook.spec.source.context } : {}),
  };
  const port = dnsPortFor(target, ctx);
  const comment = `clustershift ${ctx.playbook.metadata.name} ${plan.id}`;
  const earlier = earlierProgress(ctx, plan.id);
  // A batch accepted before the run stopped whose INSYNC nobody saw: wait for that one.
  let pending: ChangeInfo | undefined =
    earlier.change !== undefined && !earlier.insync ? { id: earlier.change, status: "PENDING" } : undefined;
  let ttlUntil = earlier.ttlUntil;
  // Through the resource: compare-and-swap on the plan's before-image, journaled before the batch is sent.
  const submitted = await dnsRecordSetResource.submit(
    { address: data.address, action: "update", target, before: data.before, after: data.after, comment },
    ctx,
  );
  if (submitted) {
    pending = submitted;
    // A new batch: an old-TTL countdown of an earlier attempt no longer counts.
    ttlUntil = undefined;
    await ctx.note(CHANGE_NOTE, { address: data.address, change: pending.id });
  } else if (earlier.change === undefined) {
    // Already `after`: a resumed run whose batch went through before it stopped, its change id never seen (the
    // reply was lost, or the run stopped before noting it). Only the waits remain; they need a change id.
    pending = await resync(port, zoneOf(target), data.after, comment);
    await ctx.note(CHANGE_NOTE, { address: data.address, change: pending.id });
  }
  if (pending) {
    await waitInSync(port, pending, changeAddress(data.address), ctx);
    await ctx.note(INSYNC_NOTE, { change: pending.id });
  }
  if (data.stage.kind === "lower-ttl" && data.original.ttl !== undefined) {
    const address = waitAddress(data.address, "ttl");
    const totalMs = data.original.ttl * 1000;
    // Timed by the server's clock across a resume and the monotonic one within the run (engine/clock.ts).
    await journaledWait(ctx, {
      totalMs,
      earlier:
        ttlUntil === undefined
          ? undefined
          : ctx.journaledNotes?.findLast((n) => n.step === plan.id && n.note === TTL_WAIT_NOTE)?.data,
      record: (deadline) => ctx.note(TTL_WAIT_NOTE, deadline),
      onStart: (left, resumed) => {
        if (resumed && left === 0)
          ctx.progress.wait(address, "the old TTL ran out while the run was stopped");
      },
      onTick: (left) =>
        ctx.progress.wait(address, `waiting out the old TTL: ${Math.ceil(left / 1000)}s left`),
    });
  }
}

function waitInSync(
  port: Pick<DnsPort, "waitForChange">,
  change: ChangeInfo,
  address: string,
  ctx: ReadContext,
): Promise<void> {
  return port.waitForChange(change, {
    onProgress: (detail) => ctx.progress.wait(address, detail),
    signal: ctx.signal,
  });
}

/** The plan's data with the target address filled in, waiting for the load balancer if the plan could not know it. */
async function resolvedData(plan: StepPlan, ctx: ReadContext): Promise<DnsStageData> {
  const data = plan.data as DnsStageData;
  // Lowering the TTL writes the same values with a shorter TTL: it needs no target, and runs before there is one.
  if (data.target !== KNOWN_AFTER_APPLY || data.stage.kind === "lower-ttl") return data;
  const dns = dnsSpecOf(ctx);
  const known =
    dns.target ?? (await awaitTargetAddress(ctx, (detail) => ctx.progress.wait(data.address, detail)));
  const { before, after } = statesOf(data.original, dns, known, data.stage);
  return { ...data, target: known, before, after };
}

async function verifyStage(plan: StepPlan, ctx: ReadContext): Promise<Verification> {
  const data = await resolvedTarget(plan, ctx);
  const port = dnsProvider(ctx);
  const observed: Observed = { port, zone: data.zone, name: data.name, address: data.address };
  const current = await readRecord(observed, typesOf(data.before, data.after));
  if (!sameRecordSets(current, data.after)) {
    return {
      outcome: "failed",
      detail: `${data.address} is ${describeRecordSets(current)}, expected ${describeRecordSets(data.after)}`,
    };
  }
  const servers = await port.nameServers(data.zone);
  const viaApi = `${data.name} reads back as planned through the ${port.label} API`;
  if (servers.kind === "unreachable") {
    return {
      outcome: "not-supported",
      detail: `${viaApi}; not checked at the name servers: ${servers.reason}`,
    };
  }
  return checkEveryServer(
    servers.servers,
    servers.settleMs,
    { name: data.name, after: data.after, progressAddress: waitAddress(data.address, "change"), viaApi },
    ctx,
  );
}

/** At verify time the target is known even when the plan was made before the load balancer had an address. */
async function resolvedTarget(plan: StepPlan, ctx: ReadContext): Promise<DnsStageData> {
  const data = plan.data as DnsStageData;
  if (data.target !== KNOWN_AFTER_APPLY) return data;
  const known = await targetAddress(ctx);
  if (known === KNOWN_AFTER_APPLY) return data;
  const { before, after } = statesOf(data.original, dnsSpecOf(ctx), known, data.stage);
  return { ...data, target: known, before, after };
}

/**
 * Puts back each entry's before-image through the record-set resource, from the journal alone (the playbook may
 * no longer have spec.dns, or name another provider or zone): one DELETE-exact + CREATE batch, then INSYNC.
 * Nothing when the record already equals it: a write that never happened, or a rollback run twice.
 */
async function rollbackEntries(entries: ChangeEntry[], ctx: WriteContext): Promise<void> {
  for (const entry of entries) {
    if (entry.target?.type !== "dns.recordset") continue;
    await dnsRecordSetResource.revert(entry, ctx);
  }
}
