/**
 * The mirror benchmark (bench/mirror-bench.ts) against a real control plane: two clusters, each etcd +
 * kube-apiserver + kube-controller-manager (whose namespace controller empties the namespaces rollback deletes),
 * with the fake kubelet readying the mirrored Deployments' Pods. `raw` and `kubectl` are contexts of the target's
 * server, with namespaces of their own. Everything runs as a user outside system:masters, bound to cluster-admin:
 * system:masters is exempt from API priority and fairness, so only another user meets the server's 429s.
 * Run with `npm run bench:real`; BENCH_NAMESPACES sets the size (default 200, as on the sandbox), and
 * BENCH_APISERVER_ARGS adds kube-apiserver flags (its in-flight limits).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runMirrorBench } from "../../bench/mirror-bench.js";
import { benchNamespaces, namespaceObject, namespaceObjects } from "../../bench/workload.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { mapLimit } from "../../src/providers/kubernetes/concurrency.js";
import { renderKubeconfig } from "../../src/sandbox/kubeconfig.js";
import { startRealClusters } from "../support/control-plane.js";

const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 200);
const TOKEN = "bench-operator-0123456789abcdef";

it("mirror benchmark on a real kube-apiserver", async () => {
  const clusters = await startRealClusters({
    clusters: ["source", "target"],
    istio: false,
    users: [{ token: TOKEN, name: "bench", groups: ["bench-operators"] }],
    // E.g. `--max-requests-inflight=5 --max-mutating-requests-inflight=5`: priority and fairness then has a few
    // seats to share and answers 429 to what its queues cannot hold, which the client must obey and adapt to.
    apiserverArgs: (process.env.BENCH_APISERVER_ARGS ?? "").split(/\s+/).filter(Boolean),
  });
  try {
    const server = (name: string) => clusters.kubeConfig(name).getCurrentCluster()?.server ?? "";
    for (const name of clusters.names) {
      const admin = createClusterClient(name, { kubeconfig: clusters.kubeconfigPath });
      await admin.apply({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "bench-operators-admin" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "bench-operators" }],
      });
      admin.close();
    }
    const kubeconfig = join(clusters.dir, "bench.kubeconfig");
    await writeFile(
      kubeconfig,
      renderKubeconfig(
        [
          ["source", "source"],
          ["target", "target"],
          ["raw", "target"],
          ["kubectl", "target"],
        ].map(([name, cluster]) => ({
          name: name as string,
          server: server(cluster as string),
          token: TOKEN,
        })),
      ),
    );
    // The source's workload, as someone's kubectl apply left it.
    const source = createClusterClient("source", { kubeconfig, fieldManager: "kubectl" });
    const namespaces = benchNamespaces(NAMESPACES);
    await mapLimit(namespaces, 16, (ns) => source.apply(namespaceObject(ns)));
    await mapLimit(
      namespaces.flatMap((ns) => namespaceObjects(ns)),
      16,
      (object) => source.apply(object),
    );
    source.close();

    const report = await runMirrorBench({
      dir: clusters.dir,
      kubeconfig,
      namespaces: NAMESPACES,
      substrate: "real kube-apiserver",
    });
    console.log(report);
    expect(report).toContain("rollback of the mirror");
  } finally {
    await clusters.stop();
  }
});
