import type { TestProject } from "vitest/node";
import { buildDist } from "./support/build-dist.js";
import { bundleCli } from "../tools/bundle.js";
import { ensureOracles, type Oracles } from "../tools/oracles/build.js";

declare module "vitest" {
  export interface ProvidedContext {
    oracles: Oracles;
  }
}

/**
 * Builds the CLI as `npm run build` does (child-process tests run the bundle in `dist/bin/`) and the test oracles (a real kube-apiserver, etcd,
 * kube-controller-manager and istioctl, built once from the Go module proxy and cached), then names the control
 * plane the suites are judged by.
 */
export async function setup(project: TestProject): Promise<void> {
  buildDist(process.cwd());
  await bundleCli(process.cwd());
  const oracles = await ensureOracles();
  const { kubernetes, etcd, istio } = oracles.versions;
  process.stdout.write(
    `control plane: kube-apiserver ${kubernetes} (etcd v${etcd}); istioctl from istio.io/istio ${istio}\n`,
  );
  project.provide("oracles", oracles);
}
