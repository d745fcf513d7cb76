import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exitCodeOf, UsageError } from "../../src/engine/errors.js";
import type { Diagnostic } from "../../src/playbook/load.js";
import { formatDiagnostic, loadPlaybook, parsePlaybook } from "../../src/playbook/load.js";
import { closest, editDistance, formatPath, formatValue } from "../../src/playbook/messages.js";
import { useTempDir } from "../support/temp.js";

const HEAD = "apiVersion: clustershift.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: demo\n";
const SIDES = "spec:\n  source:\n    context: a\n  target:\n    context: b\n";

function errors(text: string): string[] {
  const result = parsePlaybook(text, "pb.yaml");
  return result.ok ? [] : result.diagnostics.map(formatDiagnostic);
}

describe("parsePlaybook", () => {
  it("Given only source and target, When parsed, Then the defaults are filled in", () => {
    const result = parsePlaybook(HEAD + SIDES, "pb.yaml");
    expect(result).toEqual({
      ok: true,
      playbook: {
        apiVersion: "clustershift.dev/v1alpha1",
        kind: "Playbook",
        metadata: { name: "demo" },
        spec: { source: { context: "a" }, target: { context: "b" }, state: { backend: "local" } },
      },
    });
  });

  it("Given workloads with only namespaces, When parsed, Then the section defaults apply", () => {
    const result = parsePlaybook(`${HEAD + SIDES}  workloads: {namespaces: [shop]}\n`, "pb.yaml");
    expect(result.ok && result.playbook.spec.workloads).toEqual({
      namespaces: ["shop"],
      exclude: [],
      namespaceLabels: {},
      images: [],
      rolloutTimeout: "10m",
      managed: "mirror",
    });
  });

  it("Given a document start marker and one document, When parsed, Then it is accepted", () => {
    expect(errors(`---\n${HEAD}${SIDES}`)).toEqual([]);
  });

  it("Given a trailing empty document, When parsed, Then it is ignored", () => {
    expect(errors(`${HEAD}${SIDES}---\n`)).toEqual([]);
  });

  it("Given a missing field, When parsed, Then the error points at the key of its parent mapping", () => {
    expect(
      errors(
        `${HEAD}spec:\n  source: {context: a}\n  target:\n    provision: {provider: sandbox, name: b}\n`,
      ),
    ).toEqual(["pb.yaml:7:3: spec.target.context: Required value"]);
  });

  it("Given a missing field in a list item, When parsed, Then the error points at the item", () => {
    const text = `${HEAD + SIDES}  workloads:\n    namespaces: [shop]\n    images:\n      - from: x\n`;
    expect(errors(text)).toEqual(["pb.yaml:13:9: spec.workloads.images[0].to: Required value"]);
  });

  it("Given a key with no value, When parsed, Then the error points at the key", () => {
    expect(errors(`${HEAD}spec:\n  source:\n    context:\n  target: {context: b}\n`)).toEqual([
      "pb.yaml:7:5: spec.source.context: Invalid value: null: must be a string",
    ]);
  });

  it("Given a misspelled field, When parsed, Then the key is named with a suggestion", () => {
    expect(errors(`${HEAD}  nmae: x\n${SIDES}`)).toEqual([
      'pb.yaml:5:3: metadata.nmae: unknown field "nmae", did you mean "name"?',
    ]);
  });

  it("Given an unknown field nothing like a known one, When parsed, Then no suggestion is made", () => {
    expect(errors(`${HEAD + SIDES}  cloud: aws\n`)).toEqual([
      'pb.yaml:10:3: spec.cloud: unknown field "cloud"',
    ]);
  });

  it("Given a label key with dots, When a value is wrong, Then the path shows it in brackets", () => {
    const text = `${HEAD + SIDES}  workloads:\n    namespaces: [shop]\n    namespaceLabels: {istio.io/rev: 1}\n`;
    expect(errors(text)).toEqual([
      "pb.yaml:12:37: spec.workloads.namespaceLabels[istio.io/rev]: Invalid value: 1: must be a string",
    ]);
  });

  it("Given errors in reverse file order, When parsed, Then they are sorted by line and column", () => {
    const text = `${HEAD}spec:\n  target: {context: 1}\n  source: {context: 2}\n`;
    expect(errors(text)).toEqual([
      "pb.yaml:6:21: spec.target.context: Invalid value: 1: must be a string",
      "pb.yaml:7:21: spec.source.context: Invalid value: 2: must be a string",
    ]);
  });

  it("Given a scalar document, When parsed, Then the root must be a mapping", () => {
    expect(errors("hello\n")).toEqual(['pb.yaml:1:1: (root): Invalid value: "hello": must be a mapping']);
  });

  it("Given an alias that expands beyond reason, When parsed, Then it is refused, not expanded", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    const result = parsePlaybook(lines.join("\n") + "\n", "pb.yaml");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.diagnostics[0]).toMatchObject({ line: 1, col: 1, path: "(syntax)" });
  });

  it("Given schema errors, When parsed, Then the rules do not run on the ill-typed playbook", () => {
    const text = `${HEAD}spec:\n  source: {context: same}\n  target: {context: same}\n  dns: {provider: x, record: a.b}\n`;
    expect(errors(text)).toEqual([
      'pb.yaml:8:19: spec.dns.provider: Unsupported value: "x": supported values: "route53", "sandbox"',
    ]);
  });
});

