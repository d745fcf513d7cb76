import { RuntimeError, UsageError } from "../../engine/errors.js";
import type {
  Change,
  ChangeEntry,
  JournaledChange,
  ReadContext,
  Step,
  StepInstance,
  StepPlan,
  Verification,
  WriteContext,
} from "../../engine/types.js";
import type { Playbook, WorkloadsSpec } from "../../playbook/schema.js";
import { durationMs, formatDuration } from "../../playbook/duration.js";
import {
  cluster,
  clusterIfKnown,
  describe,
  isApiStatus,
  mapLimit,
  refOf,
} from "../../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject, ObjectRef } from "../../providers/kubernetes/port.js";
import { subsetDiff, summarizePaths } from "../../resources/diff.js";
import { gatewayKey, isIstio, rebindVirtualService, selectsPods } from "./gateways.js";
import { compareForApply, groupOf, MIRRORED_KINDS, priorityRuns } from "./kinds.js";
import { immutablePaths } from "./immutable.js";
import { GITOPS_GROUPS, gitOpsObject, managementOf, withoutGitOpsMarks, type Manager } from "./managed.js";
import { identityOf, journaledOn, MANAGED_BY, madeByClustershift } from "./own-state.js";
import { excludedBy, parseLabelSelector } from "./select.js";
import { skipReason, strip } from "./strip.js";
import { namespaceLabels, rewriteImages } from "./transform.js";
import { targetOf } from "../../engine/targets.js";
import { kubeObjectResource } from "../../resources/kube-object.js";
import { slots } from "../../providers/kubernetes/concurrency.js";
import { sleep } from "../../engine/sleep.js";

export type MirrorSpec = WorkloadsSpec & {
  source: string;
  target: string;
  /** `source.ingress`: Gateways that select its pods stay behind (see gateways.ts). */
  sourceIngress?: { namespace: string; service: string } | undefined;
  /** `target.ingress`: where the app is served on the target, and the namespace whose injection scheme to match. */
  targetIngress?: { namespace: string; gateway: string; install: boolean } | undefined;
  /** `target.provision.mesh.revision`: the revision that injects the target's namespaces. */
  meshRevision?: string | undefined;
  /** `namespaceLabels` was not given and is the mesh revision's label: the plan says so. */
  namespaceLabelsDefaulted?: boolean | undefined;
};

/** Calls in flight per cluster: enough to hide latency, few enough not to trip API priority and fairness. */
export const CONCURRENCY = 16;
/** How long rollback waits for a namespace it deleted to be gone before moving on. */
const NAMESPACE_GONE_MS = 120_000;
const ROLLOUT_KINDS = new Set(["Deployment", "StatefulSet"]);
/** From this many namespaces on, objects are listed cluster-wide per kind. */
const CLUSTER_WIDE_FROM = 8;

/** What apply and verify need besides the changes; JSON, and free of object contents (Secrets stay in changes). */
export interface MirrorPlanData {
  source: string;
  target: string;
  rolloutTimeoutMs: number;
  /** Every Deployment and StatefulSet the target should run, changed or not. */
  rollouts: ObjectRef[];
}

type Kind = { apiVersion: string; kind: string };

