import { clone, deepEqual, isObject, jsonType, type Json, type JsonObject } from "./json.js";
import type { StatusCause } from "./status.js";

/**
 * Structural-schema handling of custom resources as the real server does it: prune unknown fields, apply
 * defaults, drop nulls of non-nullable fields, then validate (types, required, enum, bounds, oneOf/anyOf/allOf/
 * not). `format` is not checked; CEL rules (`x-kubernetes-validations`) are, by cel.ts, after this and only when
 * no error here blocks them.
 */
export interface SchemaOutcome {
  causes: StatusCause[];
  /** Field paths removed because the schema does not declare them. */
  pruned: string[];
  /**
   * An error the real server will not run CEL rules after (a wrong type, a missing required field, an unsupported
   * enum value, too long or too many): the rules could meet values of a type they were not written for.
   */
  blocking: boolean;
}

interface Context {
  /** False inside oneOf/anyOf/allOf/not, which only check. */
  mutate: boolean;
  causes: StatusCause[];
  pruned: string[];
  blocking: boolean;
}

const ROOT_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

export function validateAgainstSchema(object: JsonObject, schema: JsonObject): SchemaOutcome {
  const ctx: Context = { mutate: true, causes: [], pruned: [], blocking: false };
  visit(object, schema, "", ctx, true);
  return { causes: ctx.causes, pruned: ctx.pruned, blocking: ctx.blocking };
}

function describe(value: Json): string {
  return isObject(value) || Array.isArray(value) ? `"${jsonType(value)}"` : JSON.stringify(value);
}

function invalidValue(ctx: Context, path: string, value: Json, detail: string): void {
  ctx.causes.push({
    reason: "FieldValueInvalid",
    field: path,
    message: `Invalid value: ${describe(value)}: ${path} in body ${detail}`,
  });
}

/** A value of the wrong type: the real server's reason is FieldValueTypeInvalid, worded like any invalid value. */
function typeInvalid(ctx: Context, path: string, value: Json, detail: string): void {
  ctx.causes.push({
    reason: "FieldValueTypeInvalid",
    field: path,
    message: `Invalid value: ${describe(value)}: ${path} in body ${detail}`,
  });
}

function typeMatches(type: string, value: Json): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

function num(schema: JsonObject, key: string): number | undefined {
  const v = schema[key];
  return typeof v === "number" ? v : undefined;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function check(value: Json, schema: JsonObject, path: string): boolean {
  const ctx: Context = { mutate: false, causes: [], pruned: [], blocking: false };
  visit(value, schema, path, ctx, false);
  return ctx.causes.length === 0;
}

function visit(value: Json, schema: JsonObject, path: string, ctx: Context, root: boolean): void {
  const type = typeof schema["type"] === "string" ? schema["type"] : undefined;
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      ctx.blocking = true;
      typeInvalid(ctx, path, jsonType(value), "must be of type integer,string: " + describe(jsonType(value)));
      return;
    }
  } else if (type !== undefined && !typeMatches(type, value)) {
    const actual = jsonType(value);
    ctx.blocking = true;
    typeInvalid(ctx, path, actual, `must be of type ${type}: ${JSON.stringify(actual)}`);
    return;
  }

  const allowed = schema["enum"];
  if (Array.isArray(allowed) && !allowed.some((a) => deepEqual(a, value))) {
    ctx.blocking = true;
    ctx.causes.push({
      reason: "FieldValueNotSupported",
      field: path,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    });
  }

  if (typeof value === "string") checkString(value, schema, path, ctx);
  else if (typeof value === "number") checkNumber(value, schema, path, ctx);
  else if (Array.isArray(value)) visitArray(value, schema, path, ctx);
  else if (isObject(value)) visitObject(value, schema, path, ctx, root);

  checkCombinators(value, schema, path, ctx);
}

function checkString(value: string, schema: JsonObject, path: string, ctx: Context): void {
  const max = num(schema, "maxLength");
  if (max !== undefined && [...value].length > max) {
    ctx.blocking = true;
    ctx.causes.push({
      reason: "FieldValueTooLong",
      field: path,
      message: `Too long: may not be more than ${max} bytes`,
    });
  }
  const min = num(schema, "minLength");
  if (min !== undefined && [...value].length < min) {
    invalidValue(ctx, path, value, `should be at least ${min} chars long`);
  }
  const pattern = schema["pattern"];
  if (typeof pattern === "string") {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, "u");
    } catch {
      re = undefined;
    }
    if (re && !re.test(value)) invalidValue(ctx, path, value, `should match '${pattern}'`);
  }
}

