import { UsageError } from "../../engine/errors.js";
import type { Change } from "../../engine/types.js";
import type { KubeconfigPatch } from "../../providers/kubernetes/kubeconfig-file.js";
import type { Playbook } from "../../playbook/schema.js";
import type { ClusterRef, ClusterSpec, GkeCluster } from "../../providers/gke/port.js";
import { clusterName } from "../../providers/gke/names.js";

export type ProvisionInstance =
  | { provider: "gke"; ref: ClusterRef; cluster: ClusterSpec; context: string }
  | { provider: "sandbox"; name: string; context: string };

/** What planning one provider found: the changes, and the kubeconfig entries' image the write holds to. */
export interface ProvisionPlan {
  changes: Change[];
  kubeconfigBefore: KubeconfigPatch;
}

/** A provision-cluster plan's `data`: the instance, and the plan's image of the kubeconfig entries it writes. */
export type ProvisionPlanData = ProvisionInstance & { kubeconfigBefore?: KubeconfigPatch };

/** The cluster the playbook asks for; UsageError when a gke target lacks its project or location. */
export function provisionInstance(playbook: Playbook): ProvisionInstance | undefined {
  const { target } = playbook.spec;
  const provision = target.provision;
  if (!provision) return undefined;
  if (provision.provider === "sandbox")
    return { provider: "sandbox", name: provision.name, context: target.context };
  const missing = (["project", "location"] as const).filter((key) => !provision[key]);
  if (missing.length > 0) {
    throw new UsageError(
      `spec.target.provision: provider gke needs ${missing.join(" and ")}`,
      missing.map((key) => `spec.target.provision.${key}: required for provider gke`),
    );
  }
  const project = provision.project!;
  return {
    provider: "gke",
    ref: { project, location: provision.location!, name: provision.name },
    cluster: {
      machineType: provision.machineType,
      nodeCount: provision.nodeCount,
      workloadPool: provision.workloadPool ?? `${project}.svc.id.goog`,
      ...(provision.releaseChannel ? { releaseChannel: provision.releaseChannel } : {}),
      ...(provision.labels ? { labels: provision.labels } : {}),
    },
    context: target.context,
  };
}

export function clusterAddress(ref: ClusterRef): string {
  return `gke.cluster ${clusterName(ref)}`;
}

export function describeSpec(spec: ClusterSpec): string {
  const channel = spec.releaseChannel ? `, ${spec.releaseChannel} channel` : "";
  return `${spec.machineType} × ${spec.nodeCount}, workload pool ${spec.workloadPool}${channel}`;
}

/** How an existing cluster differs from what the playbook asks for, one line per setting. */
export function clusterDrift(cluster: GkeCluster, spec: ClusterSpec): string[] {
  const lines: string[] = [];
  const compare = (what: string, actual: string | number | undefined, wanted: string | number) => {
    if (actual !== wanted)
      lines.push(`${what}: cluster has ${String(actual ?? "(none)")}, playbook asks for ${String(wanted)}`);
  };
  compare("machine type", cluster.machineType, spec.machineType);
  compare("node count", cluster.nodeCount, spec.nodeCount);
  compare("workload pool", cluster.workloadPool, spec.workloadPool);
  if (spec.releaseChannel) compare("release channel", cluster.releaseChannel, spec.releaseChannel);
  for (const [key, value] of Object.entries(spec.labels ?? {}))
    compare(`label ${key}`, cluster.labels[key], value);
  return lines;
}
