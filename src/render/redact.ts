import { plural } from "./words.js";

/** What output shows instead of a sensitive value (a Secret, or any object): `(sensitive: N keys)`, `1 key`. */
export function sensitiveSummary(value: unknown): string {
  return `(sensitive: ${plural(sensitiveKeyCount(value), "key")})`;
}

/** Keys of a Secret's `data` and `stringData`; for other values, their own keys. */
export function sensitiveKeyCount(value: unknown): number {
  if (typeof value !== "object" || value === null) return value === undefined ? 0 : 1;
  const record = value as Record<string, unknown>;
  if ("data" in record || "stringData" in record) {
    return new Set([...keysOf(record.data), ...keysOf(record.stringData)]).size;
  }
  return Object.keys(record).length;
}

function keysOf(value: unknown): string[] {
  return typeof value === "object" && value !== null ? Object.keys(value) : [];
}
