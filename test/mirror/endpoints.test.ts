import { beforeAll, describe, expect, it } from "vitest";
import type { StepPlan } from "../../src/engine/types.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { strip } from "../../src/steps/mirror-workloads/strip.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { namespaceObject } from "../support/sandbox.js";
import { stepHarness, testPlaybook, type StepHarness } from "../support/step-harness.js";
import { planLines } from "./fixtures.js";

const NS = "external-db";

/** A database outside the cluster, reached through a Service without a selector and Endpoints written by hand. */
const DATABASE: KubeObject[] = [
  namespaceObject(NS),
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "db", namespace: NS },
    spec: { ports: [{ name: "postgres", port: 5432, targetPort: 5432, protocol: "TCP" }] },
  },
  {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "db", namespace: NS, labels: { owner: "dba" } },
    subsets: [
      {
        addresses: [{ ip: "192.0.2.10" }, { ip: "192.0.2.11" }],
        ports: [{ name: "postgres", port: 5432, protocol: "TCP" }],
      },
    ],
  },
  // With a selector: its Endpoints are the controller's (on a real server), never copied.
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: NS },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
  },
];

const endpointsRef = (name: string) => ({ apiVersion: "v1", kind: "Endpoints", namespace: NS, name });

describe.each(SUBSTRATES)("mirror-workloads and a Service without a selector on %s", (substrate) => {
  const clusters = useClusters(substrate);
  let h: StepHarness;
  let plan: StepPlan;

  beforeAll(async () => {
    await clusters().seed("source", DATABASE);
    h = stepHarness({
      kubeconfig: clusters().kubeconfigPath,
      playbook: testPlaybook({ workloads: { namespaces: [NS] } }),
    });
    const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
    plan = await mirrorWorkloadsStep.plan(instance!, h.ctx);
  }, 120_000);

  it("Given a Service without a selector and its hand-written Endpoints, When planned, Then the Endpoints are mirrored beside it and no controller's are", () => {
    expect(planLines(plan.changes)).toEqual([
      `+ Namespace ${NS}`,
      `+ Endpoints ${NS}/db`,
      `+ Service ${NS}/db`,
      `+ Service ${NS}/web`,
    ]);
  });

  it(
    "Given the plan, When applied and verified, Then the target holds the same addresses, and rollback removes them",
    async () => {
      await mirrorWorkloadsStep.apply(plan, h.ctx);
      expect(await mirrorWorkloadsStep.verify(plan, h.ctx)).toMatchObject({ outcome: "passed" });
      const source = clusters().client("source");
      const target = clusters().client("target");
      expect(strip((await target.get(endpointsRef("db"))) as KubeObject)).toEqual(
        strip((await source.get(endpointsRef("db"))) as KubeObject),
      );

      await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
      expect(await target.get(endpointsRef("db"))).toBeUndefined();
    },
    substrate === "sandbox" ? 60_000 : 240_000,
  );
});
