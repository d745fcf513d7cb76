import { isDeepStrictEqual } from "node:util";
import type { PlacedChange } from "../../engine/change-context.js";
import { UsageError } from "../../engine/errors.js";
import {
  KNOWN_AFTER_APPLY,
  type Change,
  type ReadContext,
  type Step,
  type StepPlan,
  type Verification,
  type WriteContext,
} from "../../engine/types.js";
import { formatDuration } from "../../playbook/duration.js";
import type { Playbook, TrafficSpec } from "../../playbook/schema.js";
import { cluster, clusterIfKnown, refOf } from "../../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject, ObjectRef } from "../../providers/kubernetes/port.js";
import { specOf, specPlan } from "../spec-plan.js";
import { kubeObjectResource, type KubeObjectChange } from "../../resources/kube-object.js";
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
import { appVirtualServices, isClustershifts, unshifted } from "../shift-traffic/route-table.js";
import type { VirtualService } from "../shift-traffic/weights.js";
import {
  buildRemoteDestinationRule,
  buildServiceEntry,
  buildTargetRouteTable,
  buildTargetVirtualService,
  exposeNames,
  ingressAddress,
  INGRESS_ADDRESS_TIMEOUT_MS,
} from "./manifests.js";
import { remoteTls, type RemoteTlsDecision } from "./mtls.js";
import { ROUTE_HEADER } from "../shift-traffic/route-header.js";
import { requireSourceService } from "./source-service.js";
import { targetIngressPort, type TargetIngressPort } from "./target-port.js";

export interface ExposeTargetSpec {
  playbook: string;
  sourceContext: string;
  targetContext: string;
  /** The source ingress gateway: where its proxies run, and its Gateway (`namespace/name`). */
  sourceIngress: { namespace: string; gateway: string };
  /** The target ingress gateway: its LoadBalancer Service and its Gateway (`namespace/name`). */
  targetIngress: { namespace: string; service: string; gateway: string; install: boolean };
  traffic: TrafficSpec;
  /** An earlier step creates the target cluster and its mesh: until then plan with KNOWN_AFTER_APPLY. */
  targetCreatedByRun: boolean;
}

export const exposeTargetStep: Step<ExposeTargetSpec> = {
  kind: "expose-target",
  needs: ["mirror-workloads", "install-ingress-gateway"],
  expand(playbook) {
    const { traffic, source, target } = playbook.spec;
    if (!traffic) return [];
    requireIngress(playbook);
    const sourceIngress = source.ingress as NonNullable<typeof source.ingress>;
    const targetIngress = target.ingress as NonNullable<typeof target.ingress>;
    return [
      {
        id: "expose-target",
        title: `Expose ${traffic.service} of the target cluster to the source mesh`,
        spec: {
          playbook: playbook.metadata.name,
          sourceContext: source.context,
          targetContext: target.context,
          sourceIngress: { namespace: sourceIngress.namespace, gateway: sourceIngress.gateway },
          targetIngress: {
            namespace: targetIngress.namespace,
            service: targetIngress.service,
            gateway: targetIngress.gateway,
            install: targetIngress.install,
          },
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
        address: addressWait(instance.spec),
        detail: `LoadBalancer IP or host name of the target ingress gateway (${instance.spec.targetContext}), up to ${formatDuration(INGRESS_ADDRESS_TIMEOUT_MS)}`,
      });
    }
    for (const desired of desiredObjects(instance.spec, observed)) {
      const change = changeFor(desired.object, await liveOf(desired, instance.spec, ctx), desired.detail);
      // Plan output names the cluster on each line (the details no longer say it).
      const context = desired.context === instance.spec.sourceContext ? "source" : "target";
      changes.push({ ...change, context } as PlacedChange);
    }
    return specPlan("expose-target", instance, changes);
  },

  async apply(plan, ctx) {
    const spec = specOf<ExposeTargetSpec>(plan);
    const target = cluster(ctx, spec.targetContext);
    const observed = await observe(spec, ctx);
    const targetVersion =
      observed.targetVersion === KNOWN_AFTER_APPLY
        ? await requireIstio(target, "target")
        : observed.targetVersion;
    const address = observed.address ?? (await waitForAddress(spec, target, ctx));
    await ctx.note("target-ingress-address", { address, service: ingressServiceAddress(spec) });
    const ingressPort =
      typeof observed.ingressPort === "object" ? observed.ingressPort : await readIngressPort(spec, target);
    // The target learns to serve the app's routes before the source learns where remoteHost is.
    for (const desired of desiredObjects(spec, { ...observed, targetVersion, address, ingressPort })) {
      await write(plan, desired, spec, ctx);
    }
  },

  async verify(plan, ctx) {
    const spec = specOf<ExposeTargetSpec>(plan);
    const observed = await observe(spec, ctx);
    if (observed.address === undefined)
      return { outcome: "failed", detail: `${ingressServiceAddress(spec)} has no external address` };
    for (const desired of desiredObjects(spec, observed)) {
      const failed = mismatch(desired.object, await liveOf(desired, spec, ctx), desired.context);
      if (failed) return failed;
    }
    const port = typeof observed.ingressPort === "object" ? observed.ingressPort.servicePort : "?";
    return {
      outcome: "passed",
      detail: `${spec.traffic.remoteHost}:${spec.traffic.port} → ${observed.address}:${port}`,
    };
  },

  rollback: rollbackEntries,
};

