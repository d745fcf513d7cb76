import { existsSync } from "node:fs";
import { resolve } from "node:path";

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
