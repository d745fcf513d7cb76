import { writeFile } from "node:fs/promises";
import { SandboxClusterServer, type ControlPlane, type SandboxCluster } from "./cluster.js";
import { istioCrds } from "./crds.js";
import type { SandboxExtension } from "./extension.js";
import type { JsonObject } from "./json.js";
import { renderKubeconfig, type KubeconfigOptions } from "./kubeconfig.js";
import { badRequest, conflict } from "./status.js";

export type { SandboxCluster, RequestRecord } from "./cluster.js";
export type { FaultConfig } from "./faults.js";
export type { KubeconfigOptions } from "./kubeconfig.js";
export type { SandboxExtension } from "./extension.js";
export { NEVER_READY_ANNOTATION } from "./controllers.js";

export interface SandboxOptions {
  /** Cluster (and context) names; default ["source", "target"]. */
  clusters?: string[];
  /** Istio's CRDs in every cluster: those the package ships (`true`, Istio's own crd-all.gen.yaml) or a YAML text's. */
  istio?: boolean | { crdYaml: string };
  /** How long workloads take to become ready; default 150 ms. */
  readyDelayMs?: number;
  /** How long a LoadBalancer Service waits for its external IP; default 200 ms. */
  loadBalancerDelayMs?: number;
  /** How long a deleted namespace stays Terminating before it and its content are gone; default 50 ms. */
  namespaceDeletionDelayMs?: number;
  extensions?: SandboxExtension[];
}

export interface Sandbox {
  readonly clusters: ReadonlyMap<string, SandboxCluster>;
  /** A new cluster on a new port; with the sandbox's Istio CRDs unless `istio: false`. */
  addCluster(name: string, options?: { istio?: boolean }): Promise<SandboxCluster>;
  /** Stops and forgets a cluster; false when there was none. */
  removeCluster(name: string): Promise<boolean>;
  /** YAML, one context per cluster named after it, current-context the first; https URLs unless asked. */
  kubeconfig(options?: KubeconfigOptions): string;
  writeKubeconfig(path: string, options?: KubeconfigOptions): Promise<void>;
  stop(): Promise<void>;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

class SandboxImpl implements Sandbox, ControlPlane {
  private readonly members = new Map<string, SandboxClusterServer>();
  private readonly pending = new Set<string>();
  private stopped = false;
  readonly extensions: readonly SandboxExtension[];
  private readonly crds: JsonObject[];

  constructor(private readonly options: SandboxOptions) {
    this.extensions = options.extensions ?? [];
    this.crds = istioCrds(options.istio);
  }

  get clusters(): ReadonlyMap<string, SandboxCluster> {
    return this.members;
  }

  clusterServers(): readonly SandboxClusterServer[] {
    return [...this.members.values()];
  }

  async addCluster(name: string, options: { istio?: boolean } = {}): Promise<SandboxClusterServer> {
    if (this.stopped) throw new Error("the sandbox is stopped");
    if (!CLUSTER_NAME.test(name) || name.length > 63) {
      throw badRequest(`cluster name "${name}" must be a lowercase RFC 1123 label`);
    }
    if (this.members.has(name) || this.pending.has(name)) {
      throw conflict(
        { group: "sandbox.clustershift.dev", plural: "clusters" },
        name,
        "a cluster with this name exists",
      );
    }
    this.pending.add(name);
    try {
      const crds = options.istio === false ? [] : this.crds;
      const cluster = await SandboxClusterServer.start(
        name,
        {
          readyDelayMs: this.options.readyDelayMs ?? 150,
          loadBalancerDelayMs: this.options.loadBalancerDelayMs ?? 200,
          namespaceDeletionDelayMs: this.options.namespaceDeletionDelayMs ?? 50,
        },
        this,
        crds,
      );
      this.members.set(name, cluster);
      return cluster;
    } finally {
      this.pending.delete(name);
    }
  }

  async removeCluster(name: string): Promise<boolean> {
    const cluster = this.members.get(name);
    if (!cluster) return false;
    this.members.delete(name);
    await cluster.stop();
    return true;
  }

  kubeconfig(options: KubeconfigOptions = {}): string {
    return renderKubeconfig([...this.members.values()].map((c) => c.kubeconfigEntry(options)));
  }

  async writeKubeconfig(path: string, options: KubeconfigOptions = {}): Promise<void> {
    await writeFile(path, this.kubeconfig(options), { mode: 0o600 });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const clusters = [...this.members.values()];
    this.members.clear();
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

/** Starts local simulated Kubernetes clusters, each an API server on its own 127.0.0.1 port. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = new SandboxImpl(options);
  try {
    for (const name of options.clusters ?? ["source", "target"]) await sandbox.addCluster(name);
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  return sandbox;
}
