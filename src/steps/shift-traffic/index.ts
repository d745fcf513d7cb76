import { isDeepStrictEqual } from "node:util";
import { RuntimeError } from "../../engine/errors.js";
import { analysisGate } from "../../engine/gates/analysis.js";
import { approvalGate } from "../../engine/gates/approval.js";
import { pauseGate } from "../../engine/gates/pause.js";
import { probeGate } from "../../engine/gates/probe.js";
import { shareGate as shareGateRunner } from "../../engine/gates/share.js";
import type { Change, PlannedGate, ReadContext, Step } from "../../engine/types.js";
import type { TrafficSpec, TrafficStep } from "../../playbook/schema.js";
import { cluster, refOf } from "../../providers/kubernetes/index.js";
import { requireIngress } from "../expose-target/index.js";
import {
  addressOf,
  imageOf,
  journalTarget,
  managedLabels,
  requireIstio,
  rollbackEntries,
} from "../expose-target/istio.js";
import { requireSourceService } from "../expose-target/source-service.js";
import { shareGate, type GatewayWorkload } from "./observe.js";
import { appVirtualServices } from "./route-table.js";
import { boundToGateway, newSplitVirtualService, serviceHosts } from "./virtual-service.js";
import {
  formatMoves,
  formatWeights,
  shiftWeights,
  type VirtualService,
  type WeightTarget,
} from "./weights.js";

export interface ShiftTrafficSpec {
  playbook: string;
  sourceContext: string;
  /** `namespace/name` of the source ingress Gateway. */
  gateway: string;
  traffic: TrafficSpec;
  /** 0-based position in `traffic.steps`. */
  index: number;
  /** The source gateway's workload, whose requests `traffic.observe` reads. */
  gatewayWorkload?: GatewayWorkload | undefined;
}

/** One VirtualService this instance writes; images without server-owned metadata. */
interface PlannedVirtualService {
  action: "create" | "update" | "no-op";
  before?: VirtualService;
  after: VirtualService;
}

interface ShiftData {
  spec: ShiftTrafficSpec;
  virtualServices: PlannedVirtualService[];
}

/** Step kinds a failed traffic gate rolls back: the weights, then the ServiceEntry and target VirtualService. */
export const TRAFFIC_ROLLBACK_KINDS = ["expose-target", "shift-traffic"];

/**
 * One instance per `traffic.steps` entry, `shift-traffic[1]`…: sets the weight of the remote cluster in the
 * source gateway's VirtualServices (adopting them: only weights change) — with `traffic.scope: app` every local
 * destination of every route of the app's VirtualServices for the public hosts, with `scope: service` only the
 * service's — or creates `clustershift-<service>-split` when there is none. Gates of the entry run after.
 */
export const shiftTrafficStep: Step<ShiftTrafficSpec> = {
  kind: "shift-traffic",
  needs: ["expose-target"],
  expand(playbook) {
    const { traffic, source } = playbook.spec;
    if (!traffic) return [];
    requireIngress(playbook);
    return traffic.steps.map((step, index) => ({
      id: `shift-traffic[${index + 1}]`,
      title: `Shift traffic to ${step.weight}%`,
      spec: {
        playbook: playbook.metadata.name,
        sourceContext: source.context,
        gateway: source.ingress?.gateway ?? "",
        traffic,
        index,
        ...(source.ingress
          ? { gatewayWorkload: { namespace: source.ingress.namespace, service: source.ingress.service } }
          : {}),
      },
    }));
  },

  async plan(instance, ctx) {
    const { spec } = instance;
    const virtualServices = await planVirtualServices(spec, ctx);
    const changes = virtualServices.map((planned) => changeOf(planned, spec));
    const data: ShiftData = { spec, virtualServices };
    return {
      id: instance.id,
      kind: "shift-traffic",
      title: instance.title,
      changes,
      gates: gatesOf(
        instance.id,
        spec,
        virtualServices.map((planned) => planned.after),
      ),
      data,
    };
  },

  async apply(plan, ctx) {
    const { spec, virtualServices } = plan.data as ShiftData;
    const source = cluster(ctx, spec.sourceContext);
    for (const planned of virtualServices) {
      if (planned.action === "no-op") continue;
      const address = addressOf(planned.after);
      const live = await source.get(refOf(planned.after));
      const image = live && imageOf(live);
      // A resumed run finds its own write already there.
      if (image && isDeepStrictEqual(image, planned.after)) continue;
      const journaled = {
        address,
        after: planned.after,
        target: journalTarget(source.context, planned.after),
      };
      if (planned.action === "create") {
        if (live) throw changedSincePlan(address, "was created by someone else");
        await ctx.change({ ...journaled, action: "create" }, () => source.create(planned.after));
        continue;
      }
      if (!live || !image) throw changedSincePlan(address, "no longer exists");
      if (!isDeepStrictEqual(image, planned.before))
        throw changedSincePlan(address, "was changed by someone else");
      // Compare-and-swap on the version just read: a concurrent edit makes this fail rather than be lost.
      const resourceVersion = live.metadata.resourceVersion;
      await ctx.change({ ...journaled, action: "update", before: image }, () =>
        source.replace(planned.after, resourceVersion === undefined ? {} : { resourceVersion }),
      );
    }
  },

  async verify(plan, ctx) {
    const { spec, virtualServices } = plan.data as ShiftData;
    const source = cluster(ctx, spec.sourceContext);
    const details: string[] = [];
    for (const planned of virtualServices) {
      const address = addressOf(planned.after);
      const live = (await source.get(refOf(planned.after))) as VirtualService | undefined;
      if (!live) return { outcome: "failed", detail: `${address} does not exist` };
      const target = weightTarget(spec, live, weightOf(spec));
      if (shiftWeights(live, target).modified) {
        return {
          outcome: "failed",
          detail: `${address} does not send ${weightOf(spec)}% to the target: ${formatWeights(live, target)}`,
        };
      }
      details.push(`${address}: ${formatWeights(live, target)}`);
    }
    return { outcome: "passed", detail: details.join("; ") };
  },

  rollback: rollbackEntries,
};