interface Observed {
  sourceVersion: string;
  /** KNOWN_AFTER_APPLY while the target cluster or its mesh is yet to be created by the run. */
  targetVersion: string;
  address: string | undefined;
  /** Where the target Gateway's HTTP server is reached; KNOWN_AFTER_APPLY while the gateway is yet to be made. */
  ingressPort: TargetIngressPort | typeof KNOWN_AFTER_APPLY;
  /** The app's VirtualServices on the source gateway for the public hosts, as the app had them. */
  routeTables: VirtualService[];
  tls: RemoteTlsDecision;
}

interface Desired {
  context: string;
  object: KubeObject;
  detail: string;
}

/**
 * Reads what the plan depends on, and fails (before any write) on what cannot work: a `traffic.service` the source
 * does not have, a target Gateway that is missing or serves no HTTP, or one its Service does not expose. The
 * target may not exist yet when an earlier step provisions it.
 */
async function observe(spec: ExposeTargetSpec, ctx: ReadContext): Promise<Observed> {
  const source = cluster(ctx, spec.sourceContext);
  const sourceVersion = await requireIstio(source, "source");
  await requireSourceService(source, spec.traffic);
  const all = await source.list(sourceVersion, "VirtualService");
  const routeTables = appVirtualServices(all, spec.sourceIngress.gateway, spec.traffic.hosts).map((vs) =>
    unshifted(vs, spec.traffic.remoteHost, ctx.journaled),
  );
  const tls = remoteTls({
    remoteHost: spec.traffic.remoteHost,
    port: spec.traffic.port,
    gatewayNamespace: spec.sourceIngress.namespace,
    serviceNamespace: spec.traffic.namespace,
    destinationRules: (await source.list(sourceVersion, "DestinationRule")).filter(
      (r) => !isClustershifts(r),
    ),
    peerAuthentications: await peerAuthentications(source),
  });

  const target = spec.targetCreatedByRun
    ? clusterIfKnown(ctx, spec.targetContext)
    : cluster(ctx, spec.targetContext);
  const unknownTarget = {
    sourceVersion,
    targetVersion: KNOWN_AFTER_APPLY,
    address: undefined,
    ingressPort: KNOWN_AFTER_APPLY,
    routeTables,
    tls,
  } as const;
  if (!target) return unknownTarget;
  const targetVersion = await istioApiVersion(target);
  if (!targetVersion && !spec.targetCreatedByRun) throw istioMissing(spec.targetContext, "target");
  if (!targetVersion) return unknownTarget;
  const ingress = await target.get(ingressServiceRef(spec));
  const gateway = await target.get(gatewayRef(spec, targetVersion));
  if (!gateway && !spec.targetIngress.install && !spec.targetCreatedByRun) {
    throw gatewayError(`Gateway ${spec.targetIngress.gateway} not found on context "${target.context}"`);
  }
  let ingressPort: Observed["ingressPort"] = KNOWN_AFTER_APPLY;
  if (gateway && ingress) {
    const found = targetIngressPort(gateway, ingress);
    if (typeof found === "string") throw gatewayError(`${found} (context "${target.context}")`);
    ingressPort = found;
  }
  return { sourceVersion, targetVersion, address: ingressAddress(ingress), ingressPort, routeTables, tls };
}