function checkNumber(value: number, schema: JsonObject, path: string, ctx: Context): void {
  const min = num(schema, "minimum");
  if (min !== undefined) {
    const exclusive = schema["exclusiveMinimum"] === true;
    if (exclusive ? value <= min : value < min) {
      invalidValue(ctx, path, value, `should be greater than ${exclusive ? "" : "or equal to "}${min}`);
    }
  }
  const max = num(schema, "maximum");
  if (max !== undefined) {
    const exclusive = schema["exclusiveMaximum"] === true;
    if (exclusive ? value >= max : value > max) {
      invalidValue(ctx, path, value, `should be less than ${exclusive ? "" : "or equal to "}${max}`);
    }
  }
  const multiple = num(schema, "multipleOf");
  if (multiple !== undefined && multiple > 0 && !Number.isInteger(value / multiple)) {
    invalidValue(ctx, path, value, `should be a multiple of ${multiple}`);
  }
}

function visitArray(value: Json[], schema: JsonObject, path: string, ctx: Context): void {
  const max = num(schema, "maxItems");
  if (max !== undefined && value.length > max) {
    ctx.blocking = true;
    ctx.causes.push({
      reason: "FieldValueTooMany",
      field: path,
      message: `Too many: ${value.length}: must have at most ${max} items`,
    });
  }
  const min = num(schema, "minItems");
  if (min !== undefined && value.length < min) {
    invalidValue(ctx, path, value, `should have at least ${min} items`);
  }
  const items = schema["items"];
  if (!isObject(items)) return;
  for (let i = 0; i < value.length; i++) visit(value[i] as Json, items, `${path}[${i}]`, ctx, false);
}

function visitObject(value: JsonObject, schema: JsonObject, path: string, ctx: Context, root: boolean): void {
  const properties = isObject(schema["properties"]) ? schema["properties"] : undefined;
  const additional = schema["additionalProperties"];
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true || additional === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true;

  if (ctx.mutate && properties) {
    for (const [key, sub] of Object.entries(properties)) {
      if (isObject(sub) && value[key] === undefined && sub["default"] !== undefined)
        value[key] = clone(sub["default"]);
    }
  }

  for (const key of Object.keys(value)) {
    if ((root || embedded) && ROOT_FIELDS.has(key)) continue;
    const sub = properties?.[key] ?? (isObject(additional) ? additional : undefined);
    const child = value[key] as Json;
    const childPath = properties?.[key] !== undefined ? join(path, key) : `${path}[${key}]`;
    if (!isObject(sub)) {
      if (!preserve && ctx.mutate) {
        delete value[key];
        ctx.pruned.push(join(path, key));
      }
      continue;
    }
    if (child === null && sub["nullable"] !== true) {
      if (ctx.mutate) delete value[key];
      continue;
    }
    if (child === null) continue;
    visit(child, sub, childPath, ctx, false);
  }

  const required = schema["required"];
  if (Array.isArray(required)) {
    for (const key of required) {
      if (typeof key === "string" && value[key] === undefined) {
        ctx.blocking = true;
        ctx.causes.push({ reason: "FieldValueRequired", field: join(path, key), message: "Required value" });
      }
    }
  }
  const maxProps = num(schema, "maxProperties");
  if (maxProps !== undefined && Object.keys(value).length > maxProps) {
    ctx.blocking = true;
    ctx.causes.push({
      reason: "FieldValueTooMany",
      field: path,
      message: `Too many: ${Object.keys(value).length}: must have at most ${maxProps} items`,
    });
  }
  const minProps = num(schema, "minProperties");
  if (minProps !== undefined && Object.keys(value).length < minProps) {
    invalidValue(ctx, path, value, `should have at least ${minProps} properties`);
  }
}

function checkCombinators(value: Json, schema: JsonObject, path: string, ctx: Context): void {
  const subschemas = (key: string): JsonObject[] => {
    const list = schema[key];
    return Array.isArray(list) ? list.filter(isObject) : [];
  };
  const oneOf = subschemas("oneOf");
  if (oneOf.length > 0 && oneOf.filter((s) => check(value, s, path)).length !== 1) {
    invalidValue(ctx, path, value, "must validate one and only one schema (oneOf)");
  }
  const anyOf = subschemas("anyOf");
  if (anyOf.length > 0 && !anyOf.some((s) => check(value, s, path))) {
    invalidValue(ctx, path, value, "must validate at least one schema (anyOf)");
  }
  for (const s of subschemas("allOf")) {
    const inner: Context = { ...ctx, mutate: false };
    visit(value, s, path, inner, false);
    ctx.blocking ||= inner.blocking;
  }
  const not = schema["not"];
  if (isObject(not) && check(value, not, path))
    invalidValue(ctx, path, value, "must not validate the schema (not)");
}
