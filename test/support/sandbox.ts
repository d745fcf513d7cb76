import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll } from "vitest";
import {
  startSandbox,
  type Sandbox,
  type SandboxCluster,
  type SandboxOptions,
} from "../../src/sandbox/index.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";

/** A Namespace object, with `labels`. */
export function namespaceObject(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

/** Applies `objects` in order as `fieldManager` (the sandbox's own when absent); returns what was stored. */
export function seed(cluster: SandboxCluster, objects: KubeObject[], fieldManager?: string): KubeObject[] {
  return objects.map((object) => cluster.apply(object, fieldManager));
}

export interface TestSandbox {
  readonly sandbox: Sandbox;
  /** A kubeconfig with one context per cluster, written in `dir`. */
  readonly kubeconfigPath: string;
  /** A temporary directory removed by `stop`. */
  readonly dir: string;
  cluster(name: string): SandboxCluster;
  /** A client-node KubeConfig for one cluster (one instance per cluster: client-node reads the current context). */
  kubeConfig(name: string): KubeConfig;
  /** Rewrites the kubeconfig (after `sandbox.addCluster`). */
  refreshKubeconfig(): Promise<void>;
  stop(): Promise<void>;
}

export async function withSandbox(options: SandboxOptions = {}): Promise<TestSandbox> {
  const dir = await mkdtemp(join(tmpdir(), "clustershift-sandbox-"));
  const sandbox = await startSandbox(options);
  const kubeconfigPath = join(dir, "kubeconfig");
  await sandbox.writeKubeconfig(kubeconfigPath);
  return {
    sandbox,
    kubeconfigPath,
    dir,
    cluster(name) {
      const cluster = sandbox.clusters.get(name);
      if (!cluster) throw new Error(`no sandbox cluster ${name}`);
      return cluster;
    },
    kubeConfig(name) {
      const kc = new KubeConfig();
      kc.loadFromString(sandbox.kubeconfig());
      kc.setCurrentContext(name);
      return kc;
    },
    refreshKubeconfig: () => sandbox.writeKubeconfig(kubeconfigPath),
    async stop() {
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a sandbox before the file's tests and stops it after; call the returned function inside tests. */
export function useSandbox(options: SandboxOptions = {}): () => TestSandbox {
  let current: TestSandbox | undefined;
  beforeAll(async () => {
    current = await withSandbox(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return () => {
    if (!current) throw new Error("the sandbox is not started yet (use it inside a test or hook)");
    return current;
  };
}

let kubectlFound: boolean | undefined;

export function hasKubectl(): boolean {
  if (kubectlFound === undefined) {
    try {
      execFileSync("kubectl", ["version", "--client"], { stdio: "ignore", timeout: 20_000 });
      kubectlFound = true;
    } catch {
      kubectlFound = false;
    }
  }
  return kubectlFound;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real kubectl against a kubeconfig, with its discovery cache next to the kubeconfig (never ~/.kube).
 * Never throws on a non-zero exit: check `code`.
 */
export function kubectl(
  kubeconfigPath: string,
  args: string[],
  options: { context?: string; input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  const cacheDir = join(resolve(kubeconfigPath, ".."), "kube-cache");
  const full = ["--kubeconfig", kubeconfigPath, "--cache-dir", cacheDir];
  if (options.context) full.push("--context", options.context);
  full.push(...args);
  return new Promise((done, fail) => {
    const child = execFile(
      "kubectl",
      full,
      {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, KUBECONFIG: kubeconfigPath },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          fail(new Error(`kubectl did not run: ${error.message}`, { cause: error }));
          return;
        }
        done({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
