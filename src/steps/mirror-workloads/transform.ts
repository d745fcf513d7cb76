import type { KubeObject } from "../../providers/kubernetes/port.js";

export interface ImageRule {
  from: string;
  to: string;
}

/** Labels of a mirrored namespace: `extra` added; `istio-injection` dropped when a revision label selects the mesh. */
export function namespaceLabels(
  labels: Record<string, string>,
  extra: Record<string, string>,
): Record<string, string> {
  const out = { ...labels, ...extra };
  // istio-injection wins over istio.io/rev in the injector, so it must go or the revision is ignored.
  if (out["istio.io/rev"] !== undefined && extra["istio-injection"] === undefined)
    delete out["istio-injection"];
  return out;
}

/** The first rule whose `from` is a whole-segment prefix of `image` rewrites it. */
export function rewriteImage(image: string, rules: readonly ImageRule[]): string {
  for (const rule of rules) {
    const from = rule.from.replace(/\/+$/, "");
    const to = rule.to.replace(/\/+$/, "");
    if (image === from) return to;
    if (image.startsWith(from) && "/:@".includes(image.charAt(from.length)))
      return to + image.slice(from.length);
  }
  return image;
}

/** The pod specs inside a workload object, where its images are. */
export function podSpecsOf(object: KubeObject): Record<string, unknown>[] {
  const at = (root: unknown, ...path: string[]): unknown =>
    path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root);
  const candidates =
    object.kind === "Pod"
      ? [object.spec]
      : object.kind === "CronJob"
        ? [at(object.spec, "jobTemplate", "spec", "template", "spec")]
        : [at(object.spec, "template", "spec")];
  return candidates.filter(isObject);
}

/** A copy of `object` with every container and init container image rewritten by `rules`. */
export function rewriteImages(object: KubeObject, rules: readonly ImageRule[]): KubeObject {
  if (rules.length === 0 || podSpecsOf(object).length === 0) return object;
  const copy = structuredClone(object);
  for (const spec of podSpecsOf(copy)) {
    for (const list of [spec.containers, spec.initContainers]) {
      if (!Array.isArray(list)) continue;
      for (const container of list as { image?: unknown }[]) {
        if (typeof container.image === "string") container.image = rewriteImage(container.image, rules);
      }
    }
  }
  return copy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
