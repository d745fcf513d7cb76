import { parseAllDocuments } from "yaml";
import type { ClusterApi } from "./api.js";
import { isObject, objectAt, stringAt, type JsonObject } from "./json.js";
import { ISTIO_CRDS } from "./istio-crds.js";

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

/** What the `istio` option of the sandbox installs. */
export type IstioCrdSource = boolean | { crdYaml: string };

export function istioCrds(source: IstioCrdSource | undefined): JsonObject[] {
  if (source === undefined || source === false) return [];
  return source === true ? ISTIO_CRDS : crdsFromYaml(source.crdYaml);
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
