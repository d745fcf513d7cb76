import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ClusterApi } from "./api.js";
import { isObject, objectAt, stringAt, type JsonObject } from "./json.js";

/** Where the package keeps Istio's CRDs (see its README): the same from the source tree and from dist/. */
const ISTIO_CRD_FILE = join("src", "sandbox", "istio", "crd-all.gen.yaml");

function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`clustershift's package.json is not above ${from}`);
    dir = parent;
  }
  return dir;
}

let shipped: string | undefined;

/** Istio's own CRDs (crd-all.gen.yaml, CEL rules included) as shipped in the package. */
export function istioCrdYaml(): string {
  shipped ??= readFileSync(join(packageRoot(import.meta.dirname), ISTIO_CRD_FILE), "utf8");
  return shipped;
}

const parsed = new Map<string, JsonObject[]>();

/** The CustomResourceDefinitions of a multi-document YAML text, parsed once per text. */
export function crdsFromYaml(text: string): JsonObject[] {
  const cached = parsed.get(text);
  if (cached) return cached;
  const crds: JsonObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`invalid CRD YAML: ${doc.errors[0]?.message ?? "parse error"}`);
    const value: unknown = doc.toJS();
    if (isObject(value) && value["kind"] === "CustomResourceDefinition") crds.push(value);
  }
  parsed.set(text, crds);
  return crds;
}

/** What the `istio` option of the sandbox installs: Istio's CRDs as shipped, or those of a YAML text. */
export type IstioCrdSource = boolean | { crdYaml: string };

export function istioCrds(source: IstioCrdSource | undefined): JsonObject[] {
  if (source === undefined || source === false) return [];
  return crdsFromYaml(source === true ? istioCrdYaml() : source.crdYaml);
}

/** Creates (or replaces) each CRD, as `kubectl apply` of the CRD bundle would. */
export function installCrds(api: ClusterApi, crds: readonly JsonObject[]): number {
  const type = api.typeForKind("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  const options = { version: "v1", fieldManager: "clustershift-sandbox", force: true };
  for (const crd of crds) {
    const name = stringAt(objectAt(crd, "metadata"), "name") ?? "";
    api.apply(type, "", name, crd, options);
  }
  return crds.length;
}
