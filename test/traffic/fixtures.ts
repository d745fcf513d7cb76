import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";

import { FIXTURES, REPO_ROOT } from "../support/fixtures.js";

export { FIXTURES, REPO_ROOT };

/** The Kubernetes objects of a fixture file (comments and empty documents dropped), optionally put in `namespace`. */
export function loadFixture(path: string, namespace?: string): KubeObject[] {
  const text = readFileSync(resolve(FIXTURES, path), "utf8");
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter(
      (object): object is KubeObject => object !== null && typeof object === "object" && "kind" in object,
    )
    .map((object) =>
      namespace
        ? { ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? namespace } }
        : object,
    );
}

export function fixtureObject(path: string, kind: string, name: string, namespace?: string): KubeObject {
  const found = loadFixture(path, namespace).find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} not in ${path}`);
  return found;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

export function goldenPath(name: string): string {
  return resolve(import.meta.dirname, "__golden__", name);
}
