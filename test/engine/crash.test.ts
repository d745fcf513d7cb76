import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";
import { type CliResult } from "../support/cli.js";
import {
  APPROVAL_PLAYBOOK,
  applyArgs,
  cli,
  ENGINE_PLAYBOOK,
  freshSandbox,
  rollbackArgs,
  withKubernetesState,
  worldOf,
  type Sandbox,
} from "./support.js";

/** Where the journal and lock live: the local directory, or ConfigMaps and a Lease in a (sandbox) cluster. */
interface Backend {
  name: string;
  /** The playbook to run against `world`, and the environment the CLI needs. */
  prepare(world: Sandbox, playbook: string): Promise<{ playbook: string; env: NodeJS.ProcessEnv }>;
}

let cluster: TestSandbox | undefined;
let namespaces = 0;

const local: Backend = {
  name: "local",
  prepare: (_world, playbook) => Promise.resolve({ playbook, env: {} }),
};
const kubernetes: Backend = {
  name: "kubernetes",
  async prepare(world, playbook) {
    cluster ??= await withSandbox({ clusters: ["source"] });
    // A namespace per world: each crash point starts from an empty journal.
    const path = await withKubernetesState(world, playbook, `clustershift-state-${++namespaces}`);
    return { playbook: path, env: { KUBECONFIG: cluster.kubeconfigPath } };
  },
};

afterAll(async () => {
  await cluster?.stop();
});

describe.each([local, kubernetes])(
  "crash safety with the $name state backend (real child processes, SIGKILL after each journaled change)",
  (backend) => {
    let initialWorld: Record<string, string>;
    let finalWorld: Record<string, string>;
    const crashPoints = 12;

    const prepared = new Map<string, { playbook: string; env: NodeJS.ProcessEnv }>();
    const run = async (
      world: Sandbox,
      args: (pb: string) => string[],
      env: NodeJS.ProcessEnv = {},
    ): Promise<CliResult> => {
      let setup = prepared.get(world.dir);
      if (!setup) prepared.set(world.dir, (setup = await backend.prepare(world, ENGINE_PLAYBOOK)));
      return cli(world, args(setup.playbook), { ...setup.env, ...env });
    };

    beforeAll(async () => {
      const reference = await freshSandbox();
      initialWorld = await worldOf(reference);
      const result = await run(reference, applyArgs);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      finalWorld = await worldOf(reference);
    });

    it("Given an uninterrupted run, then the world reaches its final state", () => {
      expect(finalWorld["weight.json"]).toBe('{"weight":100}');
      expect(finalWorld["beta.json"]).toBe('{"name":"beta","labels":{"istio.io/rev":"asm-managed"}}');
    });

    it("Given apply killed after each journaled change, when apply runs again, then it finishes with the same final state; and rollback from the crash point restores the initial state", async () => {
      // 3 objects (one update of an existing one, two creates, one of them a secret) + 3 weights: a change
      // record before each write and an applied record after it.
      const crash = async (point: number) => {
        const world = await freshSandbox();
        const killed = await run(world, applyArgs, { CLUSTERSHIFT_CRASH_AFTER: String(point) });
        expect(killed.signal, `crash point ${point}: ${killed.stderr}`).toBe("SIGKILL");
        return world;
      };
      for (let point = 1; point <= crashPoints; point++) {
        const resumed = await crash(point);
        const resume = await run(resumed, applyArgs);
        expect(resume.code, `resume after crash point ${point}: ${resume.stderr}`).toBe(0);
        expect(resume.stdout).toContain("warning: taking over the lock of pid");
        expect(await worldOf(resumed), `world after resume from crash point ${point}`).toEqual(finalWorld);

        const crashed = await crash(point);
        const back = await run(crashed, rollbackArgs);
        expect(back.code, `rollback from crash point ${point}: ${back.stderr}`).toBe(0);
        expect(await worldOf(crashed), `world after rollback from crash point ${point}`).toEqual(
          initialWorld,
        );
      }
    });

    it("Given two applies started together, then exactly one runs and the other exits 1 with the lock message, changing nothing", async () => {
      const world = await freshSandbox();
      const prepared = await backend.prepare(world, APPROVAL_PLAYBOOK);
      const both = await Promise.all(
        [0, 1].map(() => cli(world, applyArgs(prepared.playbook), prepared.env)),
      );
      expect(both.filter((r) => r.code === 0)).toHaveLength(1);
      const losers = both.filter((r) => r.code === 1);
      expect(losers).toHaveLength(1);
      expect(losers[0]?.stderr).toMatch(/^error: locked by pid \d+ on \S+ since \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      expect(losers[0]?.stdout).toBe("");
    });
  },
);
