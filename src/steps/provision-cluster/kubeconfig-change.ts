import { isDeepStrictEqual } from "node:util";
import { KNOWN_AFTER_APPLY, type Change, type ReadContext, type WriteContext } from "../../engine/types.js";
import {
  describeContext,
  kubeconfigFile,
  type KubeconfigPatch,
} from "../../providers/kubernetes/kubeconfig-file.js";
import {
  kubeconfigContextResource,
  readEntries,
  redactedEntries,
} from "../../resources/kubeconfig-context.js";

export function contextAddress(context: string): string {
  return `kubeconfig context ${context}`;
}

export function contextFile(ctx: Pick<ReadContext, "options">): string {
  return kubeconfigFile(ctx.options.kubeconfig);
}

/** The planned change of a kubeconfig context, with the image of its entries the write holds the file to. */
export interface PlannedContext {
  change: Change;
  /** The entries as the plan found them (null: absent), credentials as digests: safe in a saved plan. */
  before: KubeconfigPatch;
}

/**
 * The change to the kubeconfig context: `desired` is the patch when the cluster is known, else only its entry
 * names (server and credentials are known after apply).
 */
export async function planContext(
  ctx: Pick<ReadContext, "options">,
  context: string,
  desired: KubeconfigPatch,
  known: boolean,
  auth: string,
): Promise<PlannedContext> {
  const address = contextAddress(context);
  const current = await readEntries(contextFile(ctx), desired);
  const before = redactedEntries(current);
  if (known && isDeepStrictEqual(current, desired)) return { change: { action: "no-op", address }, before };
  const after = known
    ? describeContext(desired, context)
    : { ...describeContext(desired, context), server: KNOWN_AFTER_APPLY };
  const described = describeContext(current, context);
  return {
    change: described
      ? { action: "update", address, before: described, after, detail: auth }
      : { action: "create", address, after, detail: auth },
    before,
  };
}

/**
 * Writes the entries through the kubeconfig.context resource when the plan changes them: compare-and-swap on
 * the plan's image of them, journaling the entries they replace, so rollback puts the file back.
 */
export async function applyContext(
  ctx: WriteContext,
  changes: Change[],
  planned: KubeconfigPatch | undefined,
  context: string,
  patch: KubeconfigPatch,
): Promise<void> {
  const address = contextAddress(context);
  const change = changes.find((c) => c.address === address);
  if (change?.action !== "create" && change?.action !== "update") return;
  await kubeconfigContextResource.write(
    {
      address,
      action: change.action,
      target: { type: "kubeconfig.context", file: contextFile(ctx), name: context },
      // A plan made before plans kept the image (none today: the executor re-plans before apply) holds to now.
      before: planned ?? redactedEntries(await readEntries(contextFile(ctx), patch)),
      after: patch,
    },
    ctx,
  );
}