/** Once the target gateway exists (install-ingress-gateway ran, or the load balancer came up). */
async function readIngressPort(spec: ExposeTargetSpec, target: ClusterPort): Promise<TargetIngressPort> {
  const apiVersion = await requireIstio(target, "target");
  const gateway = await target.get(gatewayRef(spec, apiVersion));
  const ingress = await target.get(ingressServiceRef(spec));
  if (!gateway)
    throw gatewayError(`Gateway ${spec.targetIngress.gateway} not found on context "${target.context}"`);
  if (!ingress) throw gatewayError(`${ingressServiceAddress(spec)} not found on context "${target.context}"`);
  const found = targetIngressPort(gateway, ingress);
  if (typeof found === "string") throw gatewayError(`${found} (context "${target.context}")`);
  return found;
}

function gatewayError(message: string): UsageError {
  const line = `spec.target.ingress.gateway: ${message}`;
  return new UsageError(line, [line]);
}

function gatewayRef(spec: ExposeTargetSpec, apiVersion: string): ObjectRef {
  const [namespace = "", name = ""] = spec.targetIngress.gateway.split("/");
  return { apiVersion, kind: "Gateway", namespace, name };
}

function ingressServiceRef(spec: ExposeTargetSpec): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "Service",
    namespace: spec.targetIngress.namespace,
    name: spec.targetIngress.service,
  };
}

/** The source's PeerAuthentications, for the plan's word on mutual TLS; none when Istio's security API is absent. */
async function peerAuthentications(source: ClusterPort): Promise<KubeObject[]> {
  const served = await source.servedVersions(SECURITY_GROUP);
  const version = ["v1", "v1beta1"].find((v) => served.includes(v));
  return version ? source.list(`${SECURITY_GROUP}/${version}`, "PeerAuthentication") : [];
}

const SECURITY_GROUP = "security.istio.io";

async function liveOf(
  desired: Desired,
  spec: ExposeTargetSpec,
  ctx: ReadContext,
): Promise<KubeObject | undefined> {
  if (desired.object.apiVersion === KNOWN_AFTER_APPLY) return undefined;
  const port =
    desired.context === spec.targetContext && spec.targetCreatedByRun
      ? clusterIfKnown(ctx, desired.context)
      : cluster(ctx, desired.context);
  return port?.get(refOf(desired.object));
}

/**
 * What expose-target writes, in order: on the target the app's route table (one VirtualService per source
 * gateway VirtualService, or the route to the service when the app has none), then on the source the
 * DestinationRule (when the mesh would send mutual TLS) and the ServiceEntry.
 */
