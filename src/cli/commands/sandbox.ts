import { createSandboxDns } from "../../sandbox/dns/index.js";
import { startSandbox } from "../../sandbox/index.js";

export interface RunSandboxOptions {
  kubeconfig: string;
  clusters: string[];
  istio: boolean;
  /** Stops the sandbox like SIGINT/SIGTERM do (tests). */
  signal?: AbortSignal;
}

/**
 * `clustershift sandbox`: starts local simulated clusters, writes their kubeconfig and serves in the foreground
 * until SIGINT/SIGTERM (or `signal`), then stops cleanly. Tokens stay in the kubeconfig file, never in output.
 */
export async function runSandbox(opts: RunSandboxOptions, out: (line: string) => void): Promise<void> {
  // The sandbox DNS (`dns.provider: sandbox`) lives on the same ports, so a rehearsal can cut DNS over too.
  const sandbox = await startSandbox({
    clusters: opts.clusters,
    istio: opts.istio,
    extensions: [createSandboxDns()],
  });
  try {
    await sandbox.writeKubeconfig(opts.kubeconfig);
    out(`Sandbox running: ${sandbox.clusters.size} cluster(s)${opts.istio ? " with Istio CRDs" : ""}.`);
    for (const cluster of sandbox.clusters.values()) out(`  context ${cluster.name}: ${cluster.httpsServer}`);
    out(`Kubeconfig written to ${opts.kubeconfig}.`);
    out(
      "Sandbox DNS (playbook dns.provider: sandbox): add zones with POST /sandbox/v1/dns/zones on any context's server.",
    );
    const first = opts.clusters[0] ?? "source";
    out(`Try: kubectl --kubeconfig ${opts.kubeconfig} --context ${first} get ns`);
    out(`Or:  export KUBECONFIG=${opts.kubeconfig}`);
    out("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        opts.signal?.removeEventListener("abort", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      if (opts.signal?.aborted) stop();
      else opts.signal?.addEventListener("abort", stop);
    });
    out("Stopping the sandbox.");
  } finally {
    await sandbox.stop();
  }
}
