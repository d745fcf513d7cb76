import { isDeepStrictEqual } from "node:util";
import { RuntimeError, UsageError } from "../../engine/errors.js";
import {
  KNOWN_AFTER_APPLY,
  type Change,
  type ReadContext,
  type Step,
  type Verification,
  type WriteContext,
} from "../../engine/types.js";
import type { Playbook, TrafficSpec } from "../../playbook/schema.js";
import { cluster, clusterIfKnown, isApiStatus, refOf } from "../../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject } from "../../providers/kubernetes/port.js";
import { specOf, specPlan } from "../spec-plan.js";
import {
  addressOf,
  imageOf,
  istioApiVersion,
  istioMissing,
  journalTarget,
  managedLabels,
  requireIstio,
  rollbackEntries,
} from "./istio.js";
import {
  buildServiceEntry,
  buildTargetVirtualService,
  exposeNames,
  ingressAddress,
  INGRESS_ADDRESS_TIMEOUT_MS,
} from "./manifests.js";

export interface ExposeTargetSpec {
  playbook: string;
  sourceContext: string;
  targetContext: string;
  /** The target ingress gateway: its LoadBalancer Service and its Gateway (`namespace/name`). */
  targetIngress: { namespace: string; service: string; gateway: string };
  traffic: TrafficSpec;
  /** An earlier step creates the target cluster and its mesh: until then plan with KNOWN_AFTER_APPLY. */
  targetCreatedByRun: boolean;
}

export const exposeTargetStep: Step<ExposeTargetSpec> = {
  kind: "expose-target",
  expand(playbook) {
    const { traffic, source, target } = playbook.spec;
    if (!traffic) return [];
    requireIngress(playbook);
    return [
      {
        id: "expose-target",
        title: `Expose ${traffic.service} of the target cluster to the source mesh`,
        spec: {
          playbook: playbook.metadata.name,
          sourceContext: source.context,
          targetContext: target.context,
          targetIngress: target.ingress as ExposeTargetSpec["targetIngress"],
          traffic,
          targetCreatedByRun: target.provision !== undefined,
        },
      },
    ];
  },

  async plan(instance, ctx) {
    const observed = await observe(instance.spec, ctx);
    const changes: Change[] = [];
    if (observed.address === undefined) {
      changes.push({
        action: "wait",
        address: ingressServiceAddress(instance.spec),
        detail: `external address of the target ingress gateway (${instance.spec.targetContext})`,
      });
    }
    const [virtualService, serviceEntry] = desiredObjects(instance.spec, observed);
    changes.push(
      changeFor(
        virtualService,
        observed.liveVirtualService,
        `on target (${instance.spec.targetContext}): ${describeVirtualService(virtualService)}`,
      ),
      changeFor(
        serviceEntry,
        observed.liveServiceEntry,
        `on source (${instance.spec.sourceContext}): ${describeServiceEntry(serviceEntry)}`,
      ),
    );
    return specPlan("expose-target", instance, changes);
  },

  async apply(plan, ctx) {
    const spec = specOf<ExposeTargetSpec>(plan);
    const source = cluster(ctx, spec.sourceContext);
    const target = cluster(ctx, spec.targetContext);
    const observed = await observe(spec, ctx);
    const sourceVersion = observed.sourceVersion;
    const targetVersion =
      observed.targetVersion === KNOWN_AFTER_APPLY
        ? await requireIstio(target, "target")
        : observed.targetVersion;
    const address = observed.address ?? (await waitForAddress(spec, target, ctx));
    await ctx.note("target-ingress-address", { address, service: ingressServiceAddress(spec) });
    // The target learns to serve remoteHost before the source learns where remoteHost is.
    const [virtualService, serviceEntry] = desiredObjects(spec, {
      ...observed,
      sourceVersion,
      targetVersion,
      address,
    });
    await write(target, virtualService, ctx);
    await write(source, serviceEntry, ctx);
  },

  async verify(plan, ctx) {
    const spec = specOf<ExposeTargetSpec>(plan);
    const observed = await observe(spec, ctx);
    if (observed.address === undefined)
      return { outcome: "failed", detail: `${ingressServiceAddress(spec)} has no external address` };
    const [virtualService, serviceEntry] = desiredObjects(spec, observed);
    return (
      mismatch(virtualService, observed.liveVirtualService, spec.targetContext) ??
      mismatch(serviceEntry, observed.liveServiceEntry, spec.sourceContext) ?? {
        outcome: "passed",
        detail: `${spec.traffic.remoteHost} → ${observed.address}:${spec.traffic.port}`,
      }
    );
  },

  rollback: rollbackEntries,
};

