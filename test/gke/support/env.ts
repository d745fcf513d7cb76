import { rm } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, vi } from "vitest";
import type { GkePort } from "../../../src/providers/gke/port.js";
import { FakeGke, type FakeGkeOptions } from "./fake-gke.js";
import { FakeHub, type FakeHubOptions } from "./fake-gkehub.js";
import type { Step } from "../../../src/engine/types.js";
import { tempDir } from "../../support/temp.js";
import { RunHarness } from "../../support/harness.js";
import { StepRunner } from "../harness.js";

export interface GkeWorld {
  gke: FakeGke;
  hub: FakeHub;
  dir: string;
  kubeconfig: string;
  runner<S>(step: Step<S>, playbook: unknown, options?: { destroyProvisioned?: boolean }): StepRunner<S>;
  /** The step alone, run by the engine on an in-memory journal, with this world's kubeconfig. */
  run(
    step: Step<unknown>,
    playbook: Record<string, unknown>,
    options?: { destroyProvisioned?: boolean },
  ): RunHarness;
}

/** Fast polling and retry backoff against the fakes, injected as the CLI injects its hooks (RunOptions.gkeTiming). */
export const GKE_TEST_TIMING = { pollIntervalMs: 5, retryDelayMs: 1 } as const;

/**
 * Fresh fakes per test, reached the way the CLI reaches them (`CLUSTERSHIFT_GKE_ENDPOINT`,
 * `CLUSTERSHIFT_GKEHUB_ENDPOINT`), with a kubeconfig in a temporary directory; runs get {@link GKE_TEST_TIMING}.
 */
export function useGkeWorld(options: { gke?: FakeGkeOptions; hub?: FakeHubOptions } = {}): GkeWorld {
  const runners: StepRunner<unknown>[] = [];
  const world = {} as GkeWorld;
  beforeEach(async () => {
    world.gke = await new FakeGke(options.gke).start();
    world.hub = await new FakeHub(options.hub).start();
    world.dir = await tempDir("gke");
    world.kubeconfig = path.join(world.dir, "config");
    vi.stubEnv("CLUSTERSHIFT_GKE_ENDPOINT", world.gke.endpoint);
    vi.stubEnv("CLUSTERSHIFT_GKEHUB_ENDPOINT", world.hub.endpoint);
    world.runner = (step, playbook, extra = {}) => {
      const runner = new StepRunner(step, playbook, {
        kubeconfig: world.kubeconfig,
        gkeTiming: GKE_TEST_TIMING,
        ...extra,
      });
      runners.push(runner);
      return runner;
    };
    world.run = (step, playbook, extra = {}) =>
      new RunHarness([step], playbook, {
        kubeconfig: world.kubeconfig,
        options: { gkeTiming: GKE_TEST_TIMING, ...extra },
      });
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await (runner.clients.get("gke") as GkePort | undefined)?.close();
    vi.unstubAllEnvs();
    await world.gke.stop();
    await world.hub.stop();
    await rm(world.dir, { recursive: true, force: true });
  });
  return world;
}
