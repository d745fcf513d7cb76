import type { Json, JsonObject } from "./json.js";
import { unsupportedMediaType } from "./status.js";

/**
 * Just enough of Kubernetes' protobuf encoding to accept what `kubectl create namespace|configmap|secret|
 * serviceaccount` sends (kubectl's typed clients write protobuf and do not fall back to JSON on 415).
 * Other kinds stay 415: `kubectl apply` sends JSON for everything.
 */

interface Field {
  number: number;
  wire: number;
  value: Buffer | number;
}

function varint(buf: Buffer, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new Error("truncated varint");
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = varint(buf, pos);
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [value, next] = varint(buf, afterKey);
      out.push({ number, wire, value });
      pos = next;
    } else if (wire === 2) {
      const [length, start] = varint(buf, afterKey);
      out.push({ number, wire, value: buf.subarray(start, start + length) });
      pos = start + length;
    } else if (wire === 1 || wire === 5) {
      pos = afterKey + (wire === 1 ? 8 : 4);
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

type Decoder = (value: Buffer | number) => Json;

const text: Decoder = (v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v));
const base64: Decoder = (v) => (Buffer.isBuffer(v) ? v.toString("base64") : "");
const bool: Decoder = (v) => v === 1;
const int: Decoder = (v) => (typeof v === "number" ? v : 0);

function map(valueOf: Decoder): Decoder {
  return (v) => {
    const entry = Buffer.isBuffer(v) ? fields(v) : [];
    const key = entry.find((f) => f.number === 1);
    const value = entry.find((f) => f.number === 2);
    return [key ? text(key.value) : "", value ? valueOf(value.value) : ""];
  };
}

interface Schema {
  [field: number]: { name: string; decode: Decoder; repeated?: "list" | "map" };
}

function message(schema: Schema): Decoder {
  return (v) => {
    const out: JsonObject = {};
    for (const field of Buffer.isBuffer(v) ? fields(v) : []) {
      const spec = schema[field.number];
      if (!spec) continue;
      const decoded = spec.decode(field.value);
      if (spec.repeated === "map") {
        const [key, value] = decoded as [string, Json];
        const target = (out[spec.name] ??= {}) as JsonObject;
        target[key] = value;
      } else if (spec.repeated === "list") {
        ((out[spec.name] ??= []) as Json[]).push(decoded);
      } else if (decoded !== "" && decoded !== 0 && decoded !== false) {
        // Go writes empty scalars; JSON leaves them out.
        out[spec.name] = decoded;
      }
    }
    return out;
  };
}

const objectMeta = message({
  1: { name: "name", decode: text },
  2: { name: "generateName", decode: text },
  3: { name: "namespace", decode: text },
  7: { name: "generation", decode: int },
  11: { name: "labels", decode: map(text), repeated: "map" },
  12: { name: "annotations", decode: map(text), repeated: "map" },
  14: { name: "finalizers", decode: text, repeated: "list" },
});

const KINDS: Record<string, Schema> = {
  "v1/Namespace": {
    1: { name: "metadata", decode: objectMeta },
    2: { name: "spec", decode: message({ 1: { name: "finalizers", decode: text, repeated: "list" } }) },
  },
  "v1/ConfigMap": {
    1: { name: "metadata", decode: objectMeta },
    2: { name: "data", decode: map(text), repeated: "map" },
    3: { name: "binaryData", decode: map(base64), repeated: "map" },
    4: { name: "immutable", decode: bool },
  },
  "v1/Secret": {
    1: { name: "metadata", decode: objectMeta },
    2: { name: "data", decode: map(base64), repeated: "map" },
    3: { name: "type", decode: text },
    4: { name: "stringData", decode: map(text), repeated: "map" },
    5: { name: "immutable", decode: bool },
  },
  "v1/ServiceAccount": {
    1: { name: "metadata", decode: objectMeta },
    3: { name: "imagePullSecrets", decode: message({ 1: { name: "name", decode: text } }), repeated: "list" },
    4: { name: "automountServiceAccountToken", decode: bool },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `k8s\0`-prefixed runtime.Unknown envelope into the JSON object it carries. */
export function decodeProtobuf(raw: Buffer, contentType: string): JsonObject {
  if (raw.length < 4 || !raw.subarray(0, 4).equals(MAGIC)) throw unsupportedMediaType(contentType);
  const envelope = fields(raw.subarray(4));
  const typeMeta = message({ 1: { name: "apiVersion", decode: text }, 2: { name: "kind", decode: text } })(
    envelope.find((f) => f.number === 1)?.value ?? Buffer.alloc(0),
  ) as JsonObject;
  const apiVersion = typeof typeMeta["apiVersion"] === "string" ? typeMeta["apiVersion"] : "";
  const kind = typeof typeMeta["kind"] === "string" ? typeMeta["kind"] : "";
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema)
    throw unsupportedMediaType(
      `${contentType} for ${apiVersion} ${kind} (use kubectl apply, which sends JSON)`,
    );
  const body = message(schema)(envelope.find((f) => f.number === 2)?.value ?? Buffer.alloc(0)) as JsonObject;
  return { apiVersion, kind, ...body };
}
