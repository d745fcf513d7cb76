import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/sandbox/json.js";
import { builtinListType } from "../../src/sandbox/list-types.js";
import { describePath, fieldSet, fromFieldsV1, toFieldsV1 } from "../../src/sandbox/managed-fields.js";
import { jsonPatch, mergePatch, strategicMerge } from "../../src/sandbox/patch.js";
import { compareVersions } from "../../src/sandbox/resources.js";
import { validateAgainstSchema } from "../../src/sandbox/schema.js";
import { matchesLabels, parseLabelSelector } from "../../src/sandbox/selectors.js";
import { integer, sandboxTlsCredentials } from "../../src/sandbox/tls.js";

describe("label selectors", () => {
  it("Given selector strings, Then they parse into requirements the real server would build", () => {
    expect(parseLabelSelector("a=b, c!=d,e in (x, y),f notin (z),g,!h")).toEqual([
      { key: "a", op: "=", value: "b" },
      { key: "c", op: "!=", value: "d" },
      { key: "e", op: "in", values: ["x", "y"] },
      { key: "f", op: "notin", values: ["z"] },
      { key: "g", op: "exists" },
      { key: "h", op: "!exists" },
    ]);
    expect(parseLabelSelector("app.kubernetes.io/name==web")).toEqual([
      { key: "app.kubernetes.io/name", op: "=", value: "web" },
    ]);
    expect(matchesLabels(parseLabelSelector("f notin (z)"), undefined)).toBe(true);
    expect(() => parseLabelSelector("a in x")).toThrow(/unable to parse/);
  });
});

describe("patches", () => {
  it("Given RFC 7386 and RFC 6902 documents, Then merge and JSON patches follow the RFCs", () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      f: [1],
    });
    const doc = { list: [1, 2, 3], o: { k: "v" } };
    expect(
      jsonPatch(doc, [
        { op: "add", path: "/list/-", value: 4 },
        { op: "move", from: "/o/k", path: "/moved" },
        { op: "copy", from: "/list/0", path: "/first" },
        { op: "remove", path: "/list/1" },
        { op: "add", path: "/a~1b", value: true },
      ]),
    ).toEqual({ list: [1, 3, 4], o: {}, moved: "v", first: 1, "a/b": true });
    expect(doc.list).toEqual([1, 2, 3]);
    expect(() => jsonPatch(doc, [{ op: "replace", path: "/missing", value: 1 }])).toThrow(/does not exist/);
  });

  it("Given strategic merge directives, Then items delete by key, maps replace, primitive lists lose values", () => {
    const target: JsonObject = {
      spec: {
        containers: [
          { name: "a", image: "a:1", env: [{ name: "X", value: "1" }] },
          { name: "b", image: "b:1" },
        ],
        selector: { x: "1", y: "2" },
      },
      metadata: { finalizers: ["f1", "f2"] },
    };
    const patched = strategicMerge(target, {
      spec: {
        containers: [
          { name: "b", $patch: "delete" },
          { name: "a", env: [{ name: "Y", value: "2" }] },
          { name: "c", image: "c:1" },
        ],
        selector: { $patch: "replace", z: "3" },
        "$setElementOrder/containers": [{ name: "a" }, { name: "c" }],
      },
      metadata: { "$deleteFromPrimitiveList/finalizers": ["f1"] },
    });
    expect(patched).toEqual({
      spec: {
        containers: [
          {
            name: "a",
            image: "a:1",
            env: [
              { name: "X", value: "1" },
              { name: "Y", value: "2" },
            ],
          },
          { name: "c", image: "c:1" },
        ],
        selector: { z: "3" },
      },
      metadata: { finalizers: ["f2"] },
    });
  });
});

