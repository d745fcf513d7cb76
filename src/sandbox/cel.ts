import {
  celEnv,
  celFunc,
  celMap,
  celMethod,
  CelScalar,
  isCelError,
  isCelMap,
  listType,
  mapType,
  parse,
  plan,
  type CelEnv,
  type CelInput,
  type CelResult,
  type CelValue,
} from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { isObject, type Json, type JsonObject } from "./json.js";
import type { StatusCause } from "./status.js";

/**
 * CustomResourceDefinitions' `x-kubernetes-validations` rules, evaluated with a CEL library (@bufbuild/cel) the
 * way kube-apiserver does (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel): each rule runs where its
 * schema node has a value, with `self` typed by the schema (integers as CEL ints, numbers as doubles, objects and
 * maps as maps), `oldSelf` on updates where the old value correlates (same property path; list-map items by key),
 * and a failure or an evaluation error becomes a cause on the node's path (plus the rule's `fieldPath`).
 *
 * Kubernetes' own libraries on top of standard CEL: the strings extension comes with @bufbuild/cel; the URL
 * library (`url`, `isURL`, `getScheme`, …), which Istio's rules use, is here. The others (lists, regex `find`,
 * quantities, IPs and CIDRs, semver) are not: a rule calling them fails with an evaluation error cause, so the
 * sandbox refuses what it cannot judge rather than let it through. Rules are not type-checked when the CRD is
 * created, and the cost budget is not enforced.
 */

type Program = (bindings: Record<string, CelInput>) => CelResult;

interface GoUrl {
  scheme: string;
  host: string;
  rawPath: string;
  rawQuery: string;
}

const URL_KEY = "\u0000url";
/** URL values are maps holding the parsed parts under a key no rule can write: the library's opaque URL type. */
const URL_TYPE = mapType(CelScalar.STRING, CelScalar.STRING);

/** What Go's url.ParseRequestURI accepts: an absolute URI, or an absolute path. */
function parseRequestUri(text: string): GoUrl | undefined {
  // Go refuses ASCII control characters and spaces in a request URI.
  if ([...text].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) return undefined;
  const withoutFragment = text;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(withoutFragment);
  if (!scheme) {
    if (!withoutFragment.startsWith("/")) return undefined;
    const [path = "", query = ""] = splitQuery(withoutFragment);
    return { scheme: "", host: "", rawPath: path, rawQuery: query };
  }
  const rest = scheme[2] ?? "";
  const [hierarchy = "", query = ""] = splitQuery(rest);
  if (!hierarchy.startsWith("/")) {
    // An opaque URI (`mailto:x`): valid, with no host.
    return { scheme: (scheme[1] ?? "").toLowerCase(), host: "", rawPath: "", rawQuery: query };
  }
  let host = "";
  let path = hierarchy;
  if (hierarchy.startsWith("//")) {
    const end = hierarchy.indexOf("/", 2);
    const authority = end < 0 ? hierarchy.slice(2) : hierarchy.slice(2, end);
    path = end < 0 ? "" : hierarchy.slice(end);
    host = authority.slice(authority.lastIndexOf("@") + 1);
    if (!/^(\[[0-9a-fA-F:.]+\]|[^[\]:]*)(:\d*)?$/.test(host)) return undefined;
  }
  return { scheme: (scheme[1] ?? "").toLowerCase(), host, rawPath: path, rawQuery: query };
}

function splitQuery(text: string): [string, string] {
  const at = text.indexOf("?");
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function urlValue(text: string): CelInput {
  const parsed = parseRequestUri(text);
  if (!parsed)
    throw new Error(
      `URL parse error during conversion from string: parse "${text}": invalid URI for request`,
    );
  return new Map<string, string>([
    [URL_KEY, text],
    ["scheme", parsed.scheme],
    ["host", parsed.host],
    ["path", parsed.rawPath],
    ["query", parsed.rawQuery],
  ]);
}

function urlPart(target: CelValue, part: string): string {
  if (!isCelMap(target) || !target.has(URL_KEY)) throw new Error("no such overload");
  const value = target.get(part);
  return typeof value === "string" ? value : "";
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

function port(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.slice(colon).includes("]")) return "";
  return host.slice(colon + 1);
}

const URL_LIBRARY = [
  celFunc("url", [CelScalar.STRING], URL_TYPE, urlValue),
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (text: string) => parseRequestUri(text) !== undefined),
  celMethod("getScheme", URL_TYPE, [], CelScalar.STRING, function () {
    return urlPart(this, "scheme");
  }),
  celMethod("getHost", URL_TYPE, [], CelScalar.STRING, function () {
    return urlPart(this, "host");
  }),
  celMethod("getHostname", URL_TYPE, [], CelScalar.STRING, function () {
    return hostname(urlPart(this, "host"));
  }),
  celMethod("getPort", URL_TYPE, [], CelScalar.STRING, function () {
    return port(urlPart(this, "host"));
  }),
  celMethod("getEscapedPath", URL_TYPE, [], CelScalar.STRING, function () {
    return urlPart(this, "path");
  }),
  celMethod("getQuery", URL_TYPE, [], mapType(CelScalar.STRING, listType(CelScalar.STRING)), function () {
    const query = new Map<string, string[]>();
    for (const pair of urlPart(this, "query").split("&")) {
      if (pair === "") continue;
      const [key = "", value = ""] = pair.split("=", 2).map((p) => decodeURIComponent(p.replace(/\+/g, " ")));
      query.set(key, [...(query.get(key) ?? []), value]);
    }
    return query;
  }),
];

