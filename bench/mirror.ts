/**
 * `npm run bench`: the mirror benchmark (bench/mirror-bench.ts) on sandbox clusters. The clusters run in a child
 * process, so the peak RSS reported is clustershift's own. The same benchmark on a real control plane (etcd,
 * kube-apiserver, kube-controller-manager) is `npm run bench:real`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runMirrorBench } from "./mirror-bench.js";

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 200);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "clustershift-bench-"));
  const kubeconfig = join(dir, "kubeconfig");
  const server = await startClusters(kubeconfig);
  try {
    process.stdout.write(
      await runMirrorBench({ dir, kubeconfig, namespaces: NAMESPACES, substrate: "sandbox" }),
    );
  } finally {
    server.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
}

async function startClusters(kubeconfig: string): Promise<ChildProcess> {
  const script = join(dirname(fileURLToPath(import.meta.url)), "sandbox-server.js");
  const child = spawn(process.execPath, [script, kubeconfig, String(NAMESPACES)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the sandbox exited with ${code}`)));
    lines.once("line", () => resolve());
  });
  return child;
}

await main();