export const mirrorWorkloadsStep: Step<MirrorSpec> = {
  kind: "mirror-workloads",
  needs: ["install-ingress-gateway", "enable-mesh"],

  expand(playbook: Playbook): StepInstance<MirrorSpec>[] {
    const workloads = playbook.spec.workloads;
    if (!workloads) return [];
    const { source, target } = playbook.spec;
    const spec: MirrorSpec = { ...workloads, source: source.context, target: target.context };
    if (source.ingress)
      spec.sourceIngress = { namespace: source.ingress.namespace, service: source.ingress.service };
    if (target.ingress) {
      const { namespace, gateway, install } = target.ingress;
      spec.targetIngress = { namespace, gateway, install };
    }
    const mesh = target.provision?.mesh;
    if (mesh) spec.meshRevision = mesh.revision;
    // A provisioned mesh injects by revision only: without namespaceLabels the mirrored namespaces would keep the
    // source's `istio-injection`, which the managed revision ignores, and run without sidecars.
    if (mesh && Object.keys(workloads.namespaceLabels).length === 0) {
      spec.namespaceLabels = { "istio.io/rev": mesh.revision };
      spec.namespaceLabelsDefaulted = true;
    }
    return [
      {
        id: "mirror-workloads",
        title: `Mirror workloads from ${source.context} to ${target.context}`,
        spec,
      },
    ];
  },

  async plan(instance, ctx) {
    return planMirror(instance, ctx);
  },

  async apply(plan, ctx) {
    const data = plan.data as MirrorPlanData;
    const target = cluster(ctx, data.target);
    const writes = plan.changes.filter(
      (c): c is Extract<Change, { action: "create" | "update" }> =>
        c.action === "create" || c.action === "update",
    );
    // A pipeline: twice as many changes move as there are requests in flight, so that while the journal commits
    // the records of some, the writes whose records are durable already go to the server. Requests (reads and
    // writes) stay at CONCURRENCY in flight, as without the journal.
    const request = slots(CONCURRENCY);
    for (const run of priorityRuns(writes, (c) => c.after as KubeObject)) {
      await mapLimit(run, 2 * CONCURRENCY, async (change) => {
        const desired = change.after as KubeObject;
        const ref = refOf(desired);
        // The before-image is read now, not at plan time: it is what rollback must bring back, byte for byte.
        let before =
          change.action === "update" || desired.kind === "Namespace"
            ? await request(() => target.get(ref))
            : undefined;
        if (before?.metadata.deletionTimestamp) {
          await waitUntilGone(target, ref, ctx);
          before = undefined;
        }
        const journaled: JournaledChange = {
          address: change.address,
          action: before ? "update" : "create",
          after: desired,
          target: { type: "kube.object", context: target.context, ...ref },
        };
        if (before) journaled.before = before;
        if (desired.kind === "Secret") journaled.sensitive = true;
        await ctx.change(journaled, () => request(() => target.apply(desired)));
      });
    }
  },

  async verify(plan, ctx) {
    return verifyMirror(plan, ctx);
  },

  async rollback(entries, ctx) {
    // Newest first, so objects go before their namespace; equal priorities in parallel.
    const created = createdNamespaces(ctx.journaled ?? []);
    for (const run of priorityRuns(entries, (e) => refObject(e))) {
      const namespaces = run.filter(isNamespaceCreate);
      const others = run.filter((entry) => !isNamespaceCreate(entry));
      await mapLimit(others, CONCURRENCY, (entry) => {
        // An object in a namespace this run created goes with it: one DELETE of the namespace (the namespace
        // controller deletes its content) instead of one per object. Its entry is reverted all the same.
        const where = targetOf(entry, "kube.object");
        const namespace = where.namespace && created.get(`${where.context}/${where.namespace}`);
        if (namespace && namespace.step === entry.step && namespace.seq < entry.seq) {
          return deleteOnce(namespace, ctx);
        }
        return kubeObjectResource.revert(entry, ctx);
      });
      if (namespaces.length === 0) continue;
      await mapLimit(namespaces, CONCURRENCY, (entry) => deleteOnce(entry, ctx));
      // All at once: a namespace takes the namespace controller a while, and it empties them side by side.
      await waitUntilAllGone(namespaces, ctx);
    }
  },
};

