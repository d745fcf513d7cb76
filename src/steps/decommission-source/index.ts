import { RuntimeError } from "../../engine/errors.js";
import type { Change, ChangeEntry, PlannedGate, Step, StepPlan, WriteContext } from "../../engine/types.js";
import { durationMs, formatDuration } from "../../playbook/duration.js";
import type { DecommissionSpec, Playbook } from "../../playbook/schema.js";
import { journaledWait } from "../../engine/clock.js";
import { specOf } from "../spec-plan.js";
import {
  applyDelete,
  IRREVERSIBLE,
  planDelete,
  rollbackDelete,
  sourceClusterAddress,
  verifyDelete,
  type SourceCluster,
} from "./cluster.js";
import { describeQuiet, QUIET_ADDRESS, rateSource, waitQuiet } from "./quiet.js";
import { applyScale, planScale, rollbackScale, verifyScale } from "./scale.js";

/** One instance: the quiet check and scale to zero, or (after the approval gate) the cluster's deletion. */
export type DecommissionInstance =
  | { phase: "scale"; spec: DecommissionSpec; namespaces: string[]; context: string }
  | { phase: "delete"; cluster: SourceCluster };

export const SOAK_ADDRESS = "soak after the DNS cutover";
export const DELETE_STEP_ID = "decommission-source[delete-cluster]";

/**
 * The last step, on only with `spec.decommission`: after a soak, waits until the source ingress gets no more
 * traffic, then scales the source's Deployments and StatefulSets of the migrated namespaces to zero (rollback
 * scales them back). With `deleteCluster`, an approval gate follows, then a second instance deletes the source
 * cluster, after which rollback refuses: the changes before it only make sense with the cluster there.
 */
export const decommissionSourceStep: Step<DecommissionInstance> = {
  kind: "decommission-source",
  needs: ["cutover-dns", "shift-traffic", "lower-dns-ttl"],

  expand(playbook) {
    const spec = playbook.spec.decommission;
    if (!spec) return [];
    const context = playbook.spec.source.context;
    const instances = [
      {
        id: "decommission-source",
        title: `Decommission the source: wait until its ingress is quiet, scale its workloads to zero`,
        spec: {
          phase: "scale",
          spec,
          namespaces: playbook.spec.workloads?.namespaces ?? [],
          context,
        } as const,
      },
    ];
    if (!spec.deleteCluster) return instances;
    const cluster = sourceCluster(spec);
    return [
      ...instances,
      {
        id: DELETE_STEP_ID,
        title: `Delete the source cluster (${sourceClusterAddress(cluster)})`,
        spec: { phase: "delete", cluster } as const,
      },
    ];
  },

  async plan(instance, ctx) {
    const spec = instance.spec;
    const base = { id: instance.id, kind: "decommission-source", title: instance.title, data: spec };
    if (spec.phase === "delete") {
      return { ...base, changes: [await planDelete(spec.cluster, ctx)], gates: [] };
    }
    const decommission = spec.spec;
    const source = rateSource(decommission, ctx.playbook);
    if (decommission.deleteCluster) refuseJournalOnSource(ctx.playbook);
    if (spec.namespaces.length === 0) {
      throw new RuntimeError(
        "spec.decommission needs spec.workloads.namespaces: the namespaces whose source workloads it scales to zero",
      );
    }
    const changes: Change[] = [
      { action: "wait", address: SOAK_ADDRESS, detail: `${decommission.soak}, then the traffic check` },
      { action: "wait", address: QUIET_ADDRESS, detail: describeQuiet(decommission, source) },
      ...(await planScale(ctx, spec.context, spec.namespaces)),
    ];
    const gates: PlannedGate[] = decommission.deleteCluster
      ? [
          {
            address: "delete source cluster approval",
            gate: {
              type: "approval",
              question: `Delete the source cluster? ${IRREVERSIBLE}.`,
            },
            onFailure: "pause",
            detail: `approval: ${IRREVERSIBLE}`,
          },
        ]
      : [];
    return { ...base, changes, gates };
  },

  async apply(plan, ctx) {
    const spec = specOf<DecommissionInstance>(plan);
    if (spec.phase === "delete") {
      const change = plan.changes[0];
      if (change) await applyDelete(spec.cluster, change, ctx);
      return;
    }
    await soak(plan, spec.spec, ctx);
    const detail = await waitQuiet(spec.spec, rateSource(spec.spec, ctx.playbook), ctx);
    ctx.progress.info(`source ingress quiet: ${detail}`);
    await ctx.note("source-quiet", { detail });
    await applyScale(ctx, spec.context, plan.changes);
  },

  async verify(plan, ctx) {
    const spec = specOf<DecommissionInstance>(plan);
    if (spec.phase === "delete") {
      const problem = await verifyDelete(spec.cluster, ctx);
      return problem ? { outcome: "failed", detail: problem } : { outcome: "passed" };
    }
    const problems = await verifyScale(ctx, spec.context, plan.changes);
    return problems.length > 0
      ? { outcome: "failed", detail: `not scaled to 0: ${problems.join(", ")}` }
      : { outcome: "passed" };
  },

  async rollback(entries, ctx) {
    // The deletion is refused before anything is reverted, whatever order the entries come in.
    const deletion = entries.find((e) => isClusterTarget(e));
    if (deletion) await rollbackDelete(deletion, ctx);
    for (const entry of entries) await rollbackEntry(entry, ctx);
  },
};

