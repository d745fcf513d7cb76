import type { KubeObject } from "../../providers/kubernetes/port.js";
import { parseLabelSelector, type Requirement } from "../../core/label-selector.js";

// The mirror step's callers and tests reach the parser through this module, as before the grammar moved to the core.
export { parseLabelSelector, type Requirement };

export interface Exclusion {
  kind?: string | undefined;
  name?: string | undefined;
  namespace?: string | undefined;
  labelSelector?: string | undefined;
}

export function matchesSelector(
  labels: Record<string, string> | undefined,
  requirements: Requirement[],
): boolean {
  return requirements.every((r) => {
    const value = labels?.[r.key];
    switch (r.op) {
      case "exists":
        return value !== undefined;
      case "!exists":
        return value === undefined;
      case "in":
        return value !== undefined && r.values.includes(value);
      case "notin":
        return value === undefined || !r.values.includes(value);
    }
  });
}

/** Index of the first exclusion that matches `object` (every field it sets must match), or undefined. */
export function excludedBy(
  object: KubeObject,
  exclusions: readonly Exclusion[],
  selectors: Requirement[][],
): number | undefined {
  const index = exclusions.findIndex(
    (rule, i) =>
      (rule.kind === undefined || rule.kind.toLowerCase() === object.kind.toLowerCase()) &&
      (rule.name === undefined || rule.name === object.metadata.name) &&
      (rule.namespace === undefined ||
        rule.namespace ===
          (object.kind === "Namespace" ? object.metadata.name : object.metadata.namespace)) &&
      (rule.labelSelector === undefined || matchesSelector(object.metadata.labels, selectors[i] ?? [])),
  );
  return index < 0 ? undefined : index;
}
