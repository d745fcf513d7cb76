import { BUILTIN_RESOURCES } from "../../src/sandbox/resources.js";
import type { Endpoint } from "./harness.js";

type Schema = Record<string, unknown>;

const REF = "#/components/schemas/";
/** What of an OpenAPI v3 schema the sandbox uses (field names, list and map types, which fields Go always writes). */
const KEPT = [
  "type",
  "format",
  "required",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
];

function compact(schema: Schema, refs: Set<string>): Schema {
  const out: Schema = {};
  const allOf = schema["allOf"];
  let ref = typeof schema["$ref"] === "string" ? schema["$ref"] : undefined;
  if (Array.isArray(allOf) && allOf.length === 1 && typeof (allOf[0] as Schema)["$ref"] === "string") {
    ref = (allOf[0] as Schema)["$ref"] as string;
  }
  if (ref) {
    const name = ref.slice(REF.length);
    refs.add(name);
    out["$ref"] = name;
  }
  for (const key of KEPT) if (schema[key] !== undefined) out[key] = schema[key];
  // `default: {}` marks a Go struct that is not a pointer (always written, even empty); other defaults are the
  // values the server's defaulting gives absent fields.
  if (schema["default"] !== undefined) out["default"] = schema["default"];
  const properties = schema["properties"];
  if (typeof properties === "object" && properties !== null) {
    out["properties"] = Object.fromEntries(
      Object.entries(properties as Record<string, Schema>).map(([k, v]) => [k, compact(v, refs)]),
    );
  }
  if (typeof schema["items"] === "object" && schema["items"] !== null)
    out["items"] = compact(schema["items"] as Schema, refs);
  const additional = schema["additionalProperties"];
  if (typeof additional === "object" && additional !== null)
    out["additionalProperties"] = compact(additional as Schema, refs);
  return out;
}

/** The group-versions of the sandbox's built-in kinds (CRDs excepted: their schemas are their own). */
function builtinKinds(): { group: string; version: string; kind: string }[] {
  return BUILTIN_RESOURCES.filter((t) => t.kind !== "CustomResourceDefinition").map((t) => ({
    group: t.group,
    version: t.storageVersion,
    kind: t.kind,
  }));
}

/**
 * The real server's OpenAPI v3 for the sandbox's built-in kinds, cut down to what the sandbox needs: per kind,
 * the name of its schema, and the schemas it reaches (by name), sorted so the file is stable.
 */
export async function builtinSchemas(
  real: Endpoint,
): Promise<{ kinds: Record<string, string>; schemas: Record<string, Schema> }> {
  const index = (await real.request("GET", "/openapi/v3")).body as {
    paths: Record<string, { serverRelativeURL: string }>;
  };
  const wanted = builtinKinds();
  const all = new Map<string, Schema>();
  const kinds: Record<string, string> = {};
  for (const gv of new Set(
    wanted.map((k) => (k.group === "" ? `api/${k.version}` : `apis/${k.group}/${k.version}`)),
  )) {
    const entry = index.paths[gv];
    if (!entry) throw new Error(`the real server publishes no OpenAPI for ${gv}`);
    const document = (await real.request("GET", entry.serverRelativeURL)).body as {
      components: { schemas: Record<string, Schema> };
    };
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      all.set(name, schema);
      const gvks = schema["x-kubernetes-group-version-kind"];
      if (!Array.isArray(gvks)) continue;
      for (const gvk of gvks as { group: string; version: string; kind: string }[]) {
        if (wanted.some((w) => w.group === gvk.group && w.version === gvk.version && w.kind === gvk.kind)) {
          kinds[`${gvk.group === "" ? "" : `${gvk.group}/`}${gvk.version}/${gvk.kind}`] = name;
        }
      }
    }
  }
  const schemas: Record<string, Schema> = {};
  const pending = Object.values(kinds);
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (schemas[name]) continue;
    const schema = all.get(name);
    if (!schema) throw new Error(`no schema ${name}`);
    const refs = new Set<string>();
    schemas[name] = compact(schema, refs);
    pending.push(...[...refs].filter((r) => !schemas[r]));
  }
  const sorted = <T>(record: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { kinds: sorted(kinds), schemas: sorted(schemas) };
}