async function rollbackEntry(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  if (isClusterTarget(entry)) return;
  if (entry.target?.type === "kube.replicas") return rollbackScale(entry, ctx);
  throw new RuntimeError(
    `decommission-source cannot roll back ${entry.address} (target ${entry.target?.type ?? "none"}): this is a bug`,
  );
}

/** The source cluster's deletion: the only cluster target this step journals. */
function isClusterTarget(entry: ChangeEntry): boolean {
  return entry.target?.type === "gke.cluster" || entry.target?.type === "sandbox.cluster";
}

/**
 * Waits the soak out, counted from its first start: a run resumed after a stop (or after the traffic check
 * gave up) does not wait it again from zero.
 */
async function soak(plan: StepPlan, spec: DecommissionSpec, ctx: WriteContext): Promise<void> {
  const noted = ctx.journaledNotes?.findLast((n) => n.step === plan.id && n.note === "soak-started");
  // Timed by the server's clock across a resume and the monotonic one within the run (engine/clock.ts).
  await journaledWait(ctx, {
    totalMs: durationMs(spec.soak),
    earlier: noted?.data,
    record: (start) => ctx.note("soak-started", start),
    onStart: (left) => {
      if (left > 0) ctx.progress.wait(SOAK_ADDRESS, `${formatDuration(left)} left of ${spec.soak}`);
    },
    onTick: () => {},
  });
}

function sourceCluster(spec: DecommissionSpec): SourceCluster {
  const cluster = spec.cluster;
  if (!cluster) {
    throw new RuntimeError(
      "spec.decommission.deleteCluster needs spec.decommission.cluster: which cluster to delete",
    );
  }
  if (cluster.provider === "sandbox") return { provider: "sandbox", name: cluster.name };
  if (!cluster.project || !cluster.location) {
    throw new RuntimeError('spec.decommission.cluster needs project and location when provider is "gke"');
  }
  return {
    provider: "gke",
    ref: { project: cluster.project, location: cluster.location, name: cluster.name },
  };
}

/** The journal cannot live in the cluster this run deletes: the refusal to roll back would go with it. */
function refuseJournalOnSource(playbook: Playbook): void {
  const state = playbook.spec.state;
  if (state.backend === "kubernetes" && state.context === playbook.spec.source.context) {
    throw new RuntimeError(
      "spec.decommission.deleteCluster with spec.state in the source cluster: the run's journal would be deleted with it; keep the state locally or in the target",
    );
  }
}
