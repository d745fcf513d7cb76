import type { KubeObject } from "../../providers/kubernetes/port.js";
import { splitSelector } from "../../providers/kubernetes/selectors.js";

export type Requirement =
  { key: string; op: "exists" | "!exists" } | { key: string; op: "in" | "notin"; values: string[] };

export interface Exclusion {
  kind?: string | undefined;
  name?: string | undefined;
  namespace?: string | undefined;
  labelSelector?: string | undefined;
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * Parses a Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`, joined by
 * commas. Throws an Error saying what is wrong; callers attach the field path.
 */
export function parseLabelSelector(text: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitSelector(text)) {
    const term = part.trim();
    if (term === "") throw new Error(`empty requirement in "${text}"`);
    let match: RegExpExecArray | null;
    if ((match = /^!\s*(\S+)$/.exec(term))) {
      requirements.push({ key: checkKey(match[1] ?? ""), op: "!exists" });
    } else if ((match = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(term))) {
      const [, key = "", op, value = ""] = match;
      requirements.push({
        key: checkKey(key),
        op: op === "!=" ? "notin" : "in",
        values: [checkValue(value)],
      });
    } else if ((match = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term))) {
      const [, key = "", op, list = ""] = match;
      const values = list.split(",").map((v) => checkValue(v.trim()));
      requirements.push({ key: checkKey(key), op: op === "in" ? "in" : "notin", values });
    } else if (/^\S+$/.test(term)) {
      requirements.push({ key: checkKey(term), op: "exists" });
    } else {
      throw new Error(`cannot parse "${term}"`);
    }
  }
  return requirements;
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

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new Error(`invalid label value "${value}"`);
  return value;
}
