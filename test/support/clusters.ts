import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll } from "vitest";
import type { KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { startRealClusters } from "./control-plane.js";
import { istioCrdYaml } from "./fixtures.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { withSandbox } from "./sandbox.js";

/**
 * The two substrates a Kubernetes-facing suite runs on, with the same assertions: the sandbox (fast, ours) and a
 * real kube-apiserver with etcd and kube-controller-manager (the judge). Suites use `describe.each(SUBSTRATES)`;
 * test names carry the substrate, so the run's summary counts the tests that a real control plane judged.
 */
export const SUBSTRATES = ["sandbox", "real kube-apiserver"] as const;
export type Substrate = (typeof SUBSTRATES)[number];

export interface TestClusters {
  readonly substrate: Substrate;
  /** A kubeconfig with contexts `source` and `target` (or the names asked for). */
  readonly kubeconfigPath: string;
  /** A temp directory, removed by `stop`. */
  readonly dir: string;
  /** The sandbox itself on the sandbox substrate (its fault injection, request log); undefined on a real one. */
  readonly sandbox: Sandbox | undefined;
  kubeConfig(context: string): KubeConfig;
  /** A clustershift client (the product's own) for one context. */
  client(context: string): KubeClusterClient;
  /** Server-side apply of each object in order, as `fieldManager` (default `kubectl`), as a user's seed would. */
  seed(context: string, objects: readonly KubeObject[], fieldManager?: string): Promise<KubeObject[]>;
  stop(): Promise<void>;
}

export interface TestClustersOptions {
  clusters?: string[];
  /** Istio's own CRDs in every cluster; default true. */
  istio?: boolean;
  /** Sandbox only: how long its simulated workloads take to become ready. */
  readyDelayMs?: number;
}

export async function startClusters(
  substrate: Substrate,
  options: TestClustersOptions = {},
): Promise<TestClusters> {
  const istio = options.istio ?? true;
  const base =
    substrate === "sandbox"
      ? await withSandbox({
          ...(options.clusters ? { clusters: options.clusters } : {}),
          ...(istio ? { istio: { crdYaml: istioCrdYaml() } } : {}),
          readyDelayMs: options.readyDelayMs ?? 50,
        })
      : await startRealClusters({ ...(options.clusters ? { clusters: options.clusters } : {}), istio });
  const clients = new Map<string, KubeClusterClient>();
  const kubeConfig = (context: string) => base.kubeConfig(context);
  return {
    substrate,
    kubeconfigPath: base.kubeconfigPath,
    dir: base.dir,
    sandbox: "sandbox" in base ? base.sandbox : undefined,
    kubeConfig,
    client(context) {
      let client = clients.get(context);
      if (!client) {
        client = createClusterClient(context, { kubeconfig: base.kubeconfigPath });
        clients.set(context, client);
      }
      return client;
    },
    async seed(context, objects, fieldManager = "kubectl") {
      // The product's client, not client-node's KubernetesObjectApi: that one turns timestamps into Dates and
      // drops fields its models do not know (a CRD's status.observedGeneration came back refused with 422).
      const seeder = createClusterClient(context, { kubeconfig: base.kubeconfigPath, fieldManager });
      const stored: KubeObject[] = [];
      for (const object of objects) stored.push(await seeder.apply(object));
      return stored;
    },
    stop: () => base.stop(),
  };
}

/** Starts clusters on `substrate` before the enclosing block's tests and stops them after. */
export function useClusters(substrate: Substrate, options: TestClustersOptions = {}): () => TestClusters {
  let current: TestClusters | undefined;
  beforeAll(async () => {
    current = await startClusters(substrate, options);
  }, 240_000);
  afterAll(async () => {
    await current?.stop();
  }, 60_000);
  return () => {
    if (!current) throw new Error("the clusters are not started yet (use them inside a test or hook)");
    return current;
  };
}
