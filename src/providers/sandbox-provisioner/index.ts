import type { ReadContext } from "../../engine/types.js";
import { createSandboxProvisioner } from "./client.js";
import type { SandboxProvisionerPort } from "./port.js";

export type { SandboxCluster, SandboxProvisionerPort } from "./port.js";
export { sandboxControlApi } from "./client.js";

/** Key in `ctx.clients`. */
export const SANDBOX_PROVISIONER_KEY = "sandbox-provisioner";

/** The control API of the sandbox behind the playbook's source context, memoized for the run. */
export function sandboxProvisioner(
  ctx: Pick<ReadContext, "clients" | "options" | "playbook">,
): SandboxProvisionerPort {
  const known = ctx.clients.get(SANDBOX_PROVISIONER_KEY) as SandboxProvisionerPort | undefined;
  if (known) return known;
  const created = createSandboxProvisioner(ctx.playbook.spec.source.context, ctx.options.kubeconfig);
  ctx.clients.set(SANDBOX_PROVISIONER_KEY, created);
  return created;
}
