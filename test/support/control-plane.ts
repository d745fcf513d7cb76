import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, inject } from "vitest";
import { renderKubeconfig } from "../../src/sandbox/kubeconfig.js";
import { startFakeKubelet, type FakeKubelet } from "./fake-kubelet.js";
import { fixturePath } from "./fixtures.js";
import { freePort } from "./net.js";
import { startServerProcess, type ServerProcess } from "./process.js";
import { tempDir } from "./temp.js";
import { eventually } from "./wait.js";

/**
 * Real Kubernetes clusters on 127.0.0.1, each its own etcd, kube-apiserver and kube-controller-manager (built by
 * tools/oracles from the Go module proxy, or taken from KUBEBUILDER_ASSETS), with a test-only fake kubelet that
 * binds and readies Pods and gives LoadBalancer Services an address. The judge of every Kubernetes-facing suite:
 * where it and the sandbox disagree, it is right.
 */
export interface RealClusters {
  /** A kubeconfig with one context per cluster (token auth, the server's self-signed certificate skipped). */
  readonly kubeconfigPath: string;
  readonly dir: string;
  readonly names: readonly string[];
  /** One KubeConfig per cluster (client-node reads the current context's credentials on every request). */
  kubeConfig(name: string): KubeConfig;
  stop(): Promise<void>;
}

export interface RealClustersOptions {
  /** Cluster (and context) names; default ["source", "target"]. */
  clusters?: string[];
  /** Install Istio's own CRDs (fixtures/istio/crd-all.gen.yaml, CEL rules included); default true. */
  istio?: boolean;
  /** More kube-apiserver flags (e.g. its in-flight limits). */
  apiserverArgs?: string[];
  /**
   * More users of the token file. The test's admin is in system:masters, which every in-flight limit (API
   * priority and fairness, the max-in-flight filter) exempts: a user to be limited must be someone else.
   */
  users?: { token: string; name: string; groups: string[] }[];
}

/** Where the built oracles are, as the global setup found or built them. */
export function oracleAssets(): string {
  const assets = inject("oracles").assets;
  if (!assets) throw new Error("the global setup found no control-plane binaries");
  return assets;
}

interface Member {
  name: string;
  server: string;
  token: string;
  processes: ServerProcess[];
  kubelet?: FakeKubelet;
}

