import type { ReadContext } from "../../engine/types.js";
import { memoClient } from "../memo.js";
import { createSandboxProvisioner } from "./client.js";
import type { SandboxProvisionerPort } from "./port.js";

export type { SandboxCluster, SandboxProvisionerPort } from "./port.js";

/** Key in `ctx.clients`. */
export const SANDBOX_PROVISIONER_KEY = "sandbox-provisioner";

/** The control API of the sandbox behind the playbook's source context, memoized for the run. */
export function sandboxProvisioner(
  ctx: Pick<ReadContext, "clients" | "options" | "playbook">,
): SandboxProvisionerPort {
  return memoClient(ctx, SANDBOX_PROVISIONER_KEY, () =>
    createSandboxProvisioner(ctx.playbook.spec.source.context, ctx.options.kubeconfig),
  );
}
