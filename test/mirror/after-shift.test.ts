import { describe, expect, it } from "vitest";
import type { Change, ReadContext, StepPlan } from "../../src/engine/types.js";
import { playbookSchema, type Playbook } from "../../src/playbook/schema.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { strip } from "../../src/steps/mirror-workloads/strip.js";
import { SUBSTRATES } from "../support/clusters.js";
import { stepHarness } from "../support/step-harness.js";
import {
  Driver,
  ingressAddress,
  REMOTE_HOST,
  seedFixture,
  seedTargetIngress,
  stored,
  trafficPlaybook,
  useWorld,
  vsRef,
  type World,
} from "../traffic/world.js";
import { planLines } from "./fixtures.js";

const OB = "onlineboutique";
const ONLINE_BOUTIQUE = { gateway: `${OB}/frontend-gateway`, namespace: OB, service: "frontend", port: 80 };
const MANAGED_BY = "app.kubernetes.io/managed-by";

/** The traffic playbook of Online Boutique with a workloads section mirroring its namespace. */
function migration(): Playbook {
  const traffic = trafficPlaybook(ONLINE_BOUTIQUE, "after-shift");
  return playbookSchema.parse({
    ...traffic,
    spec: { ...traffic.spec, workloads: { namespaces: [OB], rolloutTimeout: "30s" } },
  });
}

const written = (plan: StepPlan): KubeObject[] =>
  plan.changes.flatMap((c: Change) =>
    c.action === "create" || c.action === "update" ? [c.after as KubeObject] : [],
  );

/** mirror-workloads planned in the same run as the traffic steps: it sees their journal as the engine hands it. */
async function planMirror(w: World, playbook: Playbook, driver?: Driver): Promise<StepPlan> {
  const h = stepHarness({ kubeconfig: w.kubeconfig, playbook });
  const ctx: ReadContext = driver ? { ...h.ctx, journaled: driver.entries } : h.ctx;
  const [instance] = mirrorWorkloadsStep.expand(playbook);
  if (!instance) throw new Error("no mirror-workloads instance");
  return mirrorWorkloadsStep.plan(instance, ctx);
}

const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 240_000 } as const;

describe.each(SUBSTRATES)("mirror-workloads after the traffic shift on %s", (substrate) => {
  const world = useWorld(substrate);

  it(
    "Given Online Boutique exposed and shifted to 100 by the real steps, When mirror-workloads is planned again, Then it proposes nothing of clustershift's own and no VirtualService with a remote destination, and says so in one line; planned without the run's journal, it leaves the shifted VirtualService out with a warning",
    async () => {
      const w = world();
      await seedFixture(w, "source", "online-boutique/kubernetes-manifests.yaml", OB);
      await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", OB);
      await seedFixture(w, "source", "online-boutique/frontend.yaml", OB);
      await seedTargetIngress(w, OB);
      await ingressAddress(w);
      const original = (await stored(w.source, vsRef(OB, "frontend-ingress"))) as KubeObject;
      const playbook = migration();
      const driver = new Driver(w, playbook);
      for (const id of ["expose-target", "shift-traffic[1]", "shift-traffic[2]", "shift-traffic[3]"])
        await driver.run(id);
      // The source now holds clustershift's ServiceEntry and the VirtualService at 100% remote.
      expect(JSON.stringify(await stored(w.source, vsRef(OB, "frontend-ingress")))).toContain(REMOTE_HOST);

      const plan = await planMirror(w, playbook, driver);

      const objects = written(plan);
      expect(objects.filter((o) => o.metadata.labels?.[MANAGED_BY] !== undefined)).toEqual([]);
      expect(objects.filter((o) => o.kind === "ServiceEntry")).toEqual([]);
      expect(
        objects.filter((o) => o.kind === "VirtualService" && JSON.stringify(o.spec).includes(REMOTE_HOST)),
      ).toEqual([]);
      const ingress = plan.changes.find((c) => c.address === `VirtualService ${OB}/frontend-ingress`);
      expect(ingress).toMatchObject({ action: "create", after: strip(original) });
      expect(ingress?.detail).toMatch(
        /^as it was before shift-traffic\[1\] changed it on the source \(journal entry \d+\)$/,
      );
      const own = plan.changes.filter((c) => c.address.includes("of clustershift's own"));
      expect(planLines(own)).toEqual([
        `= leave out 1 object of clustershift's own (ServiceEntry ${OB}/clustershift-frontend-remote: ` +
          `labelled ${MANAGED_BY}=clustershift or created by this run)`,
      ]);
      await expect(
        planLines(plan.changes)
          .map((line) => line.replace(/journal entry \d+/, "journal entry N"))
          .join("\n") + "\n",
      ).toMatchFileSnapshot("__golden__/after-shift.plan.txt");

      // Another run (another playbook mirroring the namespace) has no journal of the shift: the shifted
      // VirtualService routes to clustershift's ServiceEntry host, so it is left out, with a warning.
      const blind = await planMirror(w, playbook);
      expect(
        written(blind).filter(
          (o) => o.kind === "VirtualService" && JSON.stringify(o.spec).includes(REMOTE_HOST),
        ),
      ).toEqual([]);
      expect(planLines(blind.changes.filter((c) => c.address.startsWith("warning:")))).toEqual([
        `= warning: leave out 1 VirtualService routing to the target (VirtualService ${OB}/frontend-ingress routes ` +
          `to ${REMOTE_HOST} (clustershift's ServiceEntry), and this run's journal holds no image of it from ` +
          "before: copied, it would send the target's traffic to itself)",
      ]);
    },
    TIMEOUT[substrate],
  );
});