interface Observed {
  sourceVersion: string;
  /** KNOWN_AFTER_APPLY while the target cluster or its mesh is yet to be created by the run. */
  targetVersion: string;
  address: string | undefined;
  liveServiceEntry: KubeObject | undefined;
  liveVirtualService: KubeObject | undefined;
}

/** Reads what the plan depends on. The target may not exist yet when an earlier step provisions it. */
async function observe(spec: ExposeTargetSpec, ctx: ReadContext): Promise<Observed> {
  const names = exposeNames(spec.traffic.service);
  const namespace = spec.traffic.namespace;
  const source = cluster(ctx, spec.sourceContext);
  const sourceVersion = await requireIstio(source, "source");
  const liveServiceEntry = await source.get({
    apiVersion: sourceVersion,
    kind: "ServiceEntry",
    namespace,
    name: names.serviceEntry,
  });

  const target = spec.targetCreatedByRun
    ? clusterIfKnown(ctx, spec.targetContext)
    : cluster(ctx, spec.targetContext);
  if (!target) {
    return {
      sourceVersion,
      targetVersion: KNOWN_AFTER_APPLY,
      address: undefined,
      liveServiceEntry,
      liveVirtualService: undefined,
    };
  }
  const targetVersion = await istioApiVersion(target);
  if (!targetVersion && !spec.targetCreatedByRun) throw istioMissing(spec.targetContext, "target");
  const ingress = await target.get({
    apiVersion: "v1",
    kind: "Service",
    namespace: spec.targetIngress.namespace,
    name: spec.targetIngress.service,
  });
  const liveVirtualService =
    targetVersion &&
    (await target.get({
      apiVersion: targetVersion,
      kind: "VirtualService",
      namespace,
      name: names.virtualService,
    }));
  return {
    sourceVersion,
    targetVersion: targetVersion ?? KNOWN_AFTER_APPLY,
    address: ingressAddress(ingress),
    liveServiceEntry,
    liveVirtualService: liveVirtualService || undefined,
  };
}

/** The target VirtualService and the source ServiceEntry, in the order they are written. */
function desiredObjects(
  spec: ExposeTargetSpec,
  observed: Omit<Observed, "liveServiceEntry" | "liveVirtualService">,
): [KubeObject, KubeObject] {
  const names = exposeNames(spec.traffic.service);
  const labels = managedLabels(spec.playbook);
  const { namespace, remoteHost, port, service, hosts } = spec.traffic;
  return [
    buildTargetVirtualService({
      apiVersion: observed.targetVersion,
      name: names.virtualService,
      namespace,
      labels,
      gateway: spec.targetIngress.gateway,
      remoteHost,
      hosts,
      service,
      port,
    }),
    buildServiceEntry({
      apiVersion: observed.sourceVersion,
      name: names.serviceEntry,
      namespace,
      labels,
      remoteHost,
      port,
      address: observed.address ?? KNOWN_AFTER_APPLY,
    }),
  ];
}

/** Create when absent, no-op when what is there already says the same, update (with its before-image) otherwise. */
function changeFor(desired: KubeObject, live: KubeObject | undefined, detail: string): Change {
  const address = addressOf(desired);
  if (!live) return { action: "create", address, after: desired, detail };
  if (isDeepStrictEqual(live.spec, desired.spec) && hasLabels(live, desired))
    return { action: "no-op", address, detail };
  return { action: "update", address, before: imageOf(live), after: desired, detail };
}