/**
 * What this instance will write. Plans of all instances are made before the first one runs, and each is made
 * again right before it runs; the engine stops when the two differ. So the `before` of instance k is not the
 * VirtualService as it is now but as instances 1..k-1 will leave it: the current one carried through the
 * weights of the earlier instances that are not in place yet. As shiftWeights is a pure function, that
 * simulation is exactly what the earlier instances write, and the fresh plan (which finds weight k-1 in place
 * and simulates nothing) sees the same before and after. A resumed run starts from the last weight in place.
 */
async function planVirtualServices(
  spec: ShiftTrafficSpec,
  ctx: ReadContext,
): Promise<PlannedVirtualService[]> {
  const source = cluster(ctx, spec.sourceContext);
  const apiVersion = await requireIstio(source, "source");
  await requireSourceService(source, spec.traffic);
  const found = await findVirtualServices(spec, apiVersion, ctx);
  const weights = spec.traffic.steps.map((step) => step.weight);
  const weight = weightOf(spec);
  if (found.length === 0) {
    const created = newSplitVirtualService({
      apiVersion,
      namespace: spec.traffic.namespace,
      service: spec.traffic.service,
      port: spec.traffic.port,
      gateway: spec.gateway,
      hosts: spec.traffic.hosts,
      labels: managedLabels(spec.playbook),
    });
    const before = carryThrough(created, weights, spec);
    const after = shiftWeights(before, weightTarget(spec, before, weight)).next;
    return [spec.index === 0 ? { action: "create", after } : { action: "update", before, after }];
  }
  return found.map((vs) => {
    const before = carryThrough(imageOf(vs), weights, spec);
    const shift = shiftWeights(before, weightTarget(spec, before, weight));
    return shift.modified
      ? { action: "update", before, after: shift.next }
      : { action: "no-op", after: before };
  });
}

/** `vs` as the instances before `spec.index` leave it (see planVirtualServices). */
export function carryThrough(
  vs: VirtualService,
  weights: number[],
  spec: Pick<ShiftTrafficSpec, "index" | "traffic">,
): VirtualService {
  const target = (w: number) => weightTarget(spec, vs, w);
  let start = 0;
  for (let i = spec.index - 1; i >= 0; i--) {
    if (!shiftWeights(vs, target(weights[i] ?? 0)).modified) {
      start = i + 1;
      break;
    }
  }
  let current = vs;
  for (let i = start; i < spec.index; i++) current = shiftWeights(current, target(weights[i] ?? 0)).next;
  return current;
}

/**
 * The VirtualServices shifted, by name: with `scope: app`, the app's own on the source gateway for the public hosts
 * (`traffic.hosts`, else all) and clustershift's split when it made one; with `scope: service`, those bound to the
 * source gateway with an HTTP route to the service (in any namespace). Only those with a route to shift.
 */
