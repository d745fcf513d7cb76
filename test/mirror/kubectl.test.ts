import { beforeAll, describe, expect, it } from "vitest";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { fixturePath } from "../support/fixtures.js";
import { hasKubectl, kubectl } from "../support/sandbox.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { requireTool } from "../support/tools.js";
import { planLines } from "./fixtures.js";

const NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n";

/** The real kubectl as an independent client: it seeds the source, reads and edits the target. */
describe.each(SUBSTRATES)("mirror-workloads checked with kubectl on %s", (substrate) => {
  requireTool(
    "kubectl",
    hasKubectl(),
    "put a kubectl of 1.27 or later on PATH (Debian's kubernetes-client 1.20 is too old)",
  );
  const clusters = useClusters(substrate, { istio: false, readyDelayMs: 30 });
  // Rollouts and a namespace deletion are waited for: a real control plane on a busy machine takes longer.
  const slow = substrate === "sandbox" ? 60_000 : 300_000;
  const run = async (context: string, ...args: string[]): Promise<string> => {
    const input = args[args.length - 1] === "-" ? NAMESPACE : undefined;
    const result = await kubectl(
      clusters().kubeconfigPath,
      args,
      input === undefined ? { context } : { context, input },
    );
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  const names = async (context: string, kind: string): Promise<string[]> =>
    (
      JSON.parse(await run(context, "get", kind, "-n", "bookinfo", "-o", "json")) as {
        items: { metadata: { name: string } }[];
      }
    ).items
      .map((i) => i.metadata.name)
      .sort();

  beforeAll(async () => {
    await run("source", "apply", "--server-side", "-f", "-");
    await run(
      "source",
      "apply",
      "--server-side",
      "-n",
      "bookinfo",
      "-f",
      fixturePath("bookinfo/bookinfo.yaml"),
    );
  }, slow);

  it(
    "Given Bookinfo applied by kubectl, When mirrored, Then kubectl sees the same objects on the target, a deleted one is planned again, and rollback empties the target",
    async () => {
      const h = stepHarness({
        kubeconfig: clusters().kubeconfigPath,
        playbook: testPlaybook({ workloads: { namespaces: ["bookinfo"] } }),
      });
      const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
      const plan = await mirrorWorkloadsStep.plan(instance as never, h.ctx);
      await mirrorWorkloadsStep.apply(plan, h.ctx);
      expect(await mirrorWorkloadsStep.verify(plan, h.ctx)).toMatchObject({ outcome: "passed" });

      // A real cluster gives every namespace a `default` ServiceAccount, on both sides: the names still agree.
      for (const kind of ["deployments", "services", "serviceaccounts"]) {
        expect(await names("target", kind), kind).toEqual(await names("source", kind));
      }
      const rollout = await run(
        "target",
        "rollout",
        "status",
        "deployment/productpage-v1",
        "-n",
        "bookinfo",
        "--timeout=60s",
      );
      expect(rollout).toContain("successfully rolled out");

      await run("target", "delete", "service", "details", "-n", "bookinfo");
      const again = await mirrorWorkloadsStep.plan(instance as never, h.ctx);
      expect(planLines(again.changes.filter((c) => c.action !== "no-op"))).toEqual([
        "+ Service bookinfo/details",
      ]);

      await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
      const gone = await kubectl(clusters().kubeconfigPath, ["get", "namespace", "bookinfo"], {
        context: "target",
      });
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toContain("NotFound");
    },
    slow,
  );
});
