import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ClusterPort, KubeObject } from "../../src/providers/kubernetes/port.js";
import { mulberry32 } from "../../src/sandbox/faults.js";
import { skipReason, strip } from "../../src/steps/mirror-workloads/strip.js";
import { CLI, ROOT, runCli, type CliResult } from "../support/cli.js";
import { SUBSTRATES, useClusters, type Substrate } from "../support/clusters.js";
import { faultSeed } from "../support/faults.js";
import { eventually } from "../support/wait.js";
import {
  APPROVAL_PLAYBOOK,
  applyArgs,
  PLUGIN,
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
    // Four CLI runs per crash point; against a real control plane each takes longer. Generous: two busy cores.
    const pointMs = backend.substrate === "real kube-apiserver" ? 300_000 : 120_000;

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
    }, pointMs);

    it("Given an uninterrupted run, then the world reaches its final state", () => {
      expect(finalWorld["weight.json"]).toBe('{"weight":100}');
      expect(finalWorld["beta.json"]).toBe('{"name":"beta","labels":{"istio.io/rev":"asm-managed"}}');
    });

    // 3 objects (one update of an existing one, two creates, one of them a secret) + 3 weights: a change record
    // before each write and an applied record after it. One test per crash point, each with its own budget: a
    // busy machine slows every point alike, and a slow point says which one it was.
    it.each(Array.from({ length: crashPoints }, (_, i) => i + 1))(
      "Given apply killed after journaled change %i, when apply runs again, then it finishes with the same final state; and rollback from the crash point restores the initial state",
      async (point) => {
        const crash = async () => {
          const world = await freshSandbox();
          const killed = await run(world, applyArgs, { CLUSTERSHIFT_CRASH_AFTER: String(point) });
          expect(killed.signal, `crash point ${point}: ${killed.stderr}`).toBe("SIGKILL");
          return world;
        };
        const resumed = await crash();
        const resume = await run(resumed, applyArgs);
        expect(resume.code, `resume after crash point ${point}: ${resume.stderr}`).toBe(0);
        expect(resume.stdout).toContain("warning: taking over the lock of pid");
        expect(await worldOf(resumed), `world after resume from crash point ${point}`).toEqual(finalWorld);

        const crashed = await crash();
        const back = await run(crashed, rollbackArgs);
        expect(back.code, `rollback from crash point ${point}: ${back.stderr}`).toBe(0);
        expect(await worldOf(crashed), `world after rollback from crash point ${point}`).toEqual(
          initialWorld,
        );
      },
      pointMs,
    );

    it(
      "Given an apply holding the run's lock, when a second apply starts, then it exits 1 with the lock message, changing nothing, and the first runs on",
      async () => {
        const world = await freshSandbox();
        const prepared = await prepare(world, APPROVAL_PLAYBOOK);
        // Two children started together overlap only if neither outruns the other's start-up, which a busy machine
        // does not promise. The first is frozen (SIGSTOP) once it shows its plan, which it makes holding the lock,
        // so the second certainly meets the lock (a Kubernetes lease held by it lasts 60 s unrenewed); then it is
        // let go.
        const first = startCli(world, applyArgs(prepared.playbook), prepared.env);
        await eventually(() => (/^Plan: /m.test(first.stdout()) ? true : undefined), pointMs - 30_000, {
          message: () => `the first apply showed no plan: ${first.stderr()}`,
        });
        first.child.kill("SIGSTOP");
        let second: CliResult;
        try {
          second = await cli(world, applyArgs(prepared.playbook), prepared.env);
        } finally {
          first.child.kill("SIGCONT");
        }
        expect(second.code, second.stderr).toBe(1);
        expect(second.stderr).toMatch(/^error: locked by pid \d+ on \S+ since \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
        expect(second.stderr).toContain(`locked by pid ${first.child.pid} `);
        expect(second.stdout).toBe("");
        const done = await first.done;
        expect(done.code, done.stderr).toBe(0);
      },
      pointMs,
    );
  },
);

