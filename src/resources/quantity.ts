/**
 * Kubernetes resource quantities (`100m`, `1Gi`, `2e3`), compared by value: the API server stores the canonical
 * form of what it is sent (`2000m` comes back as `2`, `1024Mi` as `1Gi`), so comparing the text would see a
 * difference that is not one.
 */

/** Maps whose values are quantities: container resources, quota, node and volume sizes. */
const QUANTITY_MAPS = new Set(["limits", "requests", "hard", "used", "capacity", "allocatable", "overhead"]);
/** Single fields that are quantities. */
const QUANTITY_FIELDS = new Set(["sizeLimit"]);

/** Whether the value at `path` (`spec.containers[0].resources.limits.cpu`) is a quantity. */
export function isQuantityPath(path: string): boolean {
  const keys = path.split(/\.|(?=\[)/).filter((key) => !key.startsWith("["));
  const key = keys.at(-1) ?? "";
  const parent = keys.at(-2) ?? "";
  return QUANTITY_MAPS.has(parent) || QUANTITY_FIELDS.has(key);
}

/** An exact rational: numerator / denominator (both BigInt, denominator > 0). */
interface Rational {
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The exact value of a quantity (a string, or a number as YAML gives it), or undefined when it is none. */
export function parseQuantity(value: unknown): Rational | undefined {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string") return undefined;
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, sign = "", number = "", suffix = "", exponent] = match;
  const [whole = "", fraction = ""] = number.split(".");
  let num = BigInt(`${whole || "0"}${fraction}`) * (sign === "-" ? -1n : 1n);
  let den = 10n ** BigInt(fraction.length);
  const binary = BINARY[suffix];
  const power = exponent !== undefined ? Number(exponent) : (DECIMAL[suffix] ?? 0);
  if (binary !== undefined) num *= 2n ** BigInt(binary);
  else if (power >= 0) num *= 10n ** BigInt(power);
  else den *= 10n ** BigInt(-power);
  return { num, den };
}

/** Whether `a` and `b` are quantities of the same value (`2000m` and `2`, `1024Mi` and `1Gi`). */
export function sameQuantity(a: unknown, b: unknown): boolean {
  const [x, y] = [parseQuantity(a), parseQuantity(b)];
  return x !== undefined && y !== undefined && x.num * y.den === y.num * x.den;
}
