import type { Change, StepKind, StepPlan } from "./types.js";

/**
 * Where a change is made, as plan output names it: `source` and `target` for the playbook's two clusters (the same
 * address can be on both), `dns` for the DNS provider, `gcp` for Google Cloud (GKE, fleet), `sandbox` for the
 * sandbox's own control API, `local` for the kubeconfig file.
 */
export type ChangeContext = "source" | "target" | "dns" | "gcp" | "sandbox" | "local" | (string & {});

/**
 * What a planned change may carry besides {@link Change}: its context, and `merge` when the write is a server-side
 * apply (fields the change does not set stay as they are, so a diff must not show them as removed).
 */
export interface Placement {
  context?: ChangeContext;
  merge?: boolean;
}

export type PlacedChange = Change & Placement;

/** The context of the built-in steps' changes, by kind; expose-target's source objects name theirs. */
const BY_KIND: Record<string, Placement> = {
  "provision-cluster": { context: "gcp" },
  "enable-mesh": { context: "gcp" },
  "install-ingress-gateway": { context: "target", merge: true },
  "mirror-workloads": { context: "target", merge: true },
  "expose-target": { context: "target" },
  "shift-traffic": { context: "source" },
  "lower-dns-ttl": { context: "dns" },
  "cutover-dns": { context: "dns" },
  "decommission-source": { context: "source" },
};

/** Things outside any cluster say what they are in their address; these win over the step's default. */
const BY_ADDRESS: [prefix: string, context: ChangeContext][] = [
  ["gke.cluster ", "gcp"],
  ["fleet ", "gcp"],
  ["feature ", "gcp"],
  ["sandbox.cluster ", "sandbox"],
  ["kubeconfig context ", "local"],
];

export function placementOf(change: Change): Placement {
  const { context, merge } = change as PlacedChange;
  return { ...(context === undefined ? {} : { context }), ...(merge === true ? { merge } : {}) };
}

/**
 * `plan` with every change placed: a change that says where it is made keeps that; otherwise its address or its
 * step kind decides. Steps of other kinds (tests register some) keep what they said, possibly nothing.
 */
export function placeChanges(kind: StepKind, plan: StepPlan): StepPlan {
  const byKind = BY_KIND[kind] ?? {};
  const changes = plan.changes.map((change): Change => {
    const own = placementOf(change);
    const byAddress = BY_ADDRESS.find(([prefix]) => change.address.startsWith(prefix))?.[1];
    const context = own.context ?? byAddress ?? byKind.context;
    const merge = change.action === "update" && (own.merge ?? (byAddress === undefined && byKind.merge));
    const placed: PlacedChange = {
      ...change,
      ...(context === undefined ? {} : { context }),
      ...(merge === true ? { merge } : {}),
    };
    return placed;
  });
  return { ...plan, changes };
}
