import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { analysisGate } from "../engine/gates/analysis.js";
import { approvalGate } from "../engine/gates/approval.js";
import { pauseGate } from "../engine/gates/pause.js";
import { probeGate } from "../engine/gates/probe.js";
import { shareGate } from "../engine/gates/share.js";
import { Registry } from "../engine/registry.js";
import { enableMeshStep } from "./enable-mesh/index.js";
import { exposeTargetStep } from "./expose-target/index.js";
import { installIngressGatewayStep } from "./install-ingress-gateway/index.js";
import { cutoverDnsStep } from "./cutover-dns/index.js";
import { decommissionSourceStep } from "./decommission-source/index.js";
import { lowerDnsTtlStep } from "./lower-dns-ttl/index.js";
import { mirrorWorkloadsStep } from "./mirror-workloads/index.js";
import { provisionClusterStep } from "./provision-cluster/index.js";
import { dnsReferences, kubeAccess, trafficReferences } from "./preflight.js";
import { shiftTrafficStep } from "./shift-traffic/index.js";

/** Built-in step kinds in DESIGN.md's default order, and the built-in gates. */
export function registerBuiltins(registry: Registry): Registry {
  registry.gate(pauseGate).gate(approvalGate).gate(analysisGate).gate(probeGate).gate(shareGate);
  registry.step(provisionClusterStep).step(enableMeshStep).step(installIngressGatewayStep);
  registry.step(mirrorWorkloadsStep);
  registry.step(exposeTargetStep);
  registry.step(shiftTrafficStep);
  registry.step(lowerDnsTtlStep).step(cutoverDnsStep);
  registry.step(decommissionSourceStep);
  registry.preflight(dnsReferences).preflight(trafficReferences).preflight(kubeAccess);
  return registry;
}

/**
 * The registry of a run: the built-ins, then each module of `CLUSTERSHIFT_PLUGIN` (comma-separated paths),
 * whose `register(registry)` may add or replace step kinds and gates.
 */
export async function builtinRegistry(): Promise<Registry> {
  const registry = registerBuiltins(new Registry());
  for (const path of (process.env.CLUSTERSHIFT_PLUGIN ?? "").split(",").filter(Boolean)) {
    const plugin = (await import(pathToFileURL(resolve(path)).href)) as { register?: (r: Registry) => void };
    if (typeof plugin.register !== "function")
      throw new Error(`plugin ${path} exports no register(registry) function`);
    plugin.register(registry);
  }
  return registry;
}