export async function startRealClusters(options: RealClustersOptions = {}): Promise<RealClusters> {
  const names = options.clusters ?? ["source", "target"];
  const dir = await tempDir("control-plane");
  const assets = oracleAssets();
  const members: Member[] = [];
  const stop = async () => {
    await Promise.all(members.map(async (m) => m.kubelet?.stop()));
    // kube-controller-manager and kube-apiserver before etcd: they would log connection errors at length.
    for (const layer of [2, 1, 0]) await Promise.all(members.map(async (m) => m.processes[layer]?.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // One after another: on a 2-core machine, two apiservers starting at once take longer than in turn.
    for (const [index, name] of names.entries()) {
      const member: Member = { name, server: "", token: randomBytes(16).toString("hex"), processes: [] };
      members.push(member);
      // A port found free can still be taken before the server binds it (by another test's server): start again.
      for (let attempt = 1; ; attempt++) {
        try {
          await startCluster(member, join(dir, name), assets, index, options);
          break;
        } catch (error) {
          if (attempt === 3 || !String(error).includes("address already in use")) throw error;
          for (const process of member.processes.splice(0).reverse()) await process.stop();
          await rm(join(dir, name), { recursive: true, force: true });
        }
      }
    }
    const kubeconfigPath = join(dir, "kubeconfig");
    await writeFile(kubeconfigPath, kubeconfigText(members));
    const kubeConfig = (name: string) => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      kc.setCurrentContext(name);
      return kc;
    };
    for (const [index, member] of members.entries()) {
      member.kubelet = await startFakeKubelet(kubeConfig(member.name), { addressBlock: index + 1 });
    }
    if (options.istio ?? true) {
      await Promise.all(names.map((name) => installIstioCrds(kubeconfigPath, name, dir)));
    }
    return { kubeconfigPath, dir, names, kubeConfig, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts real clusters before the file's tests and stops them after; call the returned function inside tests. */
export function useRealClusters(options: RealClustersOptions = {}): () => RealClusters {
  let current: RealClusters | undefined;
  beforeAll(async () => {
    current = await startRealClusters(options);
  }, 240_000);
  afterAll(async () => {
    await current?.stop();
  }, 60_000);
  return () => {
    if (!current) throw new Error("the real clusters are not started yet (use them inside a test or hook)");
    return current;
  };
}

async function startCluster(
  member: Member,
  dir: string,
  assets: string,
  index: number,
  options: RealClustersOptions,
): Promise<void> {
  await mkdir(join(dir, "certs"), { recursive: true });
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  await writeFile(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  const users = (options.users ?? []).map(
    (user) => `${user.token},${user.name},${user.name}-uid,"${user.groups.join(",")}"\n`,
  );
  await writeFile(
    join(dir, "tokens.csv"),
    `${member.token},admin,admin-uid,"system:masters"\n${users.join("")}`,
  );

  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  member.processes.push(
    await startServerProcess(
      join(assets, "etcd"),
      [
        `--name=${member.name}`,
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=${member.name}=http://127.0.0.1:${etcdPeer}`,
        // Test data: an fsync per write would make the suites slow on a busy disk and proves nothing here.
        "--unsafe-no-fsync",
        "--log-level=error",
      ],
      async () => (await fetch(`${etcdUrl}/health`)).ok,
      60_000,
    ),
  );

  member.server = `https://127.0.0.1:${apiPort}`;
  member.processes.push(
    await startServerProcess(
      join(assets, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, "certs")}`,
        `--service-cluster-ip-range=10.${96 + index}.0.0/16`,
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${join(dir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(dir, "sa.key")}`,
        "--allow-privileged=true",
        // The `kubernetes` Service's endpoints cannot be a loopback address (envtest does the same).
        "--endpoint-reconciler-type=none",
        "--v=0",
        ...(options.apiserverArgs ?? []),
      ],
      () => healthy(member.server, member.token),
      180_000,
    ),
  );

  const kcmKubeconfig = join(dir, "kcm.kubeconfig");
  await writeFile(kcmKubeconfig, kubeconfigText([member]));
  member.processes.push(
    await startServerProcess(
      join(assets, "kube-controller-manager"),
      [
        `--kubeconfig=${kcmKubeconfig}`,
        "--leader-elect=false",
        "--secure-port=0",
        // No real kubelet sends heartbeats: the node lifecycle controller would evict every Pod of the fake node.
        "--controllers=*,-nodelifecycle,-nodeipam",
        `--service-account-private-key-file=${join(dir, "sa.key")}`,
        `--root-ca-file=${join(dir, "certs", "apiserver.crt")}`,
        "--use-service-account-credentials=false",
        "--concurrent-deployment-syncs=10",
        "--concurrent-replicaset-syncs=10",
        "--v=0",
      ],
      // Ready once its service-account controller has given the default namespace its ServiceAccount.
      () => exists(member.server, member.token, "/api/v1/namespaces/default/serviceaccounts/default"),
      120_000,
    ),
  );
}

function kubeconfigText(members: readonly Pick<Member, "name" | "server" | "token">[]): string {
  return renderKubeconfig(members.map((m) => ({ name: m.name, server: m.server, token: m.token })));
}

function get(server: string, token: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server}${path}`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function healthy(server: string, token: string): Promise<boolean> {
  return (await get(server, token, "/readyz")) === 200;
}

async function exists(server: string, token: string, path: string): Promise<boolean> {
  return (await get(server, token, path)) === 200;
}

const run = promisify(execFile);

/** Istio's own CRDs through the real kubectl, then waits until every CRD is Established. */
async function installIstioCrds(kubeconfigPath: string, context: string, dir: string): Promise<void> {
  const base = ["--kubeconfig", kubeconfigPath, "--context", context, "--cache-dir", join(dir, "kube-cache")];
  await run("kubectl", [...base, "apply", "--server-side", "-f", fixturePath("istio/crd-all.gen.yaml")], {
    maxBuffer: 16 * 1024 * 1024,
  });
  let last = "";
  await eventually(
    async () => {
      try {
        const { stdout } = await run("kubectl", [
          ...base,
          "wait",
          "--for=condition=Established",
          "crd",
          "--all",
          "--timeout=60s",
        ]);
        return stdout.length > 0 || undefined;
      } catch (error) {
        // A CRD the server has not given a status yet fails `kubectl wait` at once: ask again.
        last = error instanceof Error ? error.message : String(error);
        return undefined;
      }
    },
    120_000,
    { intervalMs: 500, message: () => `Istio's CRDs were not Established within 120 s: ${last}` },
  );
}