describe("rules", () => {
  const dns = (fields: string) => `${HEAD + SIDES}  dns: {provider: sandbox, ${fields}}\n`;

  it("Given a record and zone that differ only in case and trailing dots, When parsed, Then the record is in the zone", () => {
    expect(errors(dns("zone: Example.COM, record: shop.example.com."))).toEqual([]);
  });

  it("Given a record at the zone apex of type A, When parsed, Then it is accepted", () => {
    expect(errors(dns("zone: example.com., record: example.com"))).toEqual([]);
  });

  it("Given a record whose name only ends like the zone, When parsed, Then it is outside the zone", () => {
    expect(errors(dns("zone: example.com, record: shopexample.com"))).toEqual([
      'pb.yaml:10:55: spec.dns.record: Invalid value: "shopexample.com": must be inside zone "example.com"',
    ]);
  });

  it("Given only a zoneId, When parsed, Then the record is not checked against a zone", () => {
    expect(errors(dns("zoneId: Z123, record: shop.example.org"))).toEqual([]);
  });

  it("Given an IPv6 target and a wildcard record, When parsed, Then both are accepted", () => {
    expect(
      errors(dns("zone: example.com, record: '*.example.com', type: AAAA, target: '2001:db8::1'")),
    ).toEqual([]);
  });

  it("Given Argo-style conditions, When parsed, Then they are accepted", () => {
    const text = `${HEAD}spec:
  source: {context: a, ingress: {namespace: i, service: s, gateway: i/g}}
  target: {context: b, ingress: {namespace: i, service: s, gateway: i/g}}
  traffic:
    namespace: shop
    service: frontend
    port: 80
    remoteHost: frontend.target.internal
    steps:
      - weight: 0
      - weight: 100
        analysis:
          prometheus: http://127.0.0.1:9090
          metrics:
            - {name: a, query: q, successCondition: "result >= 0.99", failureCondition: "<0.5"}
            - {name: b, query: q, failureCondition: "!= 0"}
`;
    expect(errors(text)).toEqual([]);
  });
});

describe("formatDiagnostic", () => {
  it("Given a diagnostic, When formatted, Then it is one file:line:col: path: message line", () => {
    const d: Diagnostic = {
      file: "a/pb.yaml",
      line: 3,
      col: 7,
      path: "spec.dns.lowTtl",
      message: "Invalid value: 1: x",
    };
    expect(formatDiagnostic(d)).toBe("a/pb.yaml:3:7: spec.dns.lowTtl: Invalid value: 1: x");
  });
});

describe("messages", () => {
  it("Given paths of fields, indices and label keys, When formatted, Then they read like Kubernetes field paths", () => {
    expect(formatPath([])).toBe("(root)");
    expect(formatPath(["spec", "traffic", "steps", 2, "weight"])).toBe("spec.traffic.steps[2].weight");
    expect(formatPath(["spec", "workloads", "namespaceLabels", "istio.io/rev"])).toBe(
      "spec.workloads.namespaceLabels[istio.io/rev]",
    );
  });

  it("Given values of each kind, When formatted, Then strings are quoted and collections elided", () => {
    expect([
      formatValue("a"),
      formatValue(1.5),
      formatValue(null),
      formatValue([]),
      formatValue([1]),
      formatValue({ a: 1 }),
    ]).toEqual(['"a"', "1.5", "null", "[]", "[...]", "{...}"]);
    expect(formatValue("x".repeat(100))).toBe(`"${"x".repeat(61)}..."`);
  });

  it("Given misspellings, When matched against known fields, Then the closest within two edits is suggested", () => {
    const known = ["namespaces", "exclude", "namespaceLabels", "images", "rolloutTimeout"];
    expect(closest("namespace", known)).toBe("namespaces");
    expect(closest("Images", known)).toBe("images");
    expect(closest("exlcude", known)).toBe("exclude");
    expect(closest("labels", known)).toBeUndefined();
    expect(closest("x", ["to"])).toBeUndefined();
    expect(editDistance("nmae", "name")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("loadPlaybook", () => {
  const dir = useTempDir("playbook");

  it("Given a valid file, When loaded, Then the playbook is returned", async () => {
    const file = path.join(dir(), "ok.yaml");
    await writeFile(file, HEAD + SIDES);
    await expect(loadPlaybook(file)).resolves.toMatchObject({ metadata: { name: "demo" } });
  });

  it("Given an invalid file, When loaded, Then a UsageError (exit 2) carries every formatted line", async () => {
    const file = path.join(dir(), "bad.yaml");
    await writeFile(file, `${HEAD}spec:\n  source: {context: a, x: 1}\n`);
    const error: unknown = await loadPlaybook(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeOf(error)).toBe(2);
    expect((error as UsageError).lines).toEqual([
      `${file}:5:1: spec.target: Required value`,
      `${file}:6:24: spec.source.x: unknown field "x"`,
    ]);
    expect((error as UsageError).message).toBe(`${file}:5:1: spec.target: Required value`);
  });

  it("Given a file that does not exist, When loaded, Then a UsageError names it", async () => {
    const file = path.join(dir(), "missing.yaml");
    await expect(loadPlaybook(file)).rejects.toThrow(
      new UsageError(`${file}: cannot read the playbook: no such file`),
    );
  });
});
