import { isQuantityPath, sameQuantity } from "./quantity.js";

/**
 * Paths where `desired` is not contained in `current`: every field we would set must already hold that value;
 * fields only `current` has (server defaults, other managers) do not count. Within string maps (labels,
 * annotations, Secret data) the map's own path is reported, never a key's value. Resource quantities compare by
 * value: the server keeps `2000m` as `2`.
 */
export function subsetDiff(desired: unknown, current: unknown, path = ""): string[] {
  if (desired === undefined || desired === null || isEmpty(desired)) {
    return desired === undefined ||
      desired === null ||
      current === undefined ||
      current === null ||
      isEmpty(current)
      ? []
      : [path];
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(current) || current.length !== desired.length) return [path];
    return desired.flatMap((item, i) => subsetDiff(item, current[i], `${path}[${i}]`));
  }
  if (typeof desired === "object") {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return [path];
    const paths: string[] = [];
    const stringMap = FREE_FORM_MAPS.has(path.slice(path.lastIndexOf(".") + 1));
    for (const [key, value] of Object.entries(desired)) {
      const found = subsetDiff(
        value,
        (current as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
      );
      if (found.length > 0 && stringMap) return [path];
      paths.push(...found);
    }
    return paths;
  }
  if (desired === current) return [];
  return isQuantityPath(path) && sameQuantity(desired, current) ? [] : [path];
}

/** Maps keyed by user-chosen names: a key's path says nothing more than the map's (and Secret keys hint at values). */
const FREE_FORM_MAPS = new Set([
  "labels",
  "annotations",
  "data",
  "stringData",
  "binaryData",
  "matchLabels",
  "nodeSelector",
  "selector",
]);

/** `a, b, c (+4 more)` */
export function summarizePaths(paths: readonly string[], max = 5): string {
  const shown = paths.slice(0, max).join(", ");
  return paths.length > max ? `${shown} (+${paths.length - max} more)` : shown;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}
