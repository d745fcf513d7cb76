/**
 * `npm run bench` (issue 13 item 4, the migration as a schedule): a migration with scaled waits run by the engine's
 * executor and scheduler (engine/schedule.ts) with the built-in steps' own `needs`: provisioning 6 s, mesh
 * activation 10 s, the old DNS TTL 30 s, and two 3 s pauses (the real pause gate) between traffic weights. The steps
 * stand in for the built-ins (same kinds, same needs, one journaled change each, write-ahead on disk) and wait
 * instead of calling a cloud: what is measured is the schedule, not a provider. Prints the wall time W, the critical
 * path C the plan's expected waits give, and the sum of the waits S (what a run one step after another takes).
 * Goal: W ≤ 1.05 C.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { apply, type Engine } from "../src/engine/executor.js";
import { pauseGate } from "../src/engine/gates/pause.js";
import { LocalJournalStore } from "../src/engine/journal/local-store.js";
import { Registry } from "../src/engine/registry.js";
import { criticalPath, expectedWaitMs, scheduleOf } from "../src/engine/schedule.js";
import { sleep } from "../src/engine/sleep.js";
import type { PlannedGate, Step, StepKind } from "../src/engine/types.js";
import { playbookSchema } from "../src/playbook/schema.js";
import { registerBuiltins } from "../src/steps/index.js";

const SCALE = Number(process.env.BENCH_SCHEDULE_SCALE ?? 1);
const s = (seconds: number) => Math.round(seconds * 1000 * SCALE);
const GOAL = 1.05;

/** The waits of the scaled migration, by step instance; the pauses are gates of the two traffic steps. */
const WAITS: Record<string, number> = {
  "provision-cluster": s(6),
  "enable-mesh": s(10),
  "lower-dns-ttl": s(30),
};
const PAUSE_MS = s(3);

/** Instances per kind, in DESIGN.md's order: two traffic weights, the DNS switch. */
const INSTANCES: [StepKind, string[]][] = [
  ["provision-cluster", ["provision-cluster"]],
  ["enable-mesh", ["enable-mesh"]],
  ["install-ingress-gateway", ["install-ingress-gateway"]],
  ["mirror-workloads", ["mirror-workloads"]],
  ["expose-target", ["expose-target"]],
  ["shift-traffic", ["shift-traffic[1]", "shift-traffic[2]"]],
  ["lower-dns-ttl", ["lower-dns-ttl"]],
  ["cutover-dns", ["cutover-dns[switch]"]],
  ["decommission-source", ["decommission-source"]],
];

function standIn(kind: StepKind, ids: string[], needs: readonly StepKind[] | undefined): Step {
  const world = new Set<string>();
  return {
    kind,
    ...(needs === undefined ? {} : { needs }),
    expand: () => ids.map((id) => ({ id, title: id, spec: {} })),
    plan(instance) {
      const waitMs = WAITS[instance.id];
      const gates: PlannedGate[] =
        kind === "shift-traffic"
          ? [
              {
                address: `${instance.id}/pause`,
                gate: { type: "pause", duration: `${PAUSE_MS}ms` },
                onFailure: "rollback",
                detail: `pause ${PAUSE_MS}ms`,
              },
            ]
          : [];
      return Promise.resolve({
        id: instance.id,
        kind,
        title: instance.title,
        changes: [
          { action: "create", address: `bench ${instance.id}`, after: { id: instance.id } },
          ...(waitMs === undefined
            ? []
            : [
                {
                  action: "wait" as const,
                  address: `bench wait ${instance.id}`,
                  detail: "",
                  expectedMs: waitMs,
                },
              ]),
        ],
        gates,
      });
    },
    async apply(plan, ctx) {
      await ctx.change({ address: `bench ${plan.id}`, action: "create", after: { id: plan.id } }, () => {
        world.add(plan.id);
        return Promise.resolve();
      });
      const waitMs = WAITS[plan.id];
      if (waitMs !== undefined) await sleep(waitMs, ctx.signal);
    },
    verify: (plan) =>
      Promise.resolve(
        world.has(plan.id) ? { outcome: "passed" } : { outcome: "failed", detail: `${plan.id} missing` },
      ),
    rollback: (entries) => {
      for (const entry of entries) world.delete(entry.step);
      return Promise.resolve();
    },
  };
}

async function main(): Promise<void> {
  const builtins = registerBuiltins(new Registry());
  const registry = new Registry().gate(pauseGate);
  for (const [kind, ids] of INSTANCES) registry.step(standIn(kind, ids, builtins.getStep(kind).needs));
  const playbook = playbookSchema.parse({
    apiVersion: "clustershift.dev/v1alpha1",
    kind: "Playbook",
    metadata: { name: "bench-schedule" },
    spec: { source: { context: "bench-source" }, target: { context: "bench-target" } },
  });
  const dir = await mkdtemp(join(tmpdir(), "clustershift-bench-schedule-"));
  try {
    const engine: Engine = {
      registry,
      playbook,
      options: { playbookFile: "bench.yaml", stateDir: dir, nonInteractive: true },
      store: new LocalJournalStore(dir, playbook.metadata.name),
      sink: { emit: () => undefined, close: () => undefined },
      signal: new AbortController().signal,
    };
    let expected: { c: number; s: number; path: string[] } | undefined;
    const started = performance.now();
    const outcome = await apply(engine, async (plan) => {
      const schedule = scheduleOf(registry, plan.steps);
      const waits = new Map(plan.steps.map(({ plan: p }) => [p.id, expectedWaitMs(p)]));
      const path = criticalPath(schedule, waits);
      expected = { c: path.ms, s: path.sumMs, path: path.steps };
      return Promise.resolve(true);
    });
    const wall = performance.now() - started;
    if (outcome.outcome !== "completed" || !expected)
      throw new Error(`the run did not complete: ${outcome.message}`);
    const ratio = wall / expected.c;
    console.log(
      `schedule: wall ${(wall / 1000).toFixed(1)} s, critical path ${(expected.c / 1000).toFixed(1)} s, ` +
        `sum of waits ${(expected.s / 1000).toFixed(1)} s (W/C ${ratio.toFixed(3)}; goal ≤ ${GOAL}: ${ratio <= GOAL ? "met" : "NOT met"}; ` +
        `critical path ${expected.path.join(" → ")})`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
