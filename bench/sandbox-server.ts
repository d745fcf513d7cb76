/**
 * The benchmark's clusters, in a process of their own so that the benchmark's peak RSS is clustershift's alone:
 * starts `source`, `target`, `kubectl` and `raw`, seeds the source, writes the kubeconfig to argv[2], says `ready`.
 */
import { startSandbox } from "../src/sandbox/index.js";
import { benchNamespaces, namespaceObject, namespaceObjects } from "./workload.js";

const [kubeconfigPath, count = "200", readyDelayMs = "50"] = process.argv.slice(2);
if (!kubeconfigPath) throw new Error("usage: sandbox-server KUBECONFIG [NAMESPACES] [READY_DELAY_MS]");

const sandbox = await startSandbox({
  clusters: ["source", "target", "kubectl", "raw"],
  readyDelayMs: Number(readyDelayMs),
});
const source = sandbox.clusters.get("source");
if (!source) throw new Error("no source cluster");
let objects = 0;
for (const ns of benchNamespaces(Number(count))) {
  for (const object of [namespaceObject(ns), ...namespaceObjects(ns)]) {
    source.apply(object, "kubectl");
    objects++;
  }
}
await sandbox.writeKubeconfig(kubeconfigPath);
process.stdout.write(JSON.stringify({ ready: true, objects }) + "\n");
const stop = (): void => {
  void sandbox.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