describe("structural schemas", () => {
  const schema: JsonObject = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: {
          match: {
            type: "object",
            properties: { exact: { type: "string" }, prefix: { type: "string" } },
            oneOf: [
              { not: { anyOf: [{ required: ["exact"] }, { required: ["prefix"] }] } },
              { required: ["exact"] },
              { required: ["prefix"] },
            ],
          },
          timeout: { type: "string", nullable: true },
          retries: { type: "integer", default: 3 },
          port: { "x-kubernetes-int-or-string": true },
        },
      },
    },
  };

  it("Given Istio-style oneOf, Then at most one of the alternatives may be set", () => {
    const ok = { spec: { match: { exact: "/a" } } };
    expect(validateAgainstSchema(ok, schema).causes).toEqual([]);
    expect(validateAgainstSchema({ spec: { match: {} } }, schema).causes).toEqual([]);
    const both = validateAgainstSchema({ spec: { match: { exact: "/a", prefix: "/" } } }, schema).causes;
    expect(both).toEqual([
      expect.objectContaining({ field: "spec.match", message: expect.stringContaining("oneOf") as unknown }),
    ]);
  });

  it("Given nulls, defaults and int-or-string, Then nulls of non-nullable fields drop, defaults fill in, ints and strings pass", () => {
    const object: JsonObject = { spec: { timeout: null, port: "http", unknown: 1 } };
    const outcome = validateAgainstSchema(object, schema);
    expect(outcome).toEqual({ causes: [], pruned: ["spec.unknown"], blocking: false });
    expect(object).toEqual({ spec: { timeout: null, port: "http", retries: 3 } });
    expect(validateAgainstSchema({ spec: { port: 1.5 } }, schema).causes[0]?.field).toBe("spec.port");
  });
});

describe("managed fields", () => {
  it("Given an object, Then its field set round-trips through fieldsV1 with list-map keys like the real server", () => {
    const object: JsonObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x", labels: { app: "x" }, finalizers: ["a"] },
      spec: { template: { spec: { containers: [{ name: "c", image: "i" }] } }, strategy: {} },
    };
    const fields = fieldSet(object, builtinListType, "main");
    const v1 = toFieldsV1(fields);
    expect(v1).toEqual({
      "f:metadata": { "f:finalizers": { 'v:"a"': {} }, "f:labels": { "f:app": {} } },
      "f:spec": {
        "f:strategy": {},
        "f:template": {
          "f:spec": { "f:containers": { 'k:{"name":"c"}': { ".": {}, "f:image": {}, "f:name": {} } } },
        },
      },
    });
    expect(fromFieldsV1(v1)).toEqual(fields);
    expect(describePath('f:spec\nf:template\nf:spec\nf:containers\nk:{"name":"c"}\nf:image')).toBe(
      '.spec.template.spec.containers[name="c"].image',
    );
  });
});

describe("versions and certificates", () => {
  it("Given Kubernetes versions, Then GA sorts before beta before alpha", () => {
    expect(["v1alpha3", "v1beta1", "v2", "v1", "v2beta2", "foo"].sort(compareVersions)).toEqual([
      "v2",
      "v1",
      "v2beta2",
      "v1beta1",
      "v1alpha3",
      "foo",
    ]);
  });

  it("Given the sandbox certificate, Then it parses as X.509 for 127.0.0.1 and matches its key", () => {
    const { cert } = sandboxTlsCredentials();
    const x509 = new X509Certificate(cert);
    expect(x509.subject).toBe("CN=clustershift-sandbox");
    expect(x509.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x509.verify(x509.publicKey)).toBe(true);
  });

  it("Given serials with leading zero bytes or a top bit set, Then they are DER's minimal INTEGERs", () => {
    const hex = (bytes: number[]) => integer(Buffer.from(bytes)).toString("hex");
    expect(hex([0x00, 0x12, 0x34])).toBe("02021234");
    expect(hex([0x00, 0x00, 0x92])).toBe("0202" + "0092");
    expect(hex([0x92, 0x01])).toBe("0203" + "009201");
    expect(hex([0x00])).toBe("020100");
    expect(hex([0x02])).toBe("020102");
  });
});