async function planMirror(instance: StepInstance<MirrorSpec>, ctx: ReadContext): Promise<StepPlan> {
  const spec = instance.spec;
  const selectors = spec.exclude.map((rule, i) => {
    if (rule.labelSelector === undefined) return [];
    try {
      return parseLabelSelector(rule.labelSelector);
    } catch (error) {
      const path = `spec.workloads.exclude[${i}].labelSelector`;
      throw new UsageError(`${path}: ${(error as Error).message}`);
    }
  });
  const source = cluster(ctx, spec.source);
  const target = targetCluster(ctx, spec.target);
  const kinds = await resolveKinds(source, target);

  const sourceNamespaces = await mapLimit(spec.namespaces, CONCURRENCY, (name) =>
    source.get({ apiVersion: "v1", kind: "Namespace", name }),
  );
  const missing = spec.namespaces.filter((_, i) => sourceNamespaces[i] === undefined);
  if (missing.length > 0) {
    throw new RuntimeError(
      `namespace ${missing.map((n) => `"${n}"`).join(", ")} not found on context "${source.context}"`,
    );
  }
  const targetNamespaces = target
    ? await mapLimit(spec.namespaces, CONCURRENCY, (name) =>
        target.get({ apiVersion: "v1", kind: "Namespace", name }),
      )
    : [];
  const terminating = new Set(
    targetNamespaces.filter((ns) => ns?.metadata.deletionTimestamp).map((ns) => ns?.metadata.name),
  );

  const [found, existing] = await Promise.all([
    listObjects(source, kinds, spec.namespaces),
    target
      ? listObjects(
          target,
          kinds.filter((k) => k.servedOnTarget),
          spec.namespaces,
        )
      : new Map<string, KubeObject[]>(),
  ]);

  // What clustershift made or changed on the source must not reach the target: its own objects are left out,
  // and an object it changed (the shifted VirtualService) is mirrored as it was before, from the journal.
  const journaled = journaledOn(ctx.journaled, spec.source);
  const own: string[] = [];
  const sourceGateway = await sourceGatewayPods(spec, source, ctx);
  const leftOutGateways = new Map<string, string>();

  // Services without a selector, by namespace: their Endpoints are a user's, not a controller's.
  const selectorless = new Map<string, Set<string>>();
  for (const objects of found.values()) {
    for (const service of objects) {
      if (service.kind !== "Service" || service.apiVersion !== "v1") continue;
      const serviceSpec = service.spec as { selector?: Record<string, string>; type?: string } | undefined;
      if (serviceSpec?.type === "ExternalName" || Object.keys(serviceSpec?.selector ?? {}).length > 0)
        continue;
      // Not the API server's own (`default/kubernetes`), nor one left out: its Endpoints alone would be no use.
      if (skipReason(service) !== undefined || excludedBy(service, spec.exclude, selectors) !== undefined)
        continue;
      const namespace = service.metadata.namespace ?? "";
      selectorless.set(namespace, (selectorless.get(namespace) ?? new Set()).add(service.metadata.name));
    }
  }

  // Hosts of clustershift's ServiceEntries (the target as the source mesh sees it): a VirtualService routing there
  // that this run's journal cannot restore (another run shifted it) would send the target's traffic to itself.
  const remoteHosts = new Set<string>();
  for (const objects of found.values()) {
    for (const object of objects) {
      if (!isIstio(object, "ServiceEntry") || !madeByClustershift(object)) continue;
      for (const host of (object.spec as { hosts?: string[] } | undefined)?.hosts ?? [])
        remoteHosts.add(host);
    }
  }
  const loops: string[] = [];

  const exclusionHits = spec.exclude.map(() => 0);
  // Objects a GitOps tool or Helm deploys, by tool and owner; and the tools' own objects, by kind.
  const managed = new Map<string, { tool: Manager; owner: string; objects: number }>();
  const toolObjects = new Map<string, number>();
  for (const object of await listGitOpsObjects(source, spec.namespaces)) {
    const kind = `${object.kind} (${gitOpsObject(object) ?? "?"})`;
    toolObjects.set(kind, (toolObjects.get(kind) ?? 0) + 1);
  }
  const desiredOf = (found: KubeObject): { desired: KubeObject; note?: string } | undefined => {
    if (skipReason(found, selectorless.get(found.metadata.namespace ?? "")) !== undefined) return undefined;
    if (madeByClustershift(found)) {
      own.push(addressOf(found));
      return undefined;
    }
    let object = found;
    let note: string | undefined;
    const entry = journaled.get(
      identityOf(spec.source, { ...refOf(found), namespace: found.metadata.namespace }),
    );
    if (entry?.action === "create") {
      own.push(addressOf(found));
      return undefined;
    }
    if (entry?.before !== undefined) {
      object = entry.before as KubeObject;
      note = `as it was before ${entry.step} changed it on the source (journal entry ${entry.seq})`;
    } else if (isIstio(object, "VirtualService") && routesTo(object, remoteHosts)) {
      loops.push(addressOf(object));
      return undefined;
    }
    const rule = excludedBy(object, spec.exclude, selectors);
    if (rule !== undefined) {
      exclusionHits[rule] = (exclusionHits[rule] ?? 0) + 1;
      return undefined;
    }
    if (sourceGateway && isIstio(object, "Gateway") && selectsPods(object, sourceGateway.labels)) {
      leftOutGateways.set(gatewayKey(object), addressOf(object));
      return undefined;
    }
    const management = object.kind === "Namespace" ? undefined : managementOf(object);
    if (management) {
      const key = `${management.tool}\0${management.owner}`;
      const seen = managed.get(key) ?? { ...management, objects: 0 };
      managed.set(key, { ...seen, objects: seen.objects + 1 });
      if (spec.managed === "leave") return undefined;
    }
    const desired = transform(withoutGitOpsMarks(strip(object)), spec);
    return note ? { desired, note } : { desired };
  };

  const planned: { desired: KubeObject; current: KubeObject | undefined; note?: string }[] = [];
  spec.namespaces.forEach((name, i) => {
    const desired = desiredOf(sourceNamespaces[i] as KubeObject)?.desired;
    const current = targetNamespaces[i];
    if (!desired) return;
    if (current?.metadata.deletionTimestamp)
      planned.push({ desired, current: undefined, note: "terminating on target" });
    else planned.push({ desired, current });
  });
  for (const namespace of spec.namespaces) {
    for (const kind of kinds) {
      const key = bucketKey(kind, namespace);
      const onTarget = terminating.has(namespace) ? [] : (existing.get(key) ?? []);
      const byName = new Map(onTarget.map((o) => [o.metadata.name, o]));
      for (const object of found.get(key) ?? []) {
        const desired = desiredOf(object);
        if (desired) planned.push({ ...desired, current: byName.get(object.metadata.name) });
      }
    }
  }

  // VirtualServices bound to the Gateways left out: left out with them, or kept with their other bindings.
  const leftOutRoutes: string[] = [];
  const rebound = planned.flatMap((item) => {
    if (leftOutGateways.size === 0 || !isIstio(item.desired, "VirtualService")) return [item];
    const rebinding = rebindVirtualService(item.desired, new Set(leftOutGateways.keys()));
    switch (rebinding.action) {
      case "keep":
        return [item];
      case "leave-out":
        leftOutRoutes.push(addressOf(item.desired));
        return [];
      case "rebind": {
        const note = `gateways: ${rebinding.dropped.join(", ")} left out (selects the source gateway)`;
        return [{ ...item, desired: rebinding.object, note: item.note ? `${item.note}; ${note}` : note }];
      }
    }
  });
  planned.splice(0, planned.length, ...rebound);
  planned.sort((a, b) => compareForApply(a.desired, b.desired));

  // What the API server would refuse must stop the plan, not the apply halfway through.
  const refused = planned.flatMap(({ desired, current }) => {
    if (!current) return [];
    const paths = immutablePaths(current, subsetDiff(desired, strip(current)));
    return paths.length > 0 ? [`${addressOf(desired)} (${summarizePaths(paths)})`] : [];
  });
  if (refused.length > 0) {
    throw new RuntimeError(
      `cannot mirror to context "${spec.target}": ${refused.join(", ")} ` +
        `${refused.length === 1 ? "differs" : "differ"} from the source in fields that the API server lets no ` +
        `update change; delete ${refused.length === 1 ? "it" : "them"} on "${spec.target}" first, ` +
        `or leave ${refused.length === 1 ? "it" : "them"} out with spec.workloads.exclude`,
    );
  }

  exclusionHits.forEach((hits, i) => {
    if (hits === 0) ctx.progress.warn(`spec.workloads.exclude[${i}] matched nothing`);
  });
  const unserved = new Map<string, number>();
  for (const kind of kinds.filter((k) => target && !k.servedOnTarget)) {
    const count = planned.filter(
      (p) => p.desired.apiVersion === kind.apiVersion && p.desired.kind === kind.kind,
    ).length;
    if (count > 0) unserved.set(`${kind.kind}.${groupOf(kind.apiVersion)}`, count);
  }
  if (unserved.size > 0) {
    ctx.progress.warn(
      `context "${spec.target}" does not serve ${[...unserved].map(([k, n]) => `${k} (${n})`).join(", ")} yet: ` +
        "apply fails unless an earlier step installs it",
    );
  }

  const timeoutMs = durationMs(spec.rolloutTimeout);
  const writes: Change[] = planned.map(({ desired, current, note }) => changeFor(desired, current, note));
  const waits: Change[] = writes.flatMap((change) =>
    (change.action === "create" || change.action === "update") &&
    ROLLOUT_KINDS.has((change.after as KubeObject).kind)
      ? [
          {
            action: "wait",
            address: `rollout ${change.address}`,
            detail: `complete, up to ${formatDuration(timeoutMs)}`,
          },
        ]
      : [],
  );
  const lines = planNotes(spec, { own, leftOutGateways: [...leftOutGateways.values()], leftOutRoutes });
  lines.push(...managedNotes(spec, [...managed.values()], toolObjects));
  if (spec.managed === "leave" && managed.size > 0) {
    ctx.progress.warn(
      `spec.workloads.managed is leave: ${count(
        [...managed.values()].reduce((n, m) => n + m.objects, 0),
        "object",
      )} must reach "${spec.target}" by their tools before traffic moves there`,
    );
  }
  if (loops.length > 0) {
    const line = planLine(
      `warning: leave out ${count(loops.length, "VirtualService")} routing to the target`,
      `${summarizePaths(loops)} routes to ${[...remoteHosts].join(", ")} (clustershift's ServiceEntry), and this ` +
        "run's journal holds no image of it from before: copied, it would send the target's traffic to itself",
    );
    lines.push(line);
    ctx.progress.warn(`${line.address}: ${line.detail ?? ""}`);
  }
  const injection = await injectionMismatch(
    spec,
    planned.map((p) => p.desired).filter((o) => o.kind === "Namespace"),
    target,
  );
  for (const warning of injection) ctx.progress.warn(`${warning.address}: ${warning.detail}`);
  const changes = [...lines, ...injection, ...writes, ...waits];
  const data: MirrorPlanData = {
    source: spec.source,
    target: spec.target,
    rolloutTimeoutMs: timeoutMs,
    rollouts: planned.filter((p) => ROLLOUT_KINDS.has(p.desired.kind)).map((p) => refOf(p.desired)),
  };
  return { id: instance.id, kind: "mirror-workloads", title: instance.title, changes, gates: [], data };
}