async function findVirtualServices(
  spec: ShiftTrafficSpec,
  apiVersion: string,
  ctx: ReadContext,
): Promise<VirtualService[]> {
  const all = (await cluster(ctx, spec.sourceContext).list(apiVersion, "VirtualService")) as VirtualService[];
  const candidates =
    spec.traffic.scope === "app"
      ? [
          ...appVirtualServices(all, spec.gateway, spec.traffic.hosts),
          ...all.filter(
            (vs) => vs.metadata.name === splitName(spec) && vs.metadata.namespace === spec.traffic.namespace,
          ),
        ]
      : all.filter((vs) => boundToGateway(vs, spec.gateway));
  return candidates
    .filter((vs) => shiftWeights(vs, weightTarget(spec, vs, 0)).routes > 0)
    .sort((a, b) => addressOf(a).localeCompare(addressOf(b)));
}

const splitName = (spec: ShiftTrafficSpec) => `clustershift-${spec.traffic.service}-split`;

/** What moves in `vs`: the service's destinations (`scope: service`), or every local one (`scope: app`). */
function weightTarget(
  spec: Pick<ShiftTrafficSpec, "traffic">,
  vs: VirtualService,
  weight: number,
): WeightTarget {
  const { service, namespace, remoteHost, port, scope } = spec.traffic;
  const isSplit = vs.metadata.name === `clustershift-${service}-split`;
  return {
    serviceHosts:
      scope === "app" && !isSplit ? undefined : serviceHosts(service, namespace, vs.metadata.namespace),
    remoteHost,
    port,
    weight,
  };
}

function changeOf(planned: PlannedVirtualService, spec: ShiftTrafficSpec): Change {
  const address = addressOf(planned.after);
  const target = weightTarget(spec, planned.after, weightOf(spec));
  switch (planned.action) {
    case "create":
      return {
        action: "create",
        address,
        after: planned.after,
        detail: `new, on ${spec.gateway}: ${formatWeights(planned.after, target)}`,
      };
    case "update": {
      const before = planned.before as VirtualService;
      const moves = shiftWeights(before, weightTarget(spec, before, weightOf(spec))).moves;
      return { action: "update", address, before, after: planned.after, detail: formatMoves(moves) };
    }
    case "no-op":
      return { action: "no-op", address, detail: `already ${formatWeights(planned.after, target)}` };
  }
}

/** For the plan lines of the gates; the engine runs them from its registry. */
const GATE_RUNNERS = {
  share: shareGateRunner,
  pause: pauseGate,
  probe: probeGate,
  analysis: analysisGate,
  approval: approvalGate,
};

/**
 * The gates of `traffic.steps[index]`, in the order they run: the observed share (with `traffic.observe`: every
 * later gate judges the mix the weight asks for), pause, probe, analysis, then a human's approval.
 */
export function gatesOf(
  id: string,
  spec: Pick<ShiftTrafficSpec, "traffic" | "index" | "gatewayWorkload">,
  shifted: readonly VirtualService[] = [],
): PlannedGate[] {
  const step = spec.traffic.steps[spec.index] as TrafficStep;
  const gates: PlannedGate["gate"][] = [];
  const { observe } = spec.traffic;
  if (observe && spec.gatewayWorkload) {
    gates.push({ ...shareGate(observe, spec.traffic, step.weight, spec.gatewayWorkload, shifted) });
  }
  if (step.pause) gates.push({ type: "pause", duration: step.pause });
  if (step.probe) gates.push({ type: "probe", ...step.probe });
  if (step.analysis) gates.push({ type: "analysis", ...step.analysis });
  if (step.approval) gates.push({ type: "approval" });
  return gates.map((gate) => ({
    address: `${id}/${gate.type}`,
    gate,
    onFailure: spec.traffic.onFailure,
    detail: GATE_RUNNERS[gate.type as keyof typeof GATE_RUNNERS].describe(gate),
    rollbackKinds: [...TRAFFIC_ROLLBACK_KINDS],
  }));
}

function weightOf(spec: Pick<ShiftTrafficSpec, "traffic" | "index">): number {
  return (spec.traffic.steps[spec.index] as TrafficStep).weight;
}

function changedSincePlan(address: string, what: string): RuntimeError {
  return new RuntimeError(
    `${address} ${what} since it was planned; nothing was written. Run \`clustershift plan\` again.`,
  );
}
