/**
 * The mirror benchmark, on whatever serves the contexts `source` (seeded with the bench workload), `target`, `raw`
 * and `kubectl` of a kubeconfig: the sandbox (bench/mirror.ts) or a real control plane (test/bench, `npm run
 * bench:real`). Mirrors 200 namespaces × 10 kinds through the engine and the mirror-workloads step (plan,
 * write-ahead journal on disk, apply, verify), rolls it back, then applies the same objects with the same client
 * and no journal (raw), and with a sequential `kubectl apply --server-side` when kubectl is on PATH.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { stringify } from "yaml";
import type { RunEvent } from "../src/engine/events.js";
import { apply, rollback, type Engine } from "../src/engine/executor.js";
import { LocalJournalStore } from "../src/engine/journal/local-store.js";
import { Registry } from "../src/engine/registry.js";
import { playbookSchema } from "../src/playbook/schema.js";
import type { KubeObject } from "../src/providers/kubernetes/port.js";
import { throttleTotals } from "../src/providers/kubernetes/adaptive.js";
import { createClusterClient } from "../src/providers/kubernetes/client.js";
import { mapLimit } from "../src/providers/kubernetes/concurrency.js";
import { CONCURRENCY, mirrorWorkloadsStep } from "../src/steps/mirror-workloads/index.js";
import { benchNamespaces, KINDS_PER_NAMESPACE, namespaceObject, namespaceObjects } from "./workload.js";

export interface MirrorBenchOptions {
  /** A scratch directory: the journal, kubectl's cache. */
  dir: string;
  kubeconfig: string;
  /** How many namespaces of ten objects `source` holds (bench/workload.ts). */
  namespaces: number;
  /** What serves the contexts, for the report: `sandbox`, `real kube-apiserver`. */
  substrate: string;
}

/** Runs the mirror, its rollback, the raw apply and kubectl, in that order; returns the report. */
export async function runMirrorBench(options: MirrorBenchOptions): Promise<string> {
  const mirror = await benchMirror(options);
  // After the mirror, so that both run with the client warmed up (JIT, connections) alike.
  const raw = await benchRaw(options);
  const kubectl = (await hasKubectl()) ? await benchKubectl(options) : undefined;
  return report(options, mirror, raw, kubectl);
}
/** Objects kubectl applies one process each; its rate is measured on this sample, not on all 2,000. */
const KUBECTL_SAMPLE = Number(process.env.BENCH_KUBECTL_SAMPLE ?? 100);
const GOALS = { objectsPerSecond: 300, speedup: 5, peakRssMb: 300 };

interface Timed {
  at: number;
  event: RunEvent;
}

interface MirrorResult {
  objects: number;
  planMs: number;
  replanMs: number;
  writeMs: number;
  verifyMs: number;
  totalMs: number;
  peakRssMb: number;
  rollbackMs: number;
  reverted: number;
  /** What the engine's own clients met: 429s, retries, the lowest in-flight limit. */
  throttle: RawResult["throttle"];
}

/**
 * The baseline of the journaled writes: the same objects, server-side applied by the same client with the same
 * concurrency and the same order of kinds (namespaces first), with no plan and no journal, to a cluster of their own.
 */
async function benchRaw({ kubeconfig, namespaces: count }: MirrorBenchOptions): Promise<RawResult> {
  const client = createClusterClient("raw", { kubeconfig, fieldManager: "clustershift" });
  // Names of their own: on a real control plane `raw` and `kubectl` are contexts of the target's server.
  const namespaces = benchNamespaces(count, "raw");
  const started = performance.now();
  await mapLimit(namespaces, CONCURRENCY, (ns) => client.apply(namespaceObject(ns)));
  const objects = namespaces.flatMap((ns) => namespaceObjects(ns));
  await mapLimit(objects, CONCURRENCY, (object) => client.apply(object));
  const ms = performance.now() - started;
  return { objects: namespaces.length + objects.length, ms, throttle: { ...client.throttle } };
}

