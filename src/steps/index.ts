import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { approvalGate } from "../engine/gates/approval.js";
import { pauseGate } from "../engine/gates/pause.js";
import { Registry } from "../engine/registry.js";

/** Built-in step kinds in DESIGN.md's default order, and the built-in gates. */
export function registerBuiltins(registry: Registry): Registry {
  registry.gate(pauseGate).gate(approvalGate);
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
    if (typeof plugin.register !== "function") throw new Error(`plugin ${path} exports no register(registry) function`);
    plugin.register(registry);
  }
  return registry;
}