/** The CLI as a child process, as {@link cli} runs it, with the child at hand (to stop and continue it). */
function startCli(world: Sandbox, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args, "--state-dir", world.state], {
    cwd: ROOT,
    env: {
      ...process.env,
      NO_COLOR: "1",
      CLUSTERSHIFT_PLUGIN: PLUGIN,
      CLUSTERSHIFT_TEST_WORLD: world.world,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** The target's objects a migration writes, as `Kind namespace/name` → what a user wrote (server-owned parts stripped). */
async function targetWorld(port: ClusterPort): Promise<Record<string, KubeObject>> {
  const world: Record<string, KubeObject> = {};
  for (const name of ["shop", "asm-ingress"]) {
    const namespace = await port.get({ apiVersion: "v1", kind: "Namespace", name });
    if (namespace) world[`Namespace ${name}`] = strip(namespace);
  }
  for (const [apiVersion, kind] of WORLD_KINDS) {
    for (const namespace of ["shop", "asm-ingress"]) {
      for (const object of await port.list(apiVersion, kind, { namespace })) {
        if (skipReason(object) !== undefined) continue;
        world[`${kind} ${namespace}/${object.metadata.name}`] = strip(object);
      }
    }
  }
  return world;
}

const WORLD_KINDS = [
  ["v1", "ConfigMap"],
  ["v1", "Secret"],
  ["v1", "Service"],
  ["v1", "ServiceAccount"],
  ["apps/v1", "Deployment"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["networking.istio.io/v1", "Gateway"],
] as const;

/** Mirror one namespace and install the target's ingress gateway: writes of every kind, updates among them. */
const KUBE_PLAYBOOK = `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata:
  name: crash-kube
spec:
  source:
    context: source
  target:
    context: target
    ingress: {namespace: asm-ingress, service: asm-ingressgateway, gateway: asm-ingress/asm-ingressgateway, install: true}
  workloads:
    namespaces: [shop]
    namespaceLabels: {istio.io/rev: asm-managed}
    rolloutTimeout: 3m
`;

const shopObjects = (mode: string): KubeObject[] => [
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "shop" }, data: { mode } },
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "credentials", namespace: "shop" },
    type: "Opaque",
    stringData: { token: "s3cr3t" },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 8080 }] }] },
      },
    },
  },
];

/** The change records of the uninterrupted Kubernetes migration (see its test). */
const RECORDS = 24;

/** `count` distinct crash points out of 1..`of`, drawn from `random`, in order; the first and last always. */
function crashPoints(of: number, count: number, random: () => number): number[] {
  const points = new Set([1, of]);
  while (points.size < Math.min(count, of)) points.add(1 + Math.floor(random() * of));
  return [...points].sort((a, b) => a - b);
}