async function benchMirror({ dir, kubeconfig, namespaces }: MirrorBenchOptions): Promise<MirrorResult> {
  const throttledBefore = throttleTotals();
  const playbook = playbookSchema.parse({
    apiVersion: "clustershift.dev/v1alpha1",
    kind: "Playbook",
    metadata: { name: "bench" },
    spec: {
      source: { context: "source" },
      target: { context: "target" },
      workloads: {
        namespaces: benchNamespaces(namespaces),
        namespaceLabels: { "istio.io/rev": "asm-managed" },
        rolloutTimeout: "5m",
      },
    },
  });
  const events: Timed[] = [];
  const engine: Engine = {
    registry: new Registry().step(mirrorWorkloadsStep),
    playbook,
    options: {
      playbookFile: "bench.yaml",
      stateDir: join(dir, "state"),
      nonInteractive: true,
      kubeconfig,
    },
    store: new LocalJournalStore(join(dir, "state"), "bench"),
    sink: { emit: (event) => events.push({ at: performance.now(), event }), close: () => {} },
    signal: new AbortController().signal,
  };
  const started = performance.now();
  const outcome = await apply(engine, () => Promise.resolve(true));
  const finished = performance.now();
  if (outcome.outcome !== "completed") throw new Error(`the mirror did not complete: ${outcome.message}`);
  // Rollback deletes the namespaces the mirror created (their objects go with them) and waits until they are gone.
  const rollbackStarted = performance.now();
  const { reverted } = await rollback(engine);
  const rollbackMs = performance.now() - rollbackStarted;
  const at = (type: RunEvent["type"], last = false): number => {
    const found = last
      ? events.findLast((e) => e.event.type === type)
      : events.find((e) => e.event.type === type);
    if (!found) throw new Error(`no ${type} event`);
    return found.at;
  };
  const throttledAfter = throttleTotals();
  const stepStarted = at("step-started");
  const firstWrite = at("change-applied");
  const lastWrite = at("change-applied", true);
  return {
    objects: events.filter((e) => e.event.type === "change-applied").length,
    // The engine plans everything once for approval, then re-plans each step right before applying it.
    planMs: stepStarted - started,
    replanMs: firstWrite - stepStarted,
    writeMs: lastWrite - firstWrite,
    verifyMs: at("step-finished") - lastWrite,
    totalMs: finished - started,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    rollbackMs,
    reverted,
    throttle: {
      throttled: throttledAfter.throttled - throttledBefore.throttled,
      retries: throttledAfter.retries - throttledBefore.retries,
      lowestLimit: throttledAfter.lowestLimit,
    },
  };
}

interface RawResult {
  objects: number;
  ms: number;
  /** 429s, retries and the lowest in-flight limit the client met. */
  throttle: { throttled: number; retries: number; lowestLimit: number };
}

interface KubectlResult {
  perObject: { objects: number; ms: number };
  perNamespace: { objects: number; ms: number };
}

async function benchKubectl({ dir, kubeconfig, namespaces }: MirrorBenchOptions): Promise<KubectlResult> {
  const run = (input: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = execFile(
        "kubectl",
        [
          "--kubeconfig",
          kubeconfig,
          "--cache-dir",
          join(dir, "kube-cache"),
          "--context",
          "kubectl",
          "apply",
          "--server-side",
          "-f",
          "-",
        ],
        { timeout: 60_000 },
        (error, _stdout, stderr) =>
          error ? reject(new Error(`kubectl apply: ${stderr || error.message}`)) : resolve(),
      );
      child.stdin?.end(input);
    });
  const all = benchNamespaces(namespaces, "kubectl").map((ns) => [
    namespaceObject(ns),
    ...namespaceObjects(ns),
  ]);

  // Sequential, one process per object: what a script looping over manifests does.
  const sample = all.flat().slice(0, KUBECTL_SAMPLE);
  let started = performance.now();
  for (const object of sample) await run(JSON.stringify(object));
  const perObject = { objects: sample.length, ms: performance.now() - started };

  // One process per namespace file (a namespace and its ten objects): kubectl at its best, still sequential.
  const files = all
    .slice(Math.ceil(KUBECTL_SAMPLE / (KINDS_PER_NAMESPACE + 1)) + 1)
    .slice(0, Math.ceil(KUBECTL_SAMPLE / (KINDS_PER_NAMESPACE + 1)));
  started = performance.now();
  for (const objects of files) await run(objects.map((o: KubeObject) => stringify(o)).join("---\n"));
  const perNamespace = { objects: files.flat().length, ms: performance.now() - started };
  return { perObject, perNamespace };
}

