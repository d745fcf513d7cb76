import type { ChangeEntry } from "./types.js";

/** Where a journaled change was made: the kubeconfig context whose API server rollback needs, and a label. */
export interface ChangePlace {
  /** The context rollback talks to (a Kubernetes object, the sandbox DNS served by a cluster); absent: none. */
  context?: string;
  /** For people: `cluster source`, `route53 zone example.com.`, `GKE cluster p/us-central1/c`. */
  label: string;
}

/**
 * Where `entry` was made, read from its journaled target alone (never from the playbook, which may have changed
 * or lost the section since). Targets of every step kind: Kubernetes objects `{context, apiVersion, kind, …}`,
 * DNS record sets `{provider, zone, name, type, context?}`, and `{kind: "gke.cluster" | "fleet.…" | …}`.
 */
export function placeOf(entry: ChangeEntry): ChangePlace {
  const target = entry.target ?? {};
  const text = (key: string): string | undefined => {
    const value = target[key];
    return typeof value === "string" ? value : undefined;
  };
  const context = text("context");
  const zone = target.zone as { name?: unknown } | undefined;
  if (text("provider") !== undefined && zone && typeof zone.name === "string") {
    const label = `${text("provider")} zone ${zone.name}`;
    return context === undefined ? { label } : { context, label };
  }
  const kind = text("kind") ?? "";
  if (kind === "kubeconfig") return { label: `kubeconfig ${text("file") ?? "?"}` };
  if (kind === "gke.cluster")
    return { label: `GKE cluster ${[text("project"), text("location"), text("name")].join("/")}` };
  if (kind === "sandbox.cluster") return { label: `sandbox cluster ${text("name") ?? "?"}` };
  if (kind.startsWith("fleet.")) return { label: `GKE fleet ${text("project") ?? text("name") ?? "?"}` };
  if (context !== undefined) return { context, label: `cluster ${context}` };
  return { label: "elsewhere" };
}
