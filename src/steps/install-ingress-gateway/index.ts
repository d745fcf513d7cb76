import { RuntimeError, UsageError } from "../../engine/errors.js";
import { KNOWN_AFTER_APPLY, type Change, type Step } from "../../engine/types.js";
import type { Playbook } from "../../playbook/schema.js";
import { formatDuration } from "../../playbook/duration.js";
import { cluster, clusterIfKnown, refOf, rolloutState } from "../../providers/kubernetes/index.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";
import { kubeObjectResource, type KubeObjectChange } from "../../resources/kube-object.js";
import {
  addressOf,
  imageOf,
  journalTarget,
  istioApiVersion,
  istioMissing,
  managedLabels,
  rollbackEntries,
} from "../expose-target/istio.js";
import { ingressAddress, INGRESS_ADDRESS_TIMEOUT_MS } from "../expose-target/manifests.js";
import { subsetDiff, summarizePaths } from "../../resources/diff.js";
import { immutablePaths } from "../mirror-workloads/immutable.js";
import { waitUntilGone } from "../mirror-workloads/step.js";
import { specOf, specPlan } from "../spec-plan.js";
import { ingressGatewayManifests } from "./manifests.js";

export { ingressGatewayManifests, gatewaySelector, type IngressGatewayInput } from "./manifests.js";

export interface IngressInstance {
  context: string;
  namespace: string;
  service: string;
  gateway: { namespace: string; name: string };
  revision: string;
  playbook: string;
  /** A cluster an earlier step provisions may not exist (or serve Istio) at plan time. */
  targetCreatedByRun: boolean;
}

const ROLLOUT_TIMEOUT_MS = 10 * 60_000;

/**
 * Installs the ingress gateway of Google's guide on the target (namespace, RBAC, injected Deployment,
 * LoadBalancer Service, Istio Gateway) and waits for its external address. Rollback deletes what it created and
 * restores what it changed.
 */
export const installIngressGatewayStep: Step<IngressInstance> = {
  kind: "install-ingress-gateway",
  needs: ["enable-mesh"],

  expand(playbook) {
    const instance = ingressInstance(playbook);
    if (!instance) return [];
    return [
      {
        id: "install-ingress-gateway",
        title: `Install ingress gateway ${instance.namespace}/${instance.service} on ${instance.context}`,
        spec: instance,
      },
    ];
  },

  async plan(instance, ctx) {
    const spec = instance.spec;
    // A cluster an earlier step provisions may not have its context yet.
    const port = spec.targetCreatedByRun ? clusterIfKnown(ctx, spec.context) : cluster(ctx, spec.context);
    const version = port ? await istioApiVersion(port) : undefined;
    if (port && !version && !spec.targetCreatedByRun) throw istioMissing(spec.context, "target");
    const desired = manifests(spec, version ?? KNOWN_AFTER_APPLY);
    // A namespace being deleted (a rollback a moment ago) goes with all it holds: apply waits for it to be
    // gone and creates everything again.
    const terminating = new Set<string>();
    const lives = new Map<KubeObject, KubeObject | undefined>();
    const changes: Change[] = [];
    for (const object of desired) {
      let live = port && (object.kind !== "Gateway" || version) ? await port.get(refOf(object)) : undefined;
      if (object.kind === "Namespace" && live?.metadata.deletionTimestamp) {
        terminating.add(object.metadata.name);
        live = undefined;
      }
      if (terminating.has(object.metadata.namespace ?? "")) live = undefined;
      lives.set(object, live);
      const change = changeFor(object, live);
      if (object.kind === "Namespace" && terminating.has(object.metadata.name)) {
        change.detail = "terminating on the target: created again once it is gone";
      }
      changes.push(change);
    }
    const [deployment, service] = [byKind(desired, "Deployment"), byKind(desired, "Service")];
    const liveDeployment = lives.get(deployment);
    refuseImmutable(deployment, liveDeployment, spec.context);
    if (
      rolloutState(liveDeployment).state !== "complete" ||
      changes.some((c) => c.address === addressOf(deployment) && c.action !== "no-op")
    ) {
      changes.push({
        action: "wait",
        address: rolloutAddress(deployment),
        detail: `complete, up to ${formatDuration(ROLLOUT_TIMEOUT_MS)}`,
      });
    }
    if (!ingressAddress(lives.get(service))) {
      changes.push({
        action: "wait",
        address: addressWait(service),
        detail: `LoadBalancer IP or host name, up to ${formatDuration(INGRESS_ADDRESS_TIMEOUT_MS)}`,
      });
    }
    return specPlan("install-ingress-gateway", instance, changes);
  },

  async apply(plan, ctx) {
    const spec = specOf<IngressInstance>(plan);
    const port = cluster(ctx, spec.context);
    const version = await istioApiVersion(port);
    if (!version) throw istioMissing(spec.context, "target");
    // The planned objects, with the Istio version the cluster serves now where the plan said "known after apply"
    // (a cluster this run provisioned). Each planned change is carried out as planned, compare-and-swap on its
    // before-image: whatever moved since the plan stops the step with the drift named, never overwritten.
    const desired = manifests(spec, version);
    for (const object of desired) {
      const planned = plan.changes.find((c) => c.address === addressOf(object));
      if (planned?.action !== "create" && planned?.action !== "update") continue;
      // A namespace the plan saw terminating (a rollback a moment ago) is created again once it is gone.
      const live = object.kind === "Namespace" ? await port.get(refOf(object)) : undefined;
      if (live?.metadata.deletionTimestamp) await waitUntilGone(port, refOf(object), ctx);
      const change: KubeObjectChange =
        planned.action === "update"
          ? {
              address: planned.address,
              action: "update",
              target: journalTarget(spec.context, object),
              before: planned.before as KubeObject,
              after: object,
              // The plan's update sets the gateway's fields and keeps the rest (see changeFor's subset diff).
              merge: true,
            }
          : {
              address: planned.address,
              action: "create",
              target: journalTarget(spec.context, object),
              after: object,
            };
      await kubeObjectResource.write(change, ctx);
    }
    const deployment = byKind(desired, "Deployment");
    if (plan.changes.some((c) => c.address === rolloutAddress(deployment))) {
      await port.waitForRollout(refOf(deployment), ROLLOUT_TIMEOUT_MS, (d) =>
        ctx.progress.wait(rolloutAddress(deployment), d),
      );
    }
    const service = byKind(desired, "Service");
    const address = await port.waitFor(refOf(service), ingressAddress, INGRESS_ADDRESS_TIMEOUT_MS, (d) =>
      ctx.progress.wait(addressWait(service), d),
    );
    ctx.progress.info(`ingress gateway ${addressOf(service)} answers at ${address}`);
    await ctx.note("target ingress address", { service: addressOf(service), address });
  },

  async verify(plan, ctx) {
    const spec = specOf<IngressInstance>(plan);
    const port = cluster(ctx, spec.context);
    const version = await istioApiVersion(port);
    if (!version) return { outcome: "failed", detail: `the target serves no networking.istio.io API` };
    const problems: string[] = [];
    for (const object of manifests(spec, version)) {
      const change = changeFor(object, await port.get(refOf(object)));
      if (change.action !== "no-op")
        problems.push(
          `${change.address}: ${change.action === "create" ? "missing" : (change.detail ?? "differs")}`,
        );
    }
    const address = ingressAddress(await port.get(refOf(byKind(manifests(spec, version), "Service"))));
    if (!address) problems.push("the gateway Service has no external address");
    return problems.length > 0
      ? { outcome: "failed", detail: problems.join("; ") }
      : { outcome: "passed", detail: `external address ${address}` };
  },

  // Through the kube.object resource: a namespace already terminating is on its way out, and is left to go.
  rollback: rollbackEntries,
};

