import type { ChangeEntry, JournalEntry } from "./types.js";

/**
 * What a journaled change was made to: a closed union, one member per resource type (src/resources/), each with
 * everything rollback needs to find the thing again without the playbook. `type` is the discriminator; a
 * Kubernetes object keeps its own `kind` (`VirtualService`) beside it.
 */
export type Target =
  | KubeObjectTarget
  | KubeReplicasTarget
  | DnsRecordSetTarget
  | GkeClusterTarget
  | SandboxClusterTarget
  | FleetMembershipTarget
  | FleetFeatureTarget
  | KubeconfigContextTarget;

export type TargetType = Target["type"];

/** A Kubernetes object on the cluster of a kubeconfig context. */
export interface KubeObjectTarget {
  type: "kube.object";
  context: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The replica count of a workload (its scale), which decommission-source sets to 0 and gives back. */
export interface KubeReplicasTarget {
  type: "kube.replicas";
  context: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * A DNS record set in a zone of a provider. `provider` is the client's label (`route53`, `sandbox-dns`);
 * `context` the kubeconfig context that serves the sandbox DNS.
 */
export interface DnsRecordSetTarget {
  type: "dns.recordset";
  provider: string;
  /** `private`: a private zone has no public name servers to verify against. */
  zone: { id: string; name: string; private?: boolean };
  name: string;
  recordType: string;
  context?: string;
}

export interface GkeClusterTarget {
  type: "gke.cluster";
  project: string;
  location: string;
  name: string;
}

/** A cluster of the local sandbox provisioner (`provision.provider: sandbox`). */
export interface SandboxClusterTarget {
  type: "sandbox.cluster";
  name: string;
}

/** A GKE Hub fleet membership; `name` is its full resource name (`projects/p/locations/l/memberships/m`). */
export interface FleetMembershipTarget {
  type: "fleet.membership";
  name: string;
}

/**
 * The fleet `servicemesh` feature of a project; with `membershipSpec`, only that membership's entry in the
 * feature's `membershipSpecs` (keyed as the API keys it).
 */
export interface FleetFeatureTarget {
  type: "fleet.feature";
  project: string;
  membershipSpec?: string;
}

/** A context (with its cluster and user entries) in a kubeconfig file. */
export interface KubeconfigContextTarget {
  type: "kubeconfig.context";
  file: string;
  name: string;
}

const TARGET_TYPES: ReadonlySet<string> = new Set<TargetType>([
  "kube.object",
  "kube.replicas",
  "dns.recordset",
  "gke.cluster",
  "sandbox.cluster",
  "fleet.membership",
  "fleet.feature",
  "kubeconfig.context",
]);

/**
 * The target of a journal entry as the union, whatever version wrote it. Journals written before the union
 * carry no `type` (or, for DNS record sets, the record type under `type`), and tell the place by their shape:
 * - Kubernetes objects `{context, apiVersion, kind, namespace?, name}`;
 * - DNS record sets `{provider, zone: {id, name}, name, type, context?}`;
 * - `{kind: "gke.cluster" | "sandbox.cluster", …}`, `{kind: "kubeconfig", file, context}`;
 * - `{kind: "fleet.membership", name}`, `{kind: "fleet.feature", project}`,
 *   `{kind: "fleet.membership-spec", project, key}`;
 * - decommission-source's `{kind: "source.replicas", context, apiVersion, workloadKind, namespace, name}` and
 *   `{kind: "source.cluster-deleted", provider: "gke" | "sandbox", …}`.
 * Undefined for a shape none of these is (a journal from elsewhere): callers say so with the entry's address.
 */
export function upgradeTarget(raw: unknown): Target | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const old = raw as Record<string, unknown>;
  if (typeof old.type === "string" && TARGET_TYPES.has(old.type)) return old as unknown as Target;
  const text = (key: string): string | undefined => {
    const value = old[key];
    return typeof value === "string" ? value : undefined;
  };
  const need = (key: string): string => text(key) ?? "";
  const zone = old.zone as { id?: unknown; name?: unknown; private?: unknown } | undefined;
  if (text("provider") !== undefined && typeof zone === "object" && zone !== null) {
    return {
      type: "dns.recordset",
      provider: need("provider"),
      zone: {
        id: typeof zone.id === "string" ? zone.id : "",
        name: typeof zone.name === "string" ? zone.name : "",
        ...(typeof zone.private === "boolean" ? { private: zone.private } : {}),
      },
      name: need("name"),
      recordType: need("type"),
      ...(text("context") === undefined ? {} : { context: need("context") }),
    };
  }
  switch (text("kind")) {
    case "gke.cluster":
      return {
        type: "gke.cluster",
        project: need("project"),
        location: need("location"),
        name: need("name"),
      };
    case "sandbox.cluster":
      return { type: "sandbox.cluster", name: need("name") };
    case "kubeconfig":
      return { type: "kubeconfig.context", file: need("file"), name: need("context") };
    case "fleet.membership":
      return { type: "fleet.membership", name: need("name") };
    case "fleet.feature":
      return { type: "fleet.feature", project: need("project") };
    case "fleet.membership-spec":
      return { type: "fleet.feature", project: need("project"), membershipSpec: need("key") };
    case "source.replicas":
      return {
        type: "kube.replicas",
        context: need("context"),
        apiVersion: need("apiVersion"),
        kind: need("workloadKind"),
        namespace: need("namespace"),
        name: need("name"),
      };
    case "source.cluster-deleted":
      return text("provider") === "gke"
        ? { type: "gke.cluster", project: need("project"), location: need("location"), name: need("name") }
        : { type: "sandbox.cluster", name: need("name") };
    case undefined:
    default:
      break;
  }
  if (text("context") !== undefined && text("kind") !== undefined && text("name") !== undefined) {
    return {
      type: "kube.object",
      context: need("context"),
      apiVersion: need("apiVersion"),
      kind: need("kind"),
      ...(text("namespace") === undefined ? {} : { namespace: need("namespace") }),
      name: need("name"),
    };
  }
  return undefined;
}

/**
 * `entry` with its target upgraded ({@link upgradeTarget}); every journal store reads entries through this.
 * A shape no built-in step journals (a plugin step's own, `{file}` in the engine tests) stays as it was
 * journaled: that step's own rollback reads it, and {@link placeOf} calls it elsewhere.
 */
export function upgradeEntry(entry: JournalEntry): JournalEntry {
  if (entry.type !== "change" || entry.target === undefined) return entry;
  const target = upgradeTarget(entry.target);
  return target === undefined || target === entry.target ? entry : { ...entry, target };
}

/** The same thing, whatever else the entries say: rollback reverts only the oldest entry per target. */
export function targetKey(target: Target): string {
  switch (target.type) {
    case "kube.object":
    case "kube.replicas":
      return JSON.stringify([
        target.type,
        target.context,
        target.apiVersion,
        target.kind,
        target.namespace,
        target.name,
      ]);
    case "dns.recordset":
      return JSON.stringify([target.type, target.provider, target.zone.id, target.name, target.recordType]);
    case "gke.cluster":
      return JSON.stringify([target.type, target.project, target.location, target.name]);
    case "sandbox.cluster":
    case "fleet.membership":
      return JSON.stringify([target.type, target.name]);
    case "fleet.feature":
      return JSON.stringify([target.type, target.project, target.membershipSpec]);
    case "kubeconfig.context":
      return JSON.stringify([target.type, target.file, target.name]);
  }
}

/** `entry.target` narrowed to `type`, or a "this is a bug" error naming the entry. */
export function targetOf<T extends TargetType>(
  entry: Pick<ChangeEntry, "seq" | "address" | "target">,
  ...types: T[]
): Extract<Target, { type: T }> {
  const target = entry.target;
  if (target === undefined || !(types as string[]).includes(target.type)) {
    throw new Error(
      `journal entry ${entry.seq} (${entry.address}) has target ${target?.type ?? "none"}, ` +
        `not ${types.join(" or ")}: this is a bug`,
    );
  }
  return target as Extract<Target, { type: T }>;
}

/** Where a journaled change was made: the kubeconfig context whose API server rollback needs, and a label. */
export interface ChangePlace {
  /** The context rollback talks to (a Kubernetes object, the sandbox DNS served by a cluster); absent: none. */
  context?: string;
  /** For people: `cluster source`, `route53 zone example.com.`, `GKE cluster p/us-central1/c`. */
  label: string;
}

/** Where `entry` was made, read from its journaled target alone (never from the playbook, which may have changed). */
export function placeOf(entry: Pick<ChangeEntry, "target">): ChangePlace {
  const target = entry.target;
  if (target === undefined) return { label: "elsewhere" };
  switch (target.type) {
    case "kube.object":
    case "kube.replicas":
      return { context: target.context, label: `cluster ${target.context}` };
    case "dns.recordset": {
      const label = `${target.provider} zone ${target.zone.name}`;
      return target.context === undefined ? { label } : { context: target.context, label };
    }
    case "gke.cluster":
      return { label: `GKE cluster ${target.project}/${target.location}/${target.name}` };
    case "sandbox.cluster":
      return { label: `sandbox cluster ${target.name}` };
    case "fleet.membership":
      return { label: `GKE fleet ${target.name}` };
    case "fleet.feature":
      return { label: `GKE fleet ${target.project}` };
    case "kubeconfig.context":
      return { label: `kubeconfig ${target.file}` };
  }
  // A plugin step's own target shape (see upgradeEntry): no place clustershift knows.
  return { label: "elsewhere" };
}
