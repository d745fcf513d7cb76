import { isDeepStrictEqual } from "node:util";
import { RuntimeError } from "../../engine/errors.js";
import type { ChangeEntry, WriteContext } from "../../engine/types.js";
import { cluster, refOf, withoutServerMetadata } from "../../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject, ObjectRef } from "../../providers/kubernetes/port.js";

export const ISTIO_GROUP = "networking.istio.io";
/** Newest first: v1 since Istio 1.22, v1beta1 since 1.5, v1alpha3 before. */
const ISTIO_VERSIONS = ["v1", "v1beta1", "v1alpha3"] as const;

/** On every object the traffic steps create, so other steps (mirror-workloads) and people can tell them apart. */
export function managedLabels(playbook: string): Record<string, string> {
  return { "app.kubernetes.io/managed-by": "clustershift", "clustershift.dev/playbook": playbook };
}

/** `networking.istio.io/v1` (or the newest the cluster serves); undefined when Istio's CRDs are not installed. */
export async function istioApiVersion(port: ClusterPort): Promise<string | undefined> {
  const served = await port.servedVersions(ISTIO_GROUP);
  const version = ISTIO_VERSIONS.find((v) => served.includes(v));
  return version && `${ISTIO_GROUP}/${version}`;
}

export async function requireIstio(port: ClusterPort, role: "source" | "target"): Promise<string> {
  const apiVersion = await istioApiVersion(port);
  if (!apiVersion) throw istioMissing(port.context, role);
  return apiVersion;
}

export function istioMissing(context: string, role: "source" | "target"): RuntimeError {
  return new RuntimeError(
    `Istio is not installed in the ${role} cluster (context "${context}"): it serves no ${ISTIO_GROUP} API ` +
      `(${ISTIO_VERSIONS.join(", ")}), so there is nowhere to put a ServiceEntry or VirtualService. ` +
      `Install Istio (or Cloud Service Mesh) there first.`,
  );
}

/** `VirtualService onlineboutique/frontend-ingress`: the address of a change in plans and the journal. */
export function addressOf(object: Pick<KubeObject, "kind" | "metadata">): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** What rollback needs to find the object again, journaled as the change's `target`. */
export function journalTarget(context: string, object: KubeObject): Record<string, unknown> {
  return { context, ...refOf(object) };
}

/**
 * Server-side applies `desired`, journaling first what it replaces: the live object's image, or that there was
 * none (rollback then deletes it).
 */
export async function applyJournaled(
  ctx: WriteContext,
  port: ClusterPort,
  desired: KubeObject,
  live: KubeObject | undefined,
): Promise<void> {
  await ctx.change(
    {
      address: addressOf(desired),
      action: live ? "update" : "create",
      ...(live ? { before: imageOf(live) } : {}),
      after: desired,
      target: journalTarget(port.context, desired),
    },
    () => port.apply(desired),
  );
}

/**
 * The object without what the server owns (resourceVersion, uid, managedFields, status…): what plans show and
 * compare, and the before-image a rollback puts back with `replace`.
 */
export const imageOf: (object: KubeObject) => KubeObject = withoutServerMetadata;

export function sameImage(a: KubeObject, b: KubeObject): boolean {
  return isDeepStrictEqual(imageOf(a), imageOf(b));
}

/**
 * Undoes journaled changes of the traffic steps, newest first. For each object only its oldest entry in `entries`
 * matters (the first before-image, or "it did not exist"); every write here is safe to repeat, since a
 * write-ahead entry may stand for a write that never happened: deleting what is gone is fine, and a before-image
 * equal to what is there is not written again.
 */
export async function rollbackEntries(entries: ChangeEntry[], ctx: WriteContext): Promise<void> {
  const oldest = new Map<string, ChangeEntry>();
  for (const entry of entries) oldest.set(targetKey(entry), entry);
  for (const entry of oldest.values()) {
    const target = entry.target as (ObjectRef & { context?: string }) | undefined;
    if (!target?.context)
      throw new RuntimeError(`journal entry ${entry.seq} (${entry.address}) has no target: this is a bug`);
    const port = cluster(ctx, target.context);
    const { context: _context, ...ref } = target;
    if (entry.action === "create") {
      await port.delete(ref);
      continue;
    }
    const before = entry.before as KubeObject | undefined;
    if (!before)
      throw new RuntimeError(
        `journal entry ${entry.seq} (${entry.address}) has no before-image: this is a bug`,
      );
    const live = await port.get(ref);
    if (live && sameImage(live, before)) continue;
    // replace creates it again when someone deleted it meanwhile.
    await port.replace(before);
  }
}

function targetKey(entry: ChangeEntry): string {
  const target = entry.target ?? {};
  return JSON.stringify([
    target.context,
    target.apiVersion,
    target.kind,
    target.namespace,
    target.name,
    entry.address,
  ]);
}
