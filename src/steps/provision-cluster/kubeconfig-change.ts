import { isDeepStrictEqual } from "node:util";
import { KNOWN_AFTER_APPLY, type Change, type ReadContext, type WriteContext } from "../../engine/types.js";
import { forgetCluster } from "../../providers/kubernetes/index.js";
import {
  describeContext,
  holdsCredentials,
  kubeconfigFile,
  namesOf,
  patchKubeconfig,
  readKubeconfigEntries,
  type KubeconfigPatch,
} from "../../providers/kubernetes/kubeconfig-file.js";

export function contextAddress(context: string): string {
  return `kubeconfig context ${context}`;
}

export function contextFile(ctx: Pick<ReadContext, "options">): string {
  return kubeconfigFile(ctx.options.kubeconfig);
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
): Promise<Change> {
  const address = contextAddress(context);
  const current = await readKubeconfigEntries(contextFile(ctx), namesOf(desired));
  if (known && isDeepStrictEqual(current, desired)) return { action: "no-op", address };
  const after = known
    ? describeContext(desired, context)
    : { ...describeContext(desired, context), server: KNOWN_AFTER_APPLY };
  const before = describeContext(current, context);
  return before
    ? { action: "update", address, before, after, detail: auth }
    : { action: "create", address, after, detail: auth };
}

/**
 * Writes the entries, journaling the entries they replace (null: absent), so rollback puts the file back.
 * A client of that context memoized earlier in the run is dropped.
 */
export async function applyContext(
  ctx: WriteContext,
  context: string,
  patch: KubeconfigPatch,
): Promise<void> {
  const file = contextFile(ctx);
  const before = await readKubeconfigEntries(file, namesOf(patch));
  await ctx.change(
    {
      address: contextAddress(context),
      action: before.contexts?.[context] ? "update" : "create",
      before,
      after: patch,
      sensitive: holdsCredentials(before) || holdsCredentials(patch),
      target: { type: "kubeconfig.context", file, name: context },
    },
    () => patchKubeconfig(file, patch),
  );
  forgetCluster(ctx, context);
}

/** Puts back the entries a journaled kubeconfig change replaced; idempotent. */
export async function rollbackContext(
  ctx: WriteContext,
  file: string,
  context: string,
  before: KubeconfigPatch,
) {
  await patchKubeconfig(file, before);
  forgetCluster(ctx, context);
}
