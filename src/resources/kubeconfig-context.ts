import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { DriftError } from "../engine/errors.js";
import { targetOf, type KubeconfigContextTarget } from "../engine/targets.js";
import type { ReadContext } from "../engine/types.js";
import { forgetCluster } from "../providers/kubernetes/index.js";
import {
  holdsCredentials,
  namesOf,
  patchKubeconfig,
  readKubeconfigEntries,
  type KubeconfigPatch,
} from "../providers/kubernetes/kubeconfig-file.js";
import { differingPaths, type Resource, type ResourceChange } from "./resource.js";

/**
 * A kubeconfig context's change. `after` is the patch to write (its entry names: the context, its cluster and
 * user); `before` the plan's image of those entries (null: absent), whole or {@link redactedEntries}: the
 * compare-and-swap holds either against the file.
 */
export type KubeconfigContextChange = ResourceChange<KubeconfigContextTarget, KubeconfigPatch>;

const CREDENTIAL_KEYS = new Set(["token", "password", "client-key-data", "client-key"]);
const DIGEST = "sha256:";

/**
 * The entries with each credential replaced by its digest: what a plan (which may be saved to a file) keeps to
 * compare against, without the secret. Redacting a redacted image changes nothing.
 */
export function redactedEntries(patch: KubeconfigPatch): KubeconfigPatch {
  const redact = (value: unknown, key?: string): unknown => {
    if (typeof value === "string" && key !== undefined && CREDENTIAL_KEYS.has(key))
      return value.startsWith(DIGEST)
        ? value
        : `${DIGEST}${createHash("sha256").update(value).digest("hex").slice(0, 16)}`;
    if (Array.isArray(value)) return value.map((item) => redact(item));
    if (typeof value === "object" && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
    return value;
  };
  return redact(patch) as KubeconfigPatch;
}

/** The current values of the entries `patch` names (null where absent). */
export function readEntries(file: string, patch: KubeconfigPatch): Promise<KubeconfigPatch> {
  return readKubeconfigEntries(file, namesOf(patch));
}

/**
 * A context with its cluster and user entries in a kubeconfig file. `write` sets the entries while the file
 * still holds the plan's before-image of them (someone edited the context, its server or its credentials
 * since: DriftError naming the entries, nothing written), journaling the entries it replaces; a file that
 * already holds `after` is left alone. `revert` writes the journaled before-image back (absent entries are
 * removed), which is the same file however often it runs. A client of that context memoized in the run is
 * dropped either way, so the next call reads the file again.
 */
export const kubeconfigContextResource: Resource<KubeconfigContextTarget, KubeconfigPatch> = {
  type: "kubeconfig.context",

  async read(target: KubeconfigContextTarget, _ctx: ReadContext) {
    const entries = await readKubeconfigEntries(target.file, {
      clusters: [],
      users: [],
      contexts: [target.name],
    });
    const context = entries.contexts?.[target.name];
    if (!context) return undefined;
    const cluster = typeof context.cluster === "string" ? [context.cluster] : [];
    const user = typeof context.user === "string" ? [context.user] : [];
    return readKubeconfigEntries(target.file, { clusters: cluster, users: user, contexts: [target.name] });
  },

  async write(change, ctx) {
    const after = change.after;
    if (!after) throw new Error(`${change.address}: ${change.action} without an after-image: this is a bug`);
    const file = change.target.file;
    const live = await readEntries(file, after);
    if (isDeepStrictEqual(live, after)) return;
    const expected = change.before ?? absent(after);
    const paths = differingPaths(redactedEntries(expected), redactedEntries(live));
    if (paths.length > 0) {
      throw new DriftError(
        `${change.address} in ${file} changed since the plan: ${paths.join(", ")} differ from the plan's. ` +
          "Nothing was written; run `clustershift plan` again to see the change against what is there now.",
      );
    }
    await ctx.change(
      {
        address: change.address,
        action: live.contexts?.[change.target.name] ? "update" : "create",
        before: live,
        after,
        sensitive: holdsCredentials(live) || holdsCredentials(after),
        target: change.target,
      },
      () => patchKubeconfig(file, after),
    );
    forgetCluster(ctx, change.target.name);
  },

  async revert(entry, ctx) {
    const target = targetOf(entry, "kubeconfig.context");
    const before = (entry.before as KubeconfigPatch | undefined) ?? absent(entry.after ?? {});
    await patchKubeconfig(target.file, before);
    forgetCluster(ctx, target.name);
  },
};

/** The before-image of entries that did not exist: each name null. */
function absent(patch: KubeconfigPatch): KubeconfigPatch {
  const nulls = (names: string[]) => Object.fromEntries(names.map((name) => [name, null]));
  const names = namesOf(patch);
  return { clusters: nulls(names.clusters), users: nulls(names.users), contexts: nulls(names.contexts) };
}
