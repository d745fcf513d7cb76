import { splitSelector } from "../core/label-selector.js";
import { isObject, type JsonObject } from "./json.js";
import { badRequest } from "./status.js";

export type LabelRequirement =
  | { key: string; op: "exists" | "!exists" }
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] };

const KEY = String.raw`[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`[-A-Za-z0-9_.]*`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);

/** The selector's requirements, trimmed, without empty ones. */
function terms(selector: string): string[] {
  return splitSelector(selector)
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  return terms(selector).map((term): LabelRequirement => {
    let m = SET.exec(term);
    if (m) {
      const values = (m[3] ?? "").split(",").map((v) => v.trim());
      if (values.some((v) => !VALUE_ONLY.test(v))) {
        throw badRequest(`unable to parse requirement: invalid label value in "${term}"`);
      }
      return { key: m[1] ?? "", op: m[2] === "in" ? "in" : "notin", values };
    }
    m = EQUALITY.exec(term);
    if (m) return { key: m[1] ?? "", op: m[2] === "!=" ? "!=" : "=", value: m[3] ?? "" };
    m = NOT_EXISTS.exec(term);
    if (m) return { key: m[1] ?? "", op: "!exists" };
    m = EXISTS.exec(term);
    if (m) return { key: m[1] ?? "", op: "exists" };
    throw badRequest(`unable to parse requirement: found '${term}', expected: a label selector requirement`);
  });
}

export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: JsonObject | undefined,
): boolean {
  for (const r of requirements) {
    const raw = labels?.[r.key];
    const value = typeof raw === "string" ? raw : undefined;
    switch (r.op) {
      case "exists":
        if (value === undefined) return false;
        break;
      case "!exists":
        if (value !== undefined) return false;
        break;
      case "=":
        if (value !== r.value) return false;
        break;
      case "!=":
        if (value === r.value) return false;
        break;
      case "in":
        if (value === undefined || !r.values.includes(value)) return false;
        break;
      case "notin":
        if (value !== undefined && r.values.includes(value)) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  path: string;
  op: "=" | "!=";
  value: string;
}

const FIELD = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/;

/** Field labels the real server accepts beyond metadata.name and metadata.namespace, per kind. */
const EXTRA_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Pod: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
  ],
  Secret: ["type"],
  Namespace: ["status.phase"],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "source",
    "type",
  ],
  ReplicaSet: ["status.replicas"],
  Job: ["status.successful"],
};

export function parseFieldSelector(selector: string, kind: string): FieldRequirement[] {
  return terms(selector).map((term) => {
    const m = FIELD.exec(term);
    if (!m) throw badRequest(`invalid field selector: '${term}'`);
    const path = m[1] ?? "";
    if (path !== "metadata.name" && path !== "metadata.namespace" && !EXTRA_FIELDS[kind]?.includes(path)) {
      throw badRequest(`field label not supported: ${path}`);
    }
    return { path, op: m[2] === "!=" ? "!=" : "=", value: (m[3] ?? "").trim() };
  });
}

function fieldValue(object: JsonObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split(".")) current = isObject(current) ? current[part] : undefined;
  if (current === undefined || current === null) return "";
  return typeof current === "string" ? current : JSON.stringify(current);
}

export function matchesFields(requirements: readonly FieldRequirement[], object: JsonObject): boolean {
  for (const r of requirements) {
    const equal = fieldValue(object, r.path) === r.value;
    if (equal !== (r.op === "=")) return false;
  }
  return true;
}

export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function matchesSelectors(selectors: Selectors, object: JsonObject): boolean {
  const metadata = object["metadata"];
  return (
    matchesLabels(
      selectors.labels,
      isObject(metadata) && isObject(metadata["labels"]) ? metadata["labels"] : undefined,
    ) && matchesFields(selectors.fields, object)
  );
}

/** A LabelSelector object (`matchLabels`, `matchExpressions`) against labels; an empty selector matches all. */
export function matchesSelector(selector: JsonObject, labels: JsonObject): boolean {
  const requirements: LabelRequirement[] = [];
  const matchLabels = selector["matchLabels"];
  if (isObject(matchLabels)) {
    for (const [key, value] of Object.entries(matchLabels)) {
      if (typeof value === "string") requirements.push({ key, op: "=", value });
    }
  }
  const expressions = selector["matchExpressions"];
  if (Array.isArray(expressions)) {
    for (const e of expressions) {
      if (!isObject(e) || typeof e["key"] !== "string") continue;
      const values = Array.isArray(e["values"])
        ? e["values"].filter((v): v is string => typeof v === "string")
        : [];
      const operator = typeof e["operator"] === "string" ? e["operator"] : "";
      switch (operator) {
        case "In":
          requirements.push({ key: e["key"], op: "in", values });
          break;
        case "NotIn":
          requirements.push({ key: e["key"], op: "notin", values });
          break;
        case "Exists":
          requirements.push({ key: e["key"], op: "exists" });
          break;
        case "DoesNotExist":
          requirements.push({ key: e["key"], op: "!exists" });
          break;
        default:
          return false;
      }
    }
  }
  return matchesLabels(requirements, labels);
}
