import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/**
 * The shared public fixtures (Online Boutique, Bookinfo, Istio's CRDs), read in place and never copied into the
 * project. They sit next to the checkout (`../shared/fixtures`); a clone elsewhere (CI in /tmp) finds them through
 * `CLUSTERSHIFT_FIXTURES` or at the workplace's `/work/shared/fixtures`. Missing fixtures fail the tests loudly.
 */
export const FIXTURES = locateFixtures();

function locateFixtures(): string {
  const candidates = [
    process.env.CLUSTERSHIFT_FIXTURES,
    resolve(REPO_ROOT, "../shared/fixtures"),
    "/work/shared/fixtures",
  ].filter((dir): dir is string => Boolean(dir));
  const found = candidates.find((dir) => existsSync(resolve(dir, "istio/crd-all.gen.yaml")));
  if (!found) {
    throw new Error(
      `the shared fixtures are not in any of ${candidates.join(", ")}: set CLUSTERSHIFT_FIXTURES to their folder`,
    );
  }
  return found;
}

/** Absolute path of a shared fixture, e.g. `fixturePath("istio/crd-all.gen.yaml")`. */
export function fixturePath(relative: string): string {
  return resolve(FIXTURES, relative);
}

const fixtureCache = new Map<string, string>();

export function readFixture(relative: string): string {
  let text = fixtureCache.get(relative);
  if (text === undefined) {
    text = readFileSync(fixturePath(relative), "utf8");
    fixtureCache.set(relative, text);
  }
  return text;
}

/** Istio's own CRDs, for `startSandbox({istio: {crdYaml: istioCrdYaml()}})`. */
export function istioCrdYaml(): string {
  return readFixture("istio/crd-all.gen.yaml");
}

/**
 * The Kubernetes objects of a multi-document fixture (comments and empty documents dropped), each a fresh copy;
 * with `namespace`, put there unless they name their own, as `kubectl apply -n` does.
 */
export function fixtureObjects(relative: string, namespace?: string): KubeObject[] {
  return parseAllDocuments(readFixture(relative))
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
