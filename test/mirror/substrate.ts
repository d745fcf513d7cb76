import { readFile, writeFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import type {
  ApiResource,
  ClusterPort,
  KubeObject,
  ListOptions,
  ObjectRef,
} from "../../src/providers/kubernetes/port.js";

/** One `list` a step made: the kind, and the namespace when it was not cluster-wide. */
export interface ListCall {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

/**
 * A cluster port that records the lists and rollout waits it is asked for and hands every call to `port`: what
 * a step reads and waits for, on either substrate (the sandbox's request log has no counterpart on a real
 * kube-apiserver without audit).
 */
export class RecordingPort implements ClusterPort {
  readonly lists: ListCall[] = [];
  /** `Kind namespace/name` of each rollout waited for. */
  readonly rolloutWaits: string[] = [];

  constructor(private readonly port: ClusterPort) {}

  get context(): string {
    return this.port.context;
  }

  get(ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.port.get(ref);
  }

  list(apiVersion: string, kind: string, options: ListOptions = {}): Promise<KubeObject[]> {
    this.lists.push({ apiVersion, kind, ...(options.namespace ? { namespace: options.namespace } : {}) });
    return this.port.list(apiVersion, kind, options);
  }

  apply(object: KubeObject): Promise<KubeObject> {
    return this.port.apply(object);
  }

  create(object: KubeObject): Promise<KubeObject> {
    return this.port.create(object);
  }

  replace(object: KubeObject, options?: { resourceVersion?: string }): Promise<KubeObject> {
    return this.port.replace(object, options);
  }

  delete(ref: ObjectRef): Promise<boolean> {
    return this.port.delete(ref);
  }

  servedVersions(group: string): Promise<string[]> {
    return this.port.servedVersions(group);
  }

  apiResources(apiVersion: string): Promise<ApiResource[]> {
    return this.port.apiResources(apiVersion);
  }

  waitForRollout(ref: ObjectRef, timeoutMs: number, onProgress: (detail: string) => void): Promise<void> {
    this.rolloutWaits.push(`${ref.kind} ${ref.namespace ?? ""}/${ref.name}`);
    return this.port.waitForRollout(ref, timeoutMs, onProgress);
  }

  waitFor<T>(
    ref: ObjectRef,
    ready: (object: KubeObject | undefined) => T | undefined,
    timeoutMs: number,
    onProgress: (detail: string) => void,
  ): Promise<T> {
    return this.port.waitFor(ref, ready, timeoutMs, onProgress);
  }
}

interface Named {
  name: string;
}

/** Writes to `to` the kubeconfig at `from` with only `context` (its cluster and user): a cluster not made yet. */
export async function kubeconfigWithOnly(from: string, context: string, to: string): Promise<void> {
  const config = parse(await readFile(from, "utf8")) as {
    clusters: Named[];
    users: Named[];
    contexts: (Named & { context: { cluster: string; user: string } })[];
  };
  const kept = config.contexts.find((c) => c.name === context);
  if (!kept) throw new Error(`no context ${context} in ${from}`);
  await writeFile(
    to,
    stringify({
      ...config,
      clusters: config.clusters.filter((c) => c.name === kept.context.cluster),
      users: config.users.filter((u) => u.name === kept.context.user),
      contexts: [kept],
      "current-context": context,
    }),
  );
}