describe.each(SUBSTRATES)(
  "crash safety of a Kubernetes migration on %s (real child processes, SIGKILL after journaled changes)",
  (substrate) => {
    const clusters = useClusters(substrate, { readyDelayMs: 20 });
    // Each crash point runs the CLI five times, with rollouts and a namespace deletion in each round; the
    // reference run in beforeAll runs it twice. Generous: two busy cores.
    const pointMs = substrate === "sandbox" ? 180_000 : 600_000;
    const settleMs = substrate === "sandbox" ? 30_000 : 180_000;
    let playbook: string;
    let initial: Record<string, KubeObject>;
    let final: Record<string, KubeObject>;
    let records = 0;

    const cliRun = (stateDir: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli([...args, "-f", playbook, "--state-dir", stateDir], {
        env: { KUBECONFIG: clusters().kubeconfigPath, ...env },
      });
    /** The target once no namespace of the run is terminating: what a rollback leaves behind when it is done. */
    const settledWorld = async () =>
      eventually(
        async () => {
          const target = clusters().client("target");
          for (const name of ["shop", "asm-ingress"]) {
            const ns = await target.get({ apiVersion: "v1", kind: "Namespace", name });
            if (ns?.metadata.deletionTimestamp) return undefined;
          }
          return targetWorld(target);
        },
        settleMs,
        { intervalMs: 250 },
      );

    beforeAll(async () => {
      const dir = clusters().dir;
      playbook = join(dir, "crash-kube.yaml");
      await writeFile(playbook, KUBE_PLAYBOOK);
      await clusters().seed("source", [
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: "shop", labels: { "istio-injection": "enabled" } },
        },
        ...shopObjects("new"),
      ]);
      // On the target, an older copy someone made: the mirror updates these, and rollback must bring them back.
      await clusters().seed("target", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { team: "shop" } } },
        shopObjects("old")[0]!,
      ]);
      initial = await settledWorld();
      const stateDir = join(dir, "reference");
      const result = await cliRun(stateDir, ["apply", "--yes", "--non-interactive"]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      final = await settledWorld();
      records = (await readFile(join(stateDir, "crash-kube", "journal.jsonl"), "utf8"))
        .split("\n")
        .filter((line) => /"type":"change(-applied)?"/.test(line)).length;
      const back = await cliRun(stateDir, ["rollback", "--yes"]);
      expect(back.code, back.stderr).toBe(0);
      expect(await settledWorld()).toEqual(initial);
    }, pointMs);

    it("Given an uninterrupted run, then the target holds the mirrored shop and the gateway, and rollback brings back the older copy exactly", () => {
      expect(final["ConfigMap shop/settings"]).toMatchObject({ data: { mode: "new" } });
      expect(initial["ConfigMap shop/settings"]).toMatchObject({ data: { mode: "old" } });
      expect(Object.keys(final)).toEqual(
        expect.arrayContaining([
          "Deployment shop/web",
          "Deployment asm-ingress/asm-ingressgateway",
          "Gateway asm-ingress/asm-ingressgateway",
        ]),
      );
      // 5 mirrored objects and 7 of the gateway, a change record before each write and an applied one after.
      expect(records).toBe(RECORDS);
    });

    // A sample of the 24 points (each costs five CLI runs with rollouts), drawn when the tests are collected so that
    // each point is a test of its own with its own budget; the seed says which. The first test checks that the
    // uninterrupted run journals exactly these 24 records.
    const seed = faultSeed("crash point seed");
    const points = crashPoints(RECORDS, substrate === "sandbox" ? 8 : 6, mulberry32(seed));
    let round = 0;
    it.each(points)(
      "Given apply killed after journaled change %i, when apply runs again, then the target is as after an uninterrupted run; and rollback from the crash point restores it exactly",
      async (point) => {
        expect(records, "change records of the uninterrupted run").toBe(RECORDS);
        const crash = async () => {
          const stateDir = join(clusters().dir, `state-${++round}`);
          const killed = await cliRun(stateDir, ["apply", "--yes", "--non-interactive"], {
            CLUSTERSHIFT_CRASH_AFTER: String(point),
          });
          expect(killed.signal, `crash point ${point}: ${killed.stderr}`).toBe("SIGKILL");
          return stateDir;
        };
        const resumed = await crash();
        const resume = await cliRun(resumed, ["apply", "--yes", "--non-interactive"]);
        expect(resume.code, `resume after crash point ${point}: ${resume.stderr}`).toBe(0);
        expect(await settledWorld(), `target after resume from crash point ${point}`).toEqual(final);
        const reset = await cliRun(resumed, ["rollback", "--yes"]);
        expect(reset.code, `rollback after resume from crash point ${point}: ${reset.stderr}`).toBe(0);
        expect(
          await settledWorld(),
          `target after rollback of the resumed run (crash point ${point})`,
        ).toEqual(initial);

        const crashed = await crash();
        const back = await cliRun(crashed, ["rollback", "--yes"]);
        expect(back.code, `rollback from crash point ${point}: ${back.stderr}`).toBe(0);
        expect(await settledWorld(), `target after rollback from crash point ${point}`).toEqual(initial);
      },
      pointMs,
    );
  },
);