function ingressInstance(playbook: Playbook): IngressInstance | undefined {
  const { target } = playbook.spec;
  if (!target.ingress?.install) return undefined;
  const { namespace, service, gateway } = target.ingress;
  const parts = gateway.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(`spec.target.ingress.gateway: must be NAMESPACE/NAME or NAME, got "${gateway}"`);
  }
  const [gatewayNamespace, gatewayName] =
    parts.length === 2 ? [parts[0]!, parts[1]!] : [namespace, parts[0]!];
  return {
    context: target.context,
    namespace,
    service,
    gateway: { namespace: gatewayNamespace, name: gatewayName },
    revision: target.provision?.mesh?.revision ?? "asm-managed",
    playbook: playbook.metadata.name,
    targetCreatedByRun: target.provision !== undefined,
  };
}

function manifests(spec: IngressInstance, istioApiVersion: string): KubeObject[] {
  return ingressGatewayManifests({
    namespace: spec.namespace,
    service: spec.service,
    gateway: spec.gateway,
    revision: spec.revision,
    istioApiVersion,
    labels: managedLabels(spec.playbook),
  });
}

function changeFor(desired: KubeObject, live: KubeObject | undefined): Change {
  const address = addressOf(desired);
  if (!live) return { action: "create", address, after: desired };
  const before = imageOf(live);
  const paths = subsetDiff(desired, before);
  if (paths.length === 0) return { action: "no-op", address };
  return { action: "update", address, before, after: desired, detail: summarizePaths(paths) };
}

/**
 * A gateway Deployment installed earlier with other pod labels (before the gateway selected its pods by its own
 * labels, `istio: ingressgateway` then) cannot be updated to these: its selector is immutable, and the update
 * would fail after the namespace and RBAC were written. Stop the plan and say what to do.
 */
function refuseImmutable(desired: KubeObject, live: KubeObject | undefined, context: string): void {
  if (!live) return;
  const paths = immutablePaths(live, subsetDiff(desired, imageOf(live)));
  if (paths.length === 0) return;
  throw new RuntimeError(
    `cannot install the ingress gateway on context "${context}": ${addressOf(desired)} exists with a different ` +
      `${summarizePaths(paths)}, which the API server lets no update change; delete it first ` +
      `(kubectl --context ${context} -n ${desired.metadata.namespace ?? ""} delete deployment ${desired.metadata.name})`,
  );
}

function byKind(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.find((o) => o.kind === kind);
  if (!found) throw new Error(`no ${kind} among the gateway manifests: this is a bug`);
  return found;
}

function rolloutAddress(deployment: KubeObject): string {
  return `rollout ${addressOf(deployment)}`;
}

function addressWait(service: KubeObject): string {
  return `external address ${addressOf(service)}`;
}
