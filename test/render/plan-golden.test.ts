import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSandbox } from "../../src/cli/commands/sandbox.js";
import { apply, plan } from "../../src/engine/executor.js";
import type { RunPlan } from "../../src/engine/planner.js";
import { loadPlaybook } from "../../src/playbook/load.js";
import { planJson, renderPlanText } from "../../src/render/plan.js";
import { builtinRegistry } from "../../src/steps/index.js";
import { inProcessEngine } from "../support/engine.js";
import { useTempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

async function withSeed<T>(dir: string, seed: string, body: (kubeconfig: string) => Promise<T>): Promise<T> {
  const kubeconfig = join(dir, `${seed}.kubeconfig`);
  const lines: string[] = [];
  const stop = new AbortController();
  const running = runSandbox(
    { kubeconfig, clusters: ["source"], istio: false, seed, signal: stop.signal },
    (l) => lines.push(l),
  );
  try {
    await eventually(() => (lines.some((l) => l.startsWith("Press Ctrl-C")) ? true : undefined), 60_000, {
      message: () => `the sandbox did not start: ${lines.join("\n")}`,
    });
    return await body(kubeconfig);
  } finally {
    stop.abort();
    await running;
  }
}

describe("plan output goldens (sandbox seeds)", () => {
  const dir = useTempDir("plan-golden");

  it.each([
    ["bookinfo", "playbooks/bookinfo-sandbox.yaml"],
    ["online-boutique", "playbooks/online-boutique-sandbox.yaml"],
  ])(
    "Given --seed %s, When its shipped playbook is planned fresh and after a stop, Then text, colour and JSON match the goldens",
    async (seed, file) => {
      await withSeed(dir(), seed, async (kubeconfig) => {
        const playbook = await loadPlaybook(file);
        const stateDir = join(dir(), `${seed}-state`);
        const registry = await builtinRegistry();
        const made = (stopWhen?: Parameters<typeof inProcessEngine>[0]["stopWhen"]) =>
          inProcessEngine({
            registry,
            playbook,
            stateDir,
            playbookFile: file,
            kubeconfig,
            ...(stopWhen ? { stopWhen } : {}),
          });
        const golden = async (name: string, result: RunPlan) => {
          await expect(renderPlanText(result, file)).toMatchFileSnapshot(
            `__golden__/plan-${seed}-${name}.txt`,
          );
          await expect(renderPlanText(result, file, { color: true })).toMatchFileSnapshot(
            `__golden__/plan-${seed}-${name}.color.txt`,
          );
          await expect(JSON.stringify(planJson(result), null, 2)).toMatchFileSnapshot(
            `__golden__/plan-${seed}-${name}.json`,
          );
        };
        await golden("fresh", await plan(made().engine));
        // Stopped inside mirror-workloads, as Ctrl-C would: what it wrote plans as unchanged, the rest as before.
        let mirrored = 0;
        const stopped = made(
          (event) => event.type === "change-applied" && event.step === "mirror-workloads" && ++mirrored === 8,
        );
        await apply(stopped.engine, () => Promise.resolve(true)).catch(() => undefined);
        await golden("resumed", await plan(made().engine));
      });
    },
    600_000,
  );
});
