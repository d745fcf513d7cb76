import { DriftError, RuntimeError } from "../../engine/errors.js";
import { journaledWait } from "../../engine/clock.js";
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
import { dnsProvider } from "../../providers/dns.js";
import {
  BatchRejectedError,
  type ChangeInfo,
  type DnsPort,
  type RecordChange,
  type RecordSet,
  type Zone,
} from "../../providers/route53/port.js";
import { describeRecordSets, recordKey, sameRecordSets } from "../../providers/route53/records.js";
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
  journaledDnsPort,
  keysOf,
  observeZone,
  originalRecord,
  readRecord,
  recordTypes,
  targetAddress,
  typesOf,
  type DnsTarget,
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
  const port = dnsProvider(ctx);
  const observed: Observed = { port, zone: data.zone, name: data.name, address: data.address };
  const types = typesOf(data.before, data.after);
  const current = await readRecord(observed, types);
  const earlier = earlierProgress(ctx, plan.id);
  // A batch accepted before the run stopped whose INSYNC nobody saw: wait for that one.
  let pending: ChangeInfo | undefined =
    earlier.change !== undefined && !earlier.insync ? { id: earlier.change, status: "PENDING" } : undefined;
  let ttlUntil = earlier.ttlUntil;
  // Equal to `after`: a resumed run whose batch went through before it stopped; only the waits remain.
  if (sameRecordSets(current, data.after) && earlier.change === undefined) {
    // ... but its change id was never seen (the reply was lost, or the run stopped before noting it).
    pending = await resync(observed, data.after, `clustershift ${ctx.playbook.metadata.name} ${plan.id}`);
    await ctx.note(CHANGE_NOTE, { address: data.address, change: pending.id });
  } else if (!sameRecordSets(current, data.after)) {
    if (!sameRecordSets(current, data.before)) throw driftError(observed, data.before, current);
    const target: DnsTarget = {
      type: "dns.recordset",
      provider: port.label,
      zone: { ...data.zone },
      name: data.name,
      recordType: dnsSpecOf(ctx).type,
      // The sandbox DNS is served by a cluster: rollback must find it without the playbook.
      ...(dnsSpecOf(ctx).provider === "sandbox" ? { context: ctx.playbook.spec.source.context } : {}),
    };
    pending = await ctx.change(
      {
        address: data.address,
        action: "update",
        before: data.before,
        after: data.after,
        target: { ...target },
      },
      () =>
        submit(
          observed,
          replaceBatch(data.before, data.after),
          data.before,
          data.after,
          () => readRecord(observed, types),
          `clustershift ${ctx.playbook.metadata.name} ${plan.id}`,
          "since the plan",
        ),
    );
    // A new batch: an old-TTL countdown of an earlier attempt no longer counts.
    ttlUntil = undefined;
    await ctx.note(CHANGE_NOTE, { address: data.address, change: pending.id });
  }
  if (pending) {
    await waitInSync(port, pending, waitAddress(data.address, "change"), ctx);
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

function waitInSync(port: DnsPort, change: ChangeInfo, address: string, ctx: ReadContext): Promise<void> {
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

/**
 * The cutover batch: DELETE exactly `before`, CREATE `after`. A record changed since it was read makes the
 * DELETE, and with it the whole batch, fail: nothing is overwritten.
 */
function replaceBatch(before: readonly RecordSet[], after: readonly RecordSet[]): RecordChange[] {
  return [
    ...before.map((record) => ({ action: "DELETE" as const, record })),
    ...after.map((record) => ({ action: "CREATE" as const, record })),
  ];
}

/**
 * The rollback batch: DELETE what is there and has no before-image, UPSERT the before-images. Rollback
 * restores whatever it finds, so it needs no DELETE precondition on sets it overwrites anyway.
 */
function restoreBatch(current: readonly RecordSet[], before: readonly RecordSet[]): RecordChange[] {
  const restored = keysOf(before);
  return [
    ...current
      .filter((record) => !restored.has(recordKey(record)))
      .map((record) => ({ action: "DELETE" as const, record })),
    ...before.map((record) => ({ action: "UPSERT" as const, record })),
  ];
}

/**
 * Sends one batch that takes the record from `expected` to `intended`; when the zone refuses it, says whether
 * the record moved under it (drift) or what else.
 */
async function submit(
  observed: Observed,
  changes: RecordChange[],
  expected: readonly RecordSet[],
  intended: readonly RecordSet[],
  read: () => Promise<RecordSet[]>,
  comment: string,
  when: string,
): Promise<ChangeInfo> {
  try {
    return await observed.port.changeRecordSets(observed.zone, changes, comment);
  } catch (error) {
    if (!(error instanceof BatchRejectedError)) throw error;
    const now = await read();
    // The client retried a batch that an earlier try had carried out, its reply lost: the retry's exact DELETE
    // no longer matched. The record is where this batch takes it; only the change id went with the reply.
    if (intended.length > 0 && sameRecordSets(now, intended) && !sameRecordSets(now, expected))
      return resync(observed, intended, comment);
    if (!sameRecordSets(now, expected)) throw driftError(observed, expected, now, when);
    throw new RuntimeError(
      `${observed.port.label} refused the change of ${observed.address} (${error.message}); nothing was changed`,
      { cause: error },
    );
  }
}

/**
 * A change id for record sets already in place whose own change id is unknown: an UPSERT of exactly what is
 * there changes nothing, and it is INSYNC only once the zone's earlier changes are.
 */
function resync(observed: Observed, records: readonly RecordSet[], comment: string): Promise<ChangeInfo> {
  return observed.port.changeRecordSets(
    observed.zone,
    records.map((record) => ({ action: "UPSERT" as const, record })),
    comment,
  );
}

function driftError(
  observed: Observed,
  expected: readonly RecordSet[],
  found: readonly RecordSet[],
  when = "since the plan",
): DriftError {
  return new DriftError(
    `the record ${observed.address.replace(/^\S+ record /, "")} changed ${when}: expected ${describeRecordSets(expected)}, ` +
      `found ${describeRecordSets(found)}; nothing was changed. Run \`clustershift plan\` to review.`,
  );
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
 * Puts back each entry's before-image in one batch ({@link restoreBatch}) and waits for INSYNC. Nothing when
 * the record already equals it: a write that never happened, or a rollback run twice.
 */
async function rollbackEntries(entries: ChangeEntry[], ctx: WriteContext): Promise<void> {
  for (const entry of entries) {
    if (entry.action !== "update" || entry.target?.type !== "dns.recordset") continue;
    const target = entry.target;
    const before = entry.before as RecordSet[];
    const after = (entry.after ?? []) as RecordSet[];
    // From the journal alone: the playbook may no longer have spec.dns, or name another provider or zone.
    const port = journaledDnsPort(target, ctx);
    const zone = { ...target.zone, private: target.zone.private ?? false };
    const observed: Observed = { port, zone, name: target.name, address: entry.address };
    const keys = keysOf(before, after);
    const types = typesOf(before, after);
    const read = async () => (await readRecord(observed, types)).filter((set) => keys.has(recordKey(set)));
    const current = await read();
    if (sameRecordSets(current, before)) continue;
    if (!sameRecordSets(current, after)) {
      const outside =
        `${entry.address} was changed outside clustershift: it is ${describeRecordSets(current)}, where ` +
        `clustershift left ${describeRecordSets(after)}`;
      // Someone changed the record since clustershift did (an operator's emergency change, another tool):
      // restoring the before-image would silently undo their change. Stop here, journal intact, unless told.
      if (!ctx.options.forceRollback) {
        throw new DriftError(
          `${outside}. Rollback leaves it as it is rather than overwrite that change with ` +
            `${describeRecordSets(before)}; set the record as it should be and run rollback again, or run ` +
            "rollback with --force to restore it anyway",
        );
      }
      ctx.progress.warn(`${outside}; --force: restoring ${describeRecordSets(before)} anyway`);
    }
    const change = await submit(
      observed,
      restoreBatch(current, before),
      current,
      before,
      read,
      `clustershift rollback ${entry.step}`,
      "during the rollback",
    );
    await waitInSync(port, change, waitAddress(entry.address, "change"), ctx);
  }
}
