import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../../src/engine/errors.js";
import { apply } from "../../src/engine/executor.js";
import { analysisGate } from "../../src/engine/gates/analysis.js";
import { probeGate } from "../../src/engine/gates/probe.js";
import type { Playbook } from "../../src/playbook/schema.js";
import { hasPrometheus, successRate, useIstioPrometheus } from "./prometheus-server.js";
import {
  ingressAddress,
  names,
  seedFixture,
  seedSourceService,
  seedTargetIngress,
  stored,
  trafficPlaybook,
  trafficRegistry,
  useWorld,
  vsRef,
  type World,
} from "./world.js";
import { SUBSTRATES } from "../support/clusters.js";
import { RunHarness } from "../support/harness.js";
import { tempDir } from "../support/temp.js";
import { requireTool } from "../support/tools.js";

const prometheus = useIstioPrometheus({ healthy: { ok: 10, errors: 0 }, broken: { ok: 7, errors: 3 } }, [
  "healthy",
  "broken",
]);
let state: string | undefined;

afterEach(async () => {
  if (state) await rm(state, { recursive: true, force: true });
  state = undefined;
});

const analysis = (cluster: string) => ({
  prometheus: prometheus.url(),
  interval: "1s",
  count: 2,
  metrics: [{ name: "success-rate", query: successRate(cluster), successCondition: ">= 0.99" }],
});

async function engineFor(world: World, playbook: Playbook): Promise<RunHarness> {
  await seedSourceService(world, "onlineboutique", "frontend");
  await seedFixture(world, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
  await seedTargetIngress(world, "onlineboutique");
  await ingressAddress(world);
  state = await tempDir("traffic-state");
  return new RunHarness(trafficRegistry().gate(analysisGate).gate(probeGate), playbook, {
    kubeconfig: world.kubeconfig,
    options: { stateDir: state, playbookFile: "traffic.yaml" },
  });
}

const playbook = (onFailure: "rollback" | "pause") =>
  trafficPlaybook({
    gateway: "onlineboutique/frontend-gateway",
    namespace: "onlineboutique",
    service: "frontend",
    port: 80,
    onFailure,
    steps: [
      { weight: 10, analysis: analysis("healthy") },
      { weight: 50, analysis: analysis("broken") },
      { weight: 100 },
    ],
  });

// A real control plane takes its time: waits, not assertions, get longer there.
const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 180_000 } as const;

describe.each(SUBSTRATES)("traffic gates in a run, against a real Prometheus, on %s", (substrate) => {
  requireTool("prometheus", hasPrometheus, "apt-get install prometheus (.ci/run does)");
  const world = useWorld(substrate);

  it(
    "Given a healthy 10% and a 30% error rate at 50%, When applied, Then the 50% gate fails (exit 3) and the weights, ServiceEntry and target VirtualService are rolled back",
    async () => {
      const w = world();
      const harness = await engineFor(w, playbook("rollback"));
      const { engine, events } = harness;
      const original = await stored(w.source, vsRef("onlineboutique", "frontend-ingress"));

      const run = apply(engine, () => Promise.resolve(true));
      expect(exitCodeOf(await run.catch((error: unknown) => error))).toBe(3);
      await expect(run).rejects.toMatchObject({
        name: "GateFailedError",
        message: expect.stringMatching(
          /^gate shift-traffic\[2\]\/analysis failed: success-rate: 1 failed measurement\(s\), limit 0; last 0\.7 does not meet >= 0\.99\. Rolled back 4 changes of expose-target, shift-traffic\.$/,
        ) as string,
      });
      expect(events.filter((e) => e.type === "gate-passed").map((e) => "address" in e && e.address)).toEqual([
        "shift-traffic[1]/analysis",
      ]);
      expect(await stored(w.source, vsRef("onlineboutique", "frontend-ingress"))).toEqual(original);
      expect(await names(w.source, "networking.istio.io/v1", "ServiceEntry")).toEqual([]);
      expect(await names(w.target, "networking.istio.io/v1", "VirtualService")).toEqual([]);

      const notes = await harness.notes();
      expect(
        notes
          .filter((e) => e.note === "measurement")
          .map((e) => (e.data as { phase?: string } | undefined)?.phase),
      ).toEqual(["successful", "successful", "failed"]);
    },
    TIMEOUT[substrate],
  );

  it(
    "Given onFailure: pause, When the 50% gate fails, Then the run stops with the weights where they are",
    async () => {
      const w = world();
      const { engine } = await engineFor(w, playbook("pause"));
      await expect(apply(engine, () => Promise.resolve(true))).rejects.toMatchObject({
        name: "GateFailedError",
      });
      const route = (
        (await stored(w.source, vsRef("onlineboutique", "frontend-ingress")))?.spec as {
          http: { route: { weight: number }[] }[];
        }
      ).http[0]?.route.map((d) => d.weight);
      expect(route).toEqual([50, 50]);
    },
    TIMEOUT[substrate],
  );
});