let environment: CelEnv | undefined;
const programs = new Map<string, Program | Error>();

function compile(rule: string): Program | Error {
  let program = programs.get(rule);
  if (program === undefined) {
    environment ??= celEnv({ funcs: [...strings, ...URL_LIBRARY] });
    try {
      program = plan(environment, parse(rule));
    } catch (error) {
      program = error instanceof Error ? error : new Error(String(error));
    }
    programs.set(rule, program);
  }
  return program;
}

function schemaType(schema: JsonObject): string | undefined {
  return typeof schema["type"] === "string" ? schema["type"] : undefined;
}

function properties(schema: JsonObject): JsonObject | undefined {
  return isObject(schema["properties"]) ? schema["properties"] : undefined;
}

function childSchema(schema: JsonObject, key: string): JsonObject | undefined {
  const declared = properties(schema)?.[key];
  if (isObject(declared)) return declared;
  const additional = schema["additionalProperties"];
  return isObject(additional) ? additional : undefined;
}

/** A JSON value as CEL sees it under its schema. */
export function toCel(value: Json, schema: JsonObject | undefined): CelInput {
  if (value === null) return null;
  if (typeof value === "number") {
    const type = schema ? schemaType(schema) : undefined;
    if (type === "number") return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const items = schema && isObject(schema["items"]) ? schema["items"] : undefined;
    return value.map((item) => toCel(item, items));
  }
  const out = new Map<string, CelInput>();
  for (const [key, child] of Object.entries(value))
    out.set(key, toCel(child, schema ? childSchema(schema, key) : undefined));
  return celMap(out);
}

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
}

function rulesOf(schema: JsonObject): Rule[] {
  const list = schema["x-kubernetes-validations"];
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).flatMap((r) => {
    if (typeof r["rule"] !== "string") return [];
    const rule: Rule = { rule: r["rule"] };
    if (typeof r["message"] === "string") rule.message = r["message"];
    if (typeof r["messageExpression"] === "string") rule.messageExpression = r["messageExpression"];
    if (typeof r["reason"] === "string") rule.reason = r["reason"];
    if (typeof r["fieldPath"] === "string") rule.fieldPath = r["fieldPath"];
    return [rule];
  });
}

/** The type name kube-apiserver shows as the "value" of a rule that failed to evaluate: the schema's type. */
function shownType(schema: JsonObject): string {
  if (schema["x-kubernetes-int-or-string"] === true) return "";
  return schemaType(schema) ?? "";
}

/** A failed rule shows the value it judged when that is a scalar, and no value for objects, maps and lists. */
function shownValue(value: Json): string | undefined {
  return value !== null && typeof value === "object" ? undefined : JSON.stringify(value);
}

function errorText(error: Error): string {
  const message = error.message;
  if (/^Failed to parse duration/.test(message))
    return "type conversion error from 'string' to 'google.protobuf.Duration'";
  if (/^field not found: /.test(message)) return `no such key: ${message.slice("field not found: ".length)}`;
  return message;
}