/**
 * Writes `desired` exactly, journaling first what it replaces. Not a server-side apply: that merges, and of an
 * object someone else made, the fields clustershift does not set (`exportTo`, say) would stay, so the object
 * would not be what the plan showed (a real kube-apiserver keeps them; verify then fails). A create where there
 * was none; over an existing one a PUT, compare-and-swap on the version just read.
 */
async function write(port: ClusterPort, desired: KubeObject, ctx: WriteContext): Promise<void> {
  const live = await port.get(refOf(desired));
  if (changeFor(desired, live, "").action === "no-op") return;
  const address = addressOf(desired);
  const target = journalTarget(port.context, desired);
  try {
    if (!live) {
      await ctx.change({ address, action: "create", after: desired, target }, () => port.create(desired));
      return;
    }
    const resourceVersion = live.metadata.resourceVersion ?? "";
    await ctx.change({ address, action: "update", before: imageOf(live), after: desired, target }, () =>
      port.replace(desired, { resourceVersion }),
    );
  } catch (error) {
    if (!isApiStatus(error, 409)) throw error;
    // A retried request whose first try landed (its reply lost) conflicts with itself: then what is there is ours.
    if (changeFor(desired, await port.get(refOf(desired)), "").action === "no-op") return;
    throw new RuntimeError(
      `${address} on context "${port.context}" was ${live ? "changed" : "created"} by someone else while ` +
        "clustershift was writing it; nothing was written. Run `clustershift plan` again.",
      { cause: error },
    );
  }
}

function mismatch(
  desired: KubeObject,
  live: KubeObject | undefined,
  context: string,
): Verification | undefined {
  if (!live) return { outcome: "failed", detail: `${addressOf(desired)} does not exist in ${context}` };
  if (!isDeepStrictEqual(live.spec, desired.spec)) {
    return { outcome: "failed", detail: `${addressOf(desired)} in ${context} differs from what was applied` };
  }
  return undefined;
}

async function waitForAddress(
  spec: ExposeTargetSpec,
  target: ClusterPort,
  ctx: WriteContext,
): Promise<string> {
  const address = ingressServiceAddress(spec);
  ctx.progress.wait(address, "waiting for the load balancer's external address");
  return target.waitFor(
    {
      apiVersion: "v1",
      kind: "Service",
      namespace: spec.targetIngress.namespace,
      name: spec.targetIngress.service,
    },
    ingressAddress,
    INGRESS_ADDRESS_TIMEOUT_MS,
    (detail) => ctx.progress.wait(address, detail),
  );
}

function hasLabels(live: KubeObject, desired: KubeObject): boolean {
  return Object.entries(desired.metadata.labels ?? {}).every(
    ([key, value]) => live.metadata.labels?.[key] === value,
  );
}

function ingressServiceAddress(spec: ExposeTargetSpec): string {
  return `Service ${spec.targetIngress.namespace}/${spec.targetIngress.service}`;
}

function describeServiceEntry(se: KubeObject): string {
  const s = se.spec as {
    hosts: string[];
    ports: { number: number }[];
    endpoints: { address: string }[];
    resolution: string;
  };
  return `${s.hosts.join(", ")}:${s.ports[0]?.number} → ${s.endpoints[0]?.address} (MESH_EXTERNAL, ${s.resolution})`;
}

function describeVirtualService(vs: KubeObject): string {
  const s = vs.spec as {
    hosts: string[];
    gateways: string[];
    http: { route: { destination: { host: string; port: { number: number } } }[] }[];
  };
  const destination = s.http[0]?.route[0]?.destination;
  return `${s.hosts.join(", ")} via ${s.gateways.join(", ")} → ${destination?.host}:${destination?.port.number}`;
}

/** The traffic steps need both ingress gateways; the validator says so first, this guards hand-built playbooks. */
export function requireIngress(playbook: Playbook): void {
  const lines: string[] = [];
  if (!playbook.spec.source.ingress)
    lines.push("spec.source.ingress: Required value: the source ingress gateway, needed by spec.traffic");
  if (!playbook.spec.target.ingress)
    lines.push("spec.target.ingress: Required value: the target ingress gateway, needed by spec.traffic");
  if (lines.length) throw new UsageError(lines.join("\n"), lines);
}