/** Whether a VirtualService has a destination (HTTP, TLS, TCP or mirror) whose host is one of `hosts`. */
function routesTo(vs: KubeObject, hosts: ReadonlySet<string>): boolean {
  if (hosts.size === 0) return false;
  type Route = { route?: { destination?: { host?: string } }[]; mirror?: { host?: string } };
  const spec = vs.spec as { http?: Route[]; tls?: Route[]; tcp?: Route[] } | undefined;
  return [...(spec?.http ?? []), ...(spec?.tls ?? []), ...(spec?.tcp ?? [])].some(
    (route) =>
      (route.mirror?.host !== undefined && hosts.has(route.mirror.host)) ||
      (route.route ?? []).some((d) => d.destination?.host !== undefined && hosts.has(d.destination.host)),
  );
}

/** A line of the plan that writes nothing: what the mirror leaves out or defaults, said where the user looks. */
function planLine(address: string, detail: string): Change {
  return { action: "no-op", address, detail };
}

function planNotes(
  spec: MirrorSpec,
  left: { own: string[]; leftOutGateways: string[]; leftOutRoutes: string[] },
): Change[] {
  const lines: Change[] = [];
  if (spec.namespaceLabelsDefaulted) {
    lines.push(
      planLine(
        "default workloads.namespaceLabels",
        `${Object.entries(spec.namespaceLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(
            ", ",
          )} (target.provision.mesh is set); istio-injection is removed from the mirrored namespaces`,
      ),
    );
  }
  if (left.own.length > 0) {
    lines.push(
      planLine(
        `leave out ${count(left.own.length, "object")} of clustershift's own`,
        `${summarizePaths(left.own)}: labelled ${MANAGED_BY}=clustershift or created by this run`,
      ),
    );
  }
  const leftOut = [...left.leftOutGateways, ...left.leftOutRoutes];
  if (leftOut.length > 0) {
    const ingress = spec.sourceIngress;
    const served = spec.targetIngress
      ? `the target gateway ${spec.targetIngress.gateway}`
      : "the target's gateway";
    lines.push(
      planLine(
        `leave out ${count(leftOut.length, "object")} of the source ingress gateway`,
        `${summarizePaths(leftOut)}: ${left.leftOutGateways.length === 1 ? "a Gateway that selects" : "Gateways that select"} ` +
          `${ingress ? `${ingress.namespace}/${ingress.service}` : "the source gateway"}'s pods, and the ` +
          `VirtualServices bound only to them; on the target the app is served through ${served}`,
      ),
    );
  }
  return lines;
}

