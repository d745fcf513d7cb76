import { DriftError, RuntimeError } from "../../engine/errors.js";
import { targetOf } from "../../engine/targets.js";
import type { Change, ChangeEntry, ReadContext, WriteContext } from "../../engine/types.js";
import { cluster, retryOnConflict } from "../../providers/kubernetes/index.js";
import type { KubeObject, ObjectRef } from "../../providers/kubernetes/port.js";

/** The workload kinds that run pods of their own and scale by `spec.replicas`. */
const SCALED_KINDS = ["Deployment", "StatefulSet"] as const;

export function scaleAddress(ref: ObjectRef): string {
  return `${ref.kind.toLowerCase()} ${ref.namespace}/${ref.name} replicas`;
}

/** The source's Deployments and StatefulSets of `namespaces` that run pods, each to scale to zero. */
export async function planScale(ctx: ReadContext, context: string, namespaces: string[]): Promise<Change[]> {
  const port = cluster(ctx, context);
  const changes: Change[] = [];
  for (const namespace of namespaces) {
    for (const kind of SCALED_KINDS) {
      const objects = await port.list("apps/v1", kind, { namespace });
      for (const object of objects.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
        const ref = refOf(object);
        const replicas = replicasOf(object);
        changes.push(
          replicas === 0
            ? { action: "no-op", address: scaleAddress(ref), detail: "already 0 replicas" }
            : {
                action: "update",
                address: scaleAddress(ref),
                before: { replicas },
                after: { replicas: 0 },
                detail: `${replicas} → 0 on ${context}`,
              },
        );
      }
    }
  }
  return changes;
}

/**
 * Scales each planned workload to zero with a compare-and-swap PUT of the object read just before: a workload
 * whose replicas changed since the plan stops the step (drift), and one changed between the read and the write
 * makes the server answer 409. The before-image is the replica count, so rollback restores exactly it.
 */
export async function applyScale(ctx: WriteContext, context: string, changes: Change[]): Promise<void> {
  const port = cluster(ctx, context);
  const updates = changes.filter((c) => c.action === "update");
  const wanted = new Set(updates.map((c) => c.address));
  for (const namespace of namespacesOf(updates)) {
    for (const kind of SCALED_KINDS) {
      for (const object of await port.list("apps/v1", kind, { namespace })) {
        const ref = refOf(object);
        const change = updates.find((c) => c.address === scaleAddress(ref));
        if (!change || !wanted.has(change.address)) continue;
        const before = (change.before as { replicas: number }).replicas;
        const replicas = replicasOf(object);
        if (replicas !== before) {
          throw new DriftError(
            `${change.address}: ${replicas} replicas now, ${before} when planned; nothing more was scaled. Run \`clustershift plan\` again.`,
          );
        }
        await ctx.change(
          {
            address: change.address,
            action: "update",
            before: { replicas: before },
            after: { replicas: 0 },
            target: {
              type: "kube.replicas",
              context,
              apiVersion: ref.apiVersion,
              kind: ref.kind,
              namespace: ref.namespace ?? "",
              name: ref.name,
            },
          },
          () =>
            port.replace(withReplicas(object, 0), { resourceVersion: object.metadata.resourceVersion ?? "" }),
        );
        wanted.delete(change.address);
      }
    }
  }
  if (wanted.size > 0) {
    throw new DriftError(`gone since the plan: ${[...wanted].join(", ")}; run \`clustershift plan\` again`);
  }
}

/** Problems left after apply: a planned workload that does not have 0 replicas. */
export async function verifyScale(ctx: ReadContext, context: string, changes: Change[]): Promise<string[]> {
  const port = cluster(ctx, context);
  const problems: string[] = [];
  for (const change of changes.filter((c) => c.action === "update")) {
    const ref = refFromAddress(change.address);
    const object = ref && (await port.get(ref));
    if (object && replicasOf(object) !== 0) problems.push(`${change.address} is ${replicasOf(object)}`);
  }
  return problems;
}

/**
 * Gives a workload back the replicas it had. It changes only what is still as this run left it (0 replicas):
 * a workload someone scaled since is theirs, and is reported and left alone. Idempotent.
 */
export async function rollbackScale(entry: ChangeEntry, ctx: WriteContext): Promise<void> {
  const target = targetOf(entry, "kube.replicas");
  const ref: ObjectRef = {
    apiVersion: target.apiVersion,
    kind: target.kind,
    namespace: target.namespace,
    name: target.name,
  };
  const before = (entry.before as { replicas?: unknown } | undefined)?.replicas;
  if (typeof before !== "number")
    throw new RuntimeError(`${entry.address}: no replica count journaled: this is a bug`);
  const port = cluster(ctx, target.context);
  // A controller writing status in between makes the compare-and-swap fail with 409 Conflict: read again and
  // decide again (still at 0, or someone else's now), since only the replica count matters.
  await retryOnConflict(async () => {
    const object = await port.get(ref);
    if (!object) {
      ctx.progress.warn(`${entry.address}: the workload is gone; nothing to scale back`);
      return;
    }
    const replicas = replicasOf(object);
    if (replicas === before) return;
    if (replicas !== 0) {
      ctx.progress.warn(
        `${entry.address}: left at ${replicas} replicas, which someone set after this run scaled it to 0`,
      );
      return;
    }
    await port.replace(withReplicas(object, before), {
      resourceVersion: object.metadata.resourceVersion ?? "",
    });
  });
}

function refOf(object: KubeObject): ObjectRef & { namespace: string } {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace ?? "",
    name: object.metadata.name,
  };
}

function refFromAddress(address: string): ObjectRef | undefined {
  const match = /^(deployment|statefulset) ([^/]+)\/(\S+) replicas$/.exec(address);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const kind = match[1] === "deployment" ? "Deployment" : "StatefulSet";
  return { apiVersion: "apps/v1", kind, namespace: match[2], name: match[3] };
}

function namespacesOf(changes: Change[]): string[] {
  return [
    ...new Set(changes.map((c) => refFromAddress(c.address)?.namespace).filter((n): n is string => !!n)),
  ];
}

/** An unset `spec.replicas` defaults to 1 in the API. */
function replicasOf(object: KubeObject): number {
  const replicas = (object.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof replicas === "number" ? replicas : 1;
}

function withReplicas(object: KubeObject, replicas: number): KubeObject {
  return { ...object, spec: { ...(object.spec as Record<string, unknown>), replicas } };
}