function desiredObjects(spec: ExposeTargetSpec, observed: Observed): Desired[] {
  const names = exposeNames(spec.traffic.service);
  const labels = managedLabels(spec.playbook);
  const { namespace, remoteHost, port, service, hosts } = spec.traffic;
  const routeTables: Desired[] = observed.routeTables.length
    ? observed.routeTables.map((source) => {
        const object = buildTargetRouteTable({
          apiVersion: observed.targetVersion,
          labels,
          gateway: spec.targetIngress.gateway,
          hosts,
          source,
        });
        return {
          context: spec.targetContext,
          object,
          detail: `the route table of ${addressOf(source)}: ${describeRouteTable(object)}`,
        };
      })
    : [
        {
          context: spec.targetContext,
          object: buildTargetVirtualService({
            apiVersion: observed.targetVersion,
            name: names.virtualService,
            namespace,
            labels,
            gateway: spec.targetIngress.gateway,
            hosts,
            service,
            port,
          }),
          detail: `no VirtualService of the app on ${spec.sourceIngress.gateway}: all requests to ${service}.${namespace}:${port}`,
        },
      ];
  const destinationRule: Desired[] = observed.tls.disable
    ? [
        {
          context: spec.sourceContext,
          object: buildRemoteDestinationRule({
            apiVersion: observed.sourceVersion,
            name: names.destinationRule,
            namespace: spec.sourceIngress.namespace,
            labels,
            remoteHost,
          }),
          detail: `${remoteHost} tls.mode DISABLE; ${observed.tls.detail}`,
        },
      ]
    : [];
  const endpointPort =
    typeof observed.ingressPort === "object" ? observed.ingressPort.servicePort : KNOWN_AFTER_APPLY;
  const serviceEntry = buildServiceEntry({
    apiVersion: observed.sourceVersion,
    name: names.serviceEntry,
    namespace,
    labels,
    remoteHost,
    port,
    endpointPort,
    address: observed.address ?? KNOWN_AFTER_APPLY,
  });
  const portWhy =
    typeof observed.ingressPort === "object"
      ? observed.ingressPort.detail
      : `the port of ${ingressServiceAddress(spec)} behind ${spec.targetIngress.gateway}'s HTTP server, once it exists`;
  return [
    ...routeTables,
    ...destinationRule,
    {
      context: spec.sourceContext,
      object: serviceEntry,
      detail:
        `${describeServiceEntry(serviceEntry)}; ${portWhy}` +
        (observed.tls.disable ? "" : `; ${observed.tls.detail}`),
    },
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
 * Carries out the planned change of `desired` (found by address and cluster), compare-and-swap on the plan's
 * before-image through the kube.object resource: a create where there was none, over an existing object a PUT
 * with the version read (not a server-side apply: that merges, and of an object someone else made, the fields
 * clustershift does not set, `exportTo` say, would stay). The object is rebuilt here only to fill in what the
 * plan knew after apply (the gateway's address and port, the Istio version of a cluster made by this run);
 * whatever moved since the plan stops the step with the drift named, nothing written over it.
 */
async function write(
  plan: StepPlan,
  desired: Desired,
  spec: ExposeTargetSpec,
  ctx: WriteContext,
): Promise<void> {
  const address = addressOf(desired.object);
  const side = desired.context === spec.sourceContext ? "source" : "target";
  const planned = plan.changes.find(
    (c) => c.address === address && ((c as Partial<PlacedChange>).context ?? side) === side,
  );
  if (planned?.action !== "create" && planned?.action !== "update") return;
  const target = journalTarget(desired.context, desired.object);
  const change: KubeObjectChange =
    planned.action === "update"
      ? { address, action: "update", target, before: planned.before as KubeObject, after: desired.object }
      : { address, action: "create", target, after: desired.object };
  await kubeObjectResource.write(change, ctx);
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
  const address = addressWait(spec);
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

/** Worded as install-ingress-gateway words the same wait: `external address Service ns/name`. */
function addressWait(spec: ExposeTargetSpec): string {
  return `external address ${ingressServiceAddress(spec)}`;
}

function ingressServiceAddress(spec: ExposeTargetSpec): string {
  return `Service ${spec.targetIngress.namespace}/${spec.targetIngress.service}`;
}

function describeServiceEntry(se: KubeObject): string {
  const s = se.spec as {
    hosts: string[];
    ports: { number: number }[];
    endpoints: { address: string; ports?: Record<string, number | string> }[];
    resolution: string;
  };
  const endpoint = s.endpoints[0];
  const endpointPort = Object.values(endpoint?.ports ?? {})[0];
  const from = `${s.hosts.join(", ")}:${s.ports[0]?.number}`;
  // Address, port and resolution all come from the target gateway's Service: say "known after apply" once.
  if ([endpoint?.address, endpointPort, s.resolution].includes(KNOWN_AFTER_APPLY))
    return `${from} → endpoint (known after apply) (MESH_EXTERNAL)`;
  return `${from} → ${endpoint?.address}:${String(endpointPort)} (MESH_EXTERNAL, ${s.resolution})`;
}

function describeRouteTable(vs: KubeObject): string {
  const s = vs.spec as { hosts: string[]; gateways: string[]; http: { name?: unknown }[] };
  // Header routes come first, named `clustershift.<x-clustershift-route value>` (see buildTargetRouteTable).
  const shifted = s.http.filter((r) => typeof r.name === "string" && r.name.startsWith("clustershift."));
  const copied = s.http.length - shifted.length;
  const routes = copied === 1 ? "1 route" : `${copied} routes`;
  const once = shifted.length
    ? `; before them, the shifted share of ${shifted.map((r) => String(r.name).slice("clustershift.".length)).join(", ")} ` +
      `(by ${ROUTE_HEADER}) to the same destinations, without the rewrite, fault, mirror and retries the source applied`
    : "";
  return `${s.hosts.join(", ")} via ${s.gateways.join(", ")}: ${routes}${once}`;
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
