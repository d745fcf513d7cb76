import { ApisApi, type KubeConfig } from "@kubernetes/client-node";
import type { ClusterPort } from "../../src/providers/kubernetes/port.js";
import { sleep } from "../support/wait.js";

/**
 * Kinds whose objects change without anyone asking: heartbeats (Leases, renewed by the apiserver every few
 * seconds) and Events (written by controllers about anything). A read-only client cannot be told apart by them.
 */
const CHURNING = new Set(["Lease", "Event"]);

/**
 * `apiVersion kind namespace/name` → resourceVersion of every object a cluster serves (but Leases and Events),
 * read through discovery: a write of any kind by anyone shows as a changed, new or missing entry.
 */
export async function objectVersions(
  kubeConfig: KubeConfig,
  port: ClusterPort,
): Promise<Map<string, string>> {
  const groups = await kubeConfig.makeApiClient(ApisApi).getAPIVersions();
  const apiVersions = [
    "v1",
    ...groups.groups.flatMap((g) => (g.preferredVersion ? [g.preferredVersion.groupVersion] : [])),
  ];
  const versions = new Map<string, string>();
  for (const apiVersion of apiVersions) {
    for (const resource of await port.apiResources(apiVersion)) {
      if (!resource.verbs.includes("list") || CHURNING.has(resource.kind)) continue;
      for (const object of await port.list(apiVersion, resource.kind)) {
        const { namespace, name, resourceVersion } = object.metadata;
        versions.set(`${apiVersion} ${resource.kind} ${namespace ?? ""}/${name}`, resourceVersion ?? "");
      }
    }
  }
  return versions;
}

/**
 * {@link objectVersions} once the cluster has settled: two reads a second apart agree (controllers finish
 * what the seeding started, e.g. a Deployment's status), so that a later difference is someone's write.
 */
export async function settledVersions(
  kubeConfig: KubeConfig,
  port: ClusterPort,
  timeoutMs = 120_000,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let last = await objectVersions(kubeConfig, port);
  for (;;) {
    await sleep(1000);
    const next = await objectVersions(kubeConfig, port);
    if (changedEntries(last, next).length === 0) return next;
    if (Date.now() > deadline) {
      throw new Error(`the cluster did not settle: ${changedEntries(last, next).slice(0, 5).join("; ")}`);
    }
    last = next;
  }
}

/** What differs between two {@link objectVersions}: `+ key`, `- key`, `~ key (rv a → b)`. */
export function changedEntries(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, version] of after) {
    const old = before.get(key);
    if (old === undefined) changed.push(`+ ${key}`);
    else if (old !== version) changed.push(`~ ${key} (rv ${old} → ${version})`);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.push(`- ${key}`);
  return changed;
}