function hasKubectl(): Promise<boolean> {
  return new Promise((resolve) =>
    execFile("kubectl", ["version", "--client"], { timeout: 20_000 }, (error) => resolve(!error)),
  );
}

function report(
  { namespaces, substrate }: MirrorBenchOptions,
  mirror: MirrorResult,
  raw: RawResult,
  kubectl: KubectlResult | undefined,
): string {
  const rate = (objects: number, ms: number) => objects / (ms / 1000);
  // The headline: a plan of both clusters and the journaled writes, as `apply` does them for one step.
  const mirrorRate = rate(mirror.objects, mirror.replanMs + mirror.writeMs);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`.padStart(7);
  const lines = [
    `clustershift mirror-workloads on the ${substrate}: ${mirror.objects} objects (${namespaces} namespaces × ${KINDS_PER_NAMESPACE} kinds, and the namespaces)`,
    `  plan for approval (reads both clusters)  ${s(mirror.planMs)}`,
    `  re-plan before applying                  ${s(mirror.replanMs)}`,
    `  journaled writes (fsync'd, SSA)          ${s(mirror.writeMs)}  ${rate(mirror.objects, mirror.writeMs).toFixed(0)} objects/s`,
    `  plan + apply                             ${s(mirror.replanMs + mirror.writeMs)}  ${mirrorRate.toFixed(0)} objects/s (goal ≥ ${GOALS.objectsPerSecond})`,
    `  verify (rollouts, contents)              ${s(mirror.verifyMs)}`,
    `  end to end                               ${s(mirror.totalMs)}  ${rate(mirror.objects, mirror.totalMs).toFixed(0)} objects/s`,
    `  peak RSS                                 ${mirror.peakRssMb.toFixed(0).padStart(4)} MB (goal < ${GOALS.peakRssMb} MB)`,
    `  the server's limits (journaled run)      ${mirror.throttle.throttled} answers 429, ${mirror.throttle.retries} retries, lowest in-flight limit ${mirror.throttle.lowestLimit}`,
    `raw server-side apply (same client, concurrency ${CONCURRENCY}, no plan, no journal): ${raw.objects} objects in ${s(raw.ms).trim()}, ${rate(raw.objects, raw.ms).toFixed(0)} objects/s; ${raw.throttle.throttled} answers 429, ${raw.throttle.retries} retries, lowest in-flight limit ${raw.throttle.lowestLimit}`,
    `clustershift journaled writes: ${rate(mirror.objects, mirror.writeMs).toFixed(0)} objects/s (${(rate(mirror.objects, mirror.writeMs) / rate(raw.objects, raw.ms)).toFixed(2)} of raw; goal ≥ 0.8)`,
    `rollback of the mirror: ${mirror.reverted} changes in ${s(mirror.rollbackMs).trim()} (${(mirror.rollbackMs / (mirror.replanMs + mirror.writeMs)).toFixed(2)} of plan + apply; goal ≤ 0.5)`,
  ];
  if (kubectl) {
    const perObject = rate(kubectl.perObject.objects, kubectl.perObject.ms);
    const perNamespace = rate(kubectl.perNamespace.objects, kubectl.perNamespace.ms);
    lines.push(
      `sequential kubectl apply --server-side, same ${substrate}, same objects:`,
      `  one process per object (sample of ${kubectl.perObject.objects})     ${perObject.toFixed(1)} objects/s: clustershift ${(mirrorRate / perObject).toFixed(1)}× faster (goal ≥ ${GOALS.speedup}×)`,
      `  one process per namespace file (${kubectl.perNamespace.objects} objects) ${perNamespace.toFixed(1)} objects/s: clustershift ${(mirrorRate / perNamespace).toFixed(1)}× faster (journaled writes alone: ${(rate(mirror.objects, mirror.writeMs) / perNamespace).toFixed(1)}×; goal ≥ 10×)`,
    );
  } else {
    lines.push("kubectl is not on PATH: no comparison");
  }
  return lines.join("\n") + "\n";
}