function cause(
  reason: string | undefined,
  field: string,
  value: string | undefined,
  message: string,
): StatusCause {
  const shown = value === undefined ? "" : `${value}: `;
  switch (reason) {
    case "FieldValueForbidden":
      return { reason: "FieldValueForbidden", field, message: `Forbidden: ${message}` };
    case "FieldValueRequired":
      return { reason: "FieldValueRequired", field, message: `Required value: ${message}` };
    case "FieldValueDuplicate":
      return { reason: "FieldValueDuplicate", field, message: `Duplicate value: ${shown}${message}` };
    case "FieldValueInvalid":
    case undefined:
    default:
      return { reason: "FieldValueInvalid", field, message: `Invalid value: ${shown}${message}` };
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** The rule's `fieldPath` (`.spec.x`, `['a.b']`) appended to the node's path, as the real server reports it. */
function withFieldPath(path: string, fieldPath: string | undefined): string {
  if (!fieldPath) return path;
  const relative = fieldPath.replace(/^\./, "").replace(/\['([^']*)'\]/g, ".$1");
  return join(path, relative);
}

function evaluateRules(
  value: Json,
  old: Json | undefined,
  schema: JsonObject,
  path: string,
  causes: StatusCause[],
): void {
  const rules = rulesOf(schema);
  if (rules.length === 0) return;
  const self = toCel(value, schema);
  const type = JSON.stringify(shownType(schema));
  const shown = shownValue(value);
  for (const rule of rules) {
    const transition = /\boldSelf\b/.test(rule.rule);
    if (transition && old === undefined) continue;
    const program = compile(rule.rule);
    const field = withFieldPath(path, rule.fieldPath);
    const ruleText = (rule.message ?? rule.rule).trim();
    if (program instanceof Error) {
      causes.push(cause(undefined, field, type, `compilation failed: ${program.message}`));
      continue;
    }
    const bindings: Record<string, CelInput> = { self };
    if (transition && old !== undefined) bindings["oldSelf"] = toCel(old, schema);
    let result: CelResult | Error;
    try {
      result = program(bindings);
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    if (isCelError(result) || result instanceof Error) {
      const text = errorText(result);
      const message = text.startsWith("no such overload")
        ? `'${text}': call arguments did not match a supported operator, function or macro signature for rule: ${ruleText}`
        : `${text} evaluating rule: ${ruleText}`;
      causes.push(cause(undefined, field, type, message));
      continue;
    }
    if (result === true) continue;
    let message = rule.message?.trim() || `failed rule: ${rule.rule.trim()}`;
    if (rule.messageExpression) {
      const expression = compile(rule.messageExpression);
      const text = expression instanceof Error ? undefined : expression(bindings);
      if (typeof text === "string" && text.trim() !== "" && !text.includes("\n")) message = text.trim();
    }
    causes.push(cause(rule.reason, field, shown, message));
  }
}

function listMapKeys(schema: JsonObject): string[] | undefined {
  if (schema["x-kubernetes-list-type"] !== "map") return undefined;
  const keys = schema["x-kubernetes-list-map-keys"];
  return Array.isArray(keys) ? keys.map(String) : undefined;
}

function correlatedItem(old: Json | undefined, item: Json, keys: string[] | undefined): Json | undefined {
  if (!keys || !Array.isArray(old) || !isObject(item)) return undefined;
  return old.find(
    (o) => isObject(o) && keys.every((k) => JSON.stringify(o[k] ?? null) === JSON.stringify(item[k] ?? null)),
  );
}

function visit(
  value: Json,
  old: Json | undefined,
  schema: JsonObject,
  path: string,
  causes: StatusCause[],
): void {
  if (value === null) return;
  evaluateRules(value, old, schema, path, causes);
  if (Array.isArray(value)) {
    const items = schema["items"];
    if (!isObject(items)) return;
    const keys = listMapKeys(schema);
    value.forEach((item, i) => visit(item, correlatedItem(old, item, keys), items, `${path}[${i}]`, causes));
    return;
  }
  if (!isObject(value)) return;
  const declared = properties(schema);
  const additional = isObject(schema["additionalProperties"]) ? schema["additionalProperties"] : undefined;
  for (const [key, child] of Object.entries(value)) {
    const sub = declared?.[key];
    const oldChild = isObject(old) ? old[key] : undefined;
    if (isObject(sub)) visit(child, oldChild, sub, join(path, key), causes);
    else if (additional) visit(child, oldChild, additional, `${path}[${key}]`, causes);
  }
}

const ruled = new WeakMap<JsonObject, boolean>();

/** True when the schema (or any node under it) has validation rules: most CRDs have none, and skip the walk. */
export function hasRules(schema: JsonObject): boolean {
  let found = ruled.get(schema);
  if (found === undefined) {
    found = JSON.stringify(schema).includes('"x-kubernetes-validations"');
    ruled.set(schema, found);
  }
  return found;
}

/** The causes of every failed rule of `schema` over `object` (`old` is the stored object on updates). */
export function validateRules(
  object: JsonObject,
  old: JsonObject | undefined,
  schema: JsonObject,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const declared = properties(schema) ?? {};
  evaluateRules(object, old, schema, "", causes);
  for (const [key, child] of Object.entries(object)) {
    if (key === "apiVersion" || key === "kind" || key === "metadata") continue;
    const sub = declared[key];
    if (isObject(sub)) visit(child, old?.[key], sub, key, causes);
  }
  return causes;
}