/**
 * What happens to the objects a GitOps tool or Helm deploys, one line per tool and owner, and to the tools' own
 * objects (left out always: on the target they are the user's to point at the new cluster).
 */
function managedNotes(
  spec: MirrorSpec,
  managed: readonly { tool: Manager; owner: string; objects: number }[],
  toolObjects: ReadonlyMap<string, number>,
): Change[] {
  const lines = [...managed]
    .sort((a, b) => a.tool.localeCompare(b.tool) || a.owner.localeCompare(b.owner))
    .map(({ tool, owner, objects }) =>
      planLine(
        `${spec.managed === "leave" ? "leave out" : "mirror"} ${count(objects, "object")} deployed by ${tool} (${owner})`,
        spec.managed === "leave"
          ? `spec.workloads.managed is leave: ${tool} is to deploy them on "${spec.target}"`
          : tool === "Helm"
            ? "copied with Helm's marks and the release Secrets: helm on the target sees the same release"
            : `copied without ${tool}'s tracking marks: no ${tool} on the target deploys them until you point it there`,
      ),
    );
  if (toolObjects.size > 0) {
    const kinds = [...toolObjects].map(([kind, n]) => `${n} ${kind}`).join(", ");
    lines.push(
      planLine(
        `leave out ${count(
          [...toolObjects.values()].reduce((a, b) => a + b, 0),
          "object",
        )} of the GitOps tools`,
        `${kinds}: copied, a target that runs the tool would deploy the app again over the mirror; create them ` +
          `for "${spec.target}" when the tool is to manage it`,
      ),
    );
  }
  return lines;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * The labels of the source ingress gateway's pods: its Service's selector, and the labels of a pod it selects (a
 * Gateway may select them by a label the Service does not use). Undefined without `source.ingress`.
 */
async function sourceGatewayPods(
  spec: MirrorSpec,
  source: ClusterPort,
  ctx: ReadContext,
): Promise<{ labels: Record<string, string> } | undefined> {
  const ingress = spec.sourceIngress;
  if (!ingress) return undefined;
  const service = await source.get({
    apiVersion: "v1",
    kind: "Service",
    namespace: ingress.namespace,
    name: ingress.service,
  });
  const selector = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
  if (!selector || Object.keys(selector).length === 0) {
    ctx.progress.warn(
      `Service ${ingress.namespace}/${ingress.service} (source.ingress) ${service ? "selects no pods" : "not found"} ` +
        `on "${spec.source}": Gateways that select the source gateway cannot be told apart and are mirrored as they are`,
    );
    return undefined;
  }
  const labelSelector = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const [pod] = await source.list("v1", "Pod", { namespace: ingress.namespace, labelSelector });
  return { labels: { ...(pod?.metadata.labels ?? {}), ...selector } };
}

/** How a namespace's pods get their sidecar: `istio-injection` wins over `istio.io/rev` in Istio's injector. */
function injectionScheme(labels: Record<string, string> | undefined): string | undefined {
  const injection = labels?.["istio-injection"];
  if (injection !== undefined) return `istio-injection=${injection}`;
  const revision = labels?.["istio.io/rev"];
  return revision !== undefined ? `istio.io/rev=${revision}` : undefined;
}

/**
 * Warnings for mirrored namespaces injected otherwise than the target gateway's namespace: a managed mesh
 * (Cloud Service Mesh) injects by revision only, so `istio-injection=enabled` names a control plane that is not
 * there and the workloads would start without sidecars, unreachable through the mesh.
 */
async function injectionMismatch(
  spec: MirrorSpec,
  namespaces: KubeObject[],
  target: ClusterPort | undefined,
): Promise<Change[]> {
  const ingress = spec.targetIngress;
  if (!ingress) return [];
  let gatewayScheme: string | undefined;
  if (ingress.install) {
    // install-ingress-gateway labels the namespace with the provisioned mesh's revision, else asm-managed.
    gatewayScheme = `istio.io/rev=${spec.meshRevision ?? "asm-managed"}`;
  } else if (target) {
    const live = await target.get({ apiVersion: "v1", kind: "Namespace", name: ingress.namespace });
    gatewayScheme = injectionScheme(live?.metadata.labels);
  }
  if (gatewayScheme === undefined) return [];
  return namespaces.flatMap((namespace) => {
    const scheme = injectionScheme(namespace.metadata.labels);
    if (scheme === undefined || scheme === gatewayScheme) return [];
    return [
      planLine(
        `warning: Namespace ${namespace.metadata.name}`,
        `mirrored with ${scheme}, but the target gateway's namespace ${ingress.namespace} uses ${gatewayScheme}: ` +
          `its pods may start without the sidecar of the gateway's control plane; set workloads.namespaceLabels ` +
          `(${gatewayScheme.replace("=", ": ")})`,
      ),
    ];
  });
}

function bucketKey(kind: Kind, namespace: string): string {
  return `${kind.apiVersion} ${kind.kind} ${namespace}`;
}

/**
 * The objects of `kinds` in `namespaces`, by bucketKey. With many namespaces one cluster-wide list per kind is
 * far fewer calls than one per namespace and kind; without the right to list cluster-wide, it falls back.
 */
async function listObjects(
  port: ClusterPort,
  kinds: Kind[],
  namespaces: string[],
): Promise<Map<string, KubeObject[]>> {
  const buckets = new Map<string, KubeObject[]>();
  const selected = new Set(namespaces);
  const perNamespace = async (kind: Kind): Promise<void> => {
    await mapLimit(namespaces, CONCURRENCY, async (namespace) => {
      buckets.set(bucketKey(kind, namespace), await port.list(kind.apiVersion, kind.kind, { namespace }));
    });
  };
  await mapLimit(kinds, CONCURRENCY, async (kind) => {
    if (namespaces.length < CLUSTER_WIDE_FROM) return perNamespace(kind);
    let all: KubeObject[];
    try {
      all = await port.list(kind.apiVersion, kind.kind);
    } catch (error) {
      if (isApiStatus(error, 403)) return perNamespace(kind);
      throw error;
    }
    for (const object of all) {
      const namespace = object.metadata.namespace ?? "";
      if (!selected.has(namespace)) continue;
      const key = bucketKey(kind, namespace);
      buckets.set(key, [...(buckets.get(key) ?? []), object]);
    }
  });
  return buckets;
}

/** The target cluster, or undefined when its context is not in the kubeconfig yet (a provisioning step makes it). */
function targetCluster(ctx: ReadContext, context: string): ClusterPort | undefined {
  const port = clusterIfKnown(ctx, context);
  if (!port) {
    ctx.progress.info(
      `context "${context}" is not in the kubeconfig yet: every object is planned as a create`,
    );
  }
  return port;
}

/**
 * The kinds to list, each at a version both clusters serve (the target's preference first): an object read
 * at a version the target does not serve could not be written there.
 */
/** The GitOps tools' own objects in `namespaces`, of the groups the source serves (usually none). */
async function listGitOpsObjects(source: ClusterPort, namespaces: readonly string[]): Promise<KubeObject[]> {
  const lists = await mapLimit([...GITOPS_GROUPS.keys()], CONCURRENCY, async (group) => {
    const [version] = await source.servedVersions(group);
    if (version === undefined) return [];
    const apiVersion = `${group}/${version}`;
    const kinds = (await source.apiResources(apiVersion)).filter(
      (r) => r.namespaced && r.verbs.includes("list") && !r.name.includes("/"),
    );
    const found = await mapLimit(
      kinds.flatMap((r) => namespaces.map((namespace) => ({ kind: r.kind, namespace }))),
      CONCURRENCY,
      ({ kind, namespace }) => source.list(apiVersion, kind, { namespace }),
    );
    return found.flat();
  });
  return lists.flat();
}

async function resolveKinds(
  source: ClusterPort,
  target: ClusterPort | undefined,
): Promise<(Kind & { servedOnTarget: boolean })[]> {
  const groups = [...new Set(MIRRORED_KINDS.map((k) => k.group))];
  const resolved = await mapLimit(groups, CONCURRENCY, async (group) => {
    const [sourceVersions, targetVersions] = await Promise.all([
      source.servedVersions(group),
      target ? target.servedVersions(group) : Promise.resolve(undefined),
    ]);
    if (sourceVersions.length === 0) return [];
    const shared = targetVersions?.find((v) => sourceVersions.includes(v));
    const version = shared ?? sourceVersions[0] ?? "v1";
    const apiVersion = group === "" ? version : `${group}/${version}`;
    const served = await source.apiResources(apiVersion);
    const onTarget =
      target && shared ? new Set((await target.apiResources(apiVersion)).map((r) => r.kind)) : undefined;
    return MIRRORED_KINDS.filter((k) => k.group === group)
      .filter((k) => served.some((r) => r.kind === k.kind && r.namespaced && r.verbs.includes("list")))
      .map((k) => ({
        apiVersion,
        kind: k.kind,
        servedOnTarget: target === undefined || onTarget?.has(k.kind) === true,
      }));
  });
  return resolved.flat();
}

function transform(object: KubeObject, spec: MirrorSpec): KubeObject {
  if (object.kind === "Namespace") {
    const labels = namespaceLabels(object.metadata.labels ?? {}, spec.namespaceLabels);
    const metadata = { ...object.metadata };
    if (Object.keys(labels).length > 0) metadata.labels = labels;
    else delete metadata.labels;
    return { ...object, metadata };
  }
  return rewriteImages(object, spec.images);
}

export function addressOf(object: Pick<KubeObject, "kind" | "metadata">): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** One line of the plan: create when the target lacks it, update with the differing paths, else no-op. */
export function changeFor(desired: KubeObject, current: KubeObject | undefined, note?: string): Change {
  const address = addressOf(desired);
  const sensitive = desired.kind === "Secret";
  if (!current) {
    const change: Change = { action: "create", address, after: desired };
    if (note) change.detail = note;
    if (sensitive) change.sensitive = true;
    return change;
  }
  const before = strip(current);
  const paths = subsetDiff(desired, before);
  if (paths.length === 0)
    return note ? { action: "no-op", address, detail: note } : { action: "no-op", address };
  const detail = note ? `${summarizePaths(paths)}; ${note}` : summarizePaths(paths);
  const change: Change = { action: "update", address, before, after: desired, detail };
  if (sensitive) change.sensitive = true;
  return change;
}

async function verifyMirror(plan: StepPlan, ctx: ReadContext): Promise<Verification> {
  const data = plan.data as MirrorPlanData;
  const target = cluster(ctx, data.target);
  const failures: string[] = [];

  // Every written object must now hold what we wrote; listing per namespace and kind keeps this to few calls.
  const written = plan.changes.flatMap((c) =>
    c.action === "create" || c.action === "update" ? [c.after as KubeObject] : [],
  );
  const groups = new Map<string, KubeObject[]>();
  for (const object of written) {
    const key = `${object.apiVersion} ${object.kind} ${object.metadata.namespace ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), object]);
  }
  await mapLimit([...groups.values()], CONCURRENCY, async (objects) => {
    const first = objects[0] as KubeObject;
    const namespace = first.metadata.namespace;
    const present =
      first.kind === "Namespace"
        ? await Promise.all(objects.map((o) => target.get(refOf(o))))
        : await target.list(first.apiVersion, first.kind, namespace ? { namespace } : {});
    const byName = new Map(present.flatMap((o) => (o ? [[o.metadata.name, o] as const] : [])));
    for (const object of objects) {
      const current = byName.get(object.metadata.name);
      if (!current) failures.push(`${addressOf(object)} is missing on the target`);
      else if (subsetDiff(object, strip(current)).length > 0)
        failures.push(`${addressOf(object)} differs on the target`);
    }
  });

  const rollouts = await mapLimit(data.rollouts, CONCURRENCY, async (ref) => {
    try {
      await target.waitForRollout(ref, data.rolloutTimeoutMs, (detail) =>
        ctx.progress.wait(`rollout ${describe(ref)}`, detail),
      );
      return true;
    } catch (error) {
      failures.push((error as Error).message);
      return false;
    }
  });
  if (failures.length > 0) return { outcome: "failed", detail: failures.join("; ") };
  return {
    outcome: "passed",
    detail: `${written.length} objects written, ${rollouts.length} rollouts complete on ${data.target}`,
  };
}

function isNamespaceCreate(entry: ChangeEntry): boolean {
  const where = entry.target?.type === "kube.object" ? entry.target : undefined;
  return entry.action === "create" && where?.kind === "Namespace" && where.apiVersion === "v1";
}

/** The namespaces this run created and has not reverted, by `context/name`: rollback deletes them whole. */
function createdNamespaces(journaled: readonly ChangeEntry[]): Map<string, ChangeEntry> {
  const created = new Map<string, ChangeEntry>();
  for (const entry of journaled) {
    if (!isNamespaceCreate(entry)) continue;
    const where = targetOf(entry, "kube.object");
    created.set(`${where.context}/${where.name}`, entry);
  }
  return created;
}

/**
 * Namespace deletions under way, per client: rollback calls the step once per batch of entries, and the objects
 * of a namespace span many batches; the first one deletes it, the others find the DELETE already sent.
 */
const deleting = new WeakMap<ClusterPort, Map<string, Promise<void>>>();

/** Reverts a namespace's creation (through the kube.object resource: idempotent) once per client. */
function deleteOnce(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const where = targetOf(entry, "kube.object");
  const port = cluster(ctx, where.context);
  let sent = deleting.get(port);
  if (!sent) deleting.set(port, (sent = new Map<string, Promise<void>>()));
  let deletion = sent.get(where.name);
  if (!deletion) {
    deletion = kubeObjectResource.revert(entry, ctx);
    // A deletion that failed is tried again by the next entry that needs it (and the error reaches this one).
    deletion.catch(() => sent.delete(where.name));
    sent.set(where.name, deletion);
  }
  return deletion;
}

/** How often rollback lists the namespaces it deleted, until they are gone. */
const NAMESPACE_POLL_MS = 200;

/**
 * Waits for the namespaces of `entries` to be gone: one list per context and round, not a watch each, so that
 * hundreds of namespaces cost a request every {@link NAMESPACE_POLL_MS}. One still there after
 * {@link NAMESPACE_GONE_MS} is said and left: the journal holds its deletion as done, the controller finishes it.
 */
async function waitUntilAllGone(entries: readonly ChangeEntry[], ctx: WriteContext): Promise<void> {
  const byContext = new Map<string, Set<string>>();
  for (const entry of entries) {
    const where = targetOf(entry, "kube.object");
    const names = byContext.get(where.context) ?? new Set<string>();
    names.add(where.name);
    byContext.set(where.context, names);
  }
  await Promise.all(
    [...byContext].map(async ([context, names]) => {
      const port = cluster(ctx, context);
      const deadline = Date.now() + NAMESPACE_GONE_MS;
      for (;;) {
        const live = new Set((await port.list("v1", "Namespace")).map((ns) => ns.metadata.name));
        const left = [...names].filter((name) => live.has(name));
        if (left.length === 0) return;
        if (Date.now() >= deadline) {
          ctx.progress.warn(
            `${left.length === 1 ? "namespace" : "namespaces"} ${left.join(", ")} on ${context} still terminating after ${formatDuration(NAMESPACE_GONE_MS)}`,
          );
          return;
        }
        ctx.progress.wait(`namespaces on ${context}`, `waiting for ${left.length} namespaces to be deleted`);
        await sleep(NAMESPACE_POLL_MS);
      }
    }),
  );
}

/** A namespace being deleted takes what is created in it along: wait for it to be gone first. */
export async function waitUntilGone(port: ClusterPort, ref: ObjectRef, ctx: ReadContext): Promise<void> {
  try {
    await port.waitFor(
      ref,
      (object) => (object === undefined ? true : undefined),
      NAMESPACE_GONE_MS,
      () =>
        ctx.progress.wait(`${describe(ref)} on ${port.context}`, "waiting for the namespace to be deleted"),
    );
  } catch (error) {
    ctx.progress.warn(
      `${describe(ref)} on ${port.context} is still terminating: ${(error as Error).message}`,
    );
  }
}

function refObject(entry: ChangeEntry): Pick<KubeObject, "apiVersion" | "kind"> {
  const where = entry.target?.type === "kube.object" ? entry.target : undefined;
  return { apiVersion: where?.apiVersion ?? "v1", kind: where?.kind ?? "" };
}
