import { beforeAll, describe, expect, it } from "vitest";
import { SUBSTRATES, useClusters, type Substrate } from "../support/clusters.js";
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

/**
 * Where the journal and lock live: the local directory, or ConfigMaps, a Secret and a Lease in a cluster (the
 * sandbox, or a real kube-apiserver, which judges the Kubernetes backend's writes).
 */
interface Backend {
  name: string;
  substrate?: Substrate;
}

const BACKENDS: Backend[] = [
  { name: "local" },
  ...SUBSTRATES.map((substrate) => ({ name: `kubernetes on ${substrate}`, substrate })),
];

let namespaces = 0;

describe.each(BACKENDS)(
  "crash safety with the $name state backend (real child processes, SIGKILL after each journaled change)",
  (backend) => {
    let initialWorld: Record<string, string>;
    let finalWorld: Record<string, string>;
    const crashPoints = 12;
    const clusters = backend.substrate
      ? useClusters(backend.substrate, { clusters: ["source"], istio: false })
      : undefined;
    // Four CLI runs per crash point; against a real control plane each takes longer.
    const walkMs = backend.substrate === "real kube-apiserver" ? 900_000 : 300_000;

    const prepare = async (
      world: Sandbox,
      playbook: string,
    ): Promise<{ playbook: string; env: NodeJS.ProcessEnv }> => {
      if (!clusters) return { playbook, env: {} };
      // A namespace per world: each crash point starts from an empty journal.
      const path = await withKubernetesState(world, playbook, `clustershift-state-${++namespaces}`);
      return { playbook: path, env: { KUBECONFIG: clusters().kubeconfigPath } };
    };

    const prepared = new Map<string, { playbook: string; env: NodeJS.ProcessEnv }>();
    const run = async (
      world: Sandbox,
      args: (pb: string) => string[],
      env: NodeJS.ProcessEnv = {},
    ): Promise<CliResult> => {
      let setup = prepared.get(world.dir);
      if (!setup) prepared.set(world.dir, (setup = await prepare(world, ENGINE_PLAYBOOK)));
      return cli(world, args(setup.playbook), { ...setup.env, ...env });
    };

    beforeAll(async () => {
      const reference = await freshSandbox();
      initialWorld = await worldOf(reference);
      const result = await run(reference, applyArgs);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      finalWorld = await worldOf(reference);
    }, walkMs);

    it("Given an uninterrupted run, then the world reaches its final state", () => {
      expect(finalWorld["weight.json"]).toBe('{"weight":100}');
      expect(finalWorld["beta.json"]).toBe('{"name":"beta","labels":{"istio.io/rev":"asm-managed"}}');
    });

    it(
      "Given apply killed after each journaled change, when apply runs again, then it finishes with the same final state; and rollback from the crash point restores the initial state",
      async () => {
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
      },
      walkMs,
    );

    it(
      "Given two applies started together, then exactly one runs and the other exits 1 with the lock message, changing nothing",
      async () => {
        const world = await freshSandbox();
        const prepared = await prepare(world, APPROVAL_PLAYBOOK);
        const both = await Promise.all(
          [0, 1].map(() => cli(world, applyArgs(prepared.playbook), prepared.env)),
        );
        expect(both.filter((r) => r.code === 0)).toHaveLength(1);
        const losers = both.filter((r) => r.code === 1);
        expect(losers).toHaveLength(1);
        expect(losers[0]?.stderr).toMatch(
          /^error: locked by pid \d+ on \S+ since \d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
        );
        expect(losers[0]?.stdout).toBe("");
      },
      walkMs,
    );
  },
);
