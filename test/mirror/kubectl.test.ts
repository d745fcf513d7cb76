import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { fixturePath } from "../support/fixtures.js";
import { hasKubectl, kubectl, withSandbox, type TestSandbox } from "../support/sandbox.js";
import { stepHarness, testPlaybook } from "../support/step-harness.js";
import { planLines } from "./fixtures.js";
import { requireTool } from "../support/tools.js";

const NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n";

/** The real kubectl as an independent client: it seeds the source, reads and edits the target. */
describe("mirror-workloads checked with kubectl", () => {
  requireTool(
    "kubectl",
    hasKubectl(),
    "put a kubectl of 1.27 or later on PATH (Debian's kubernetes-client 1.20 is too old)",
  );
  let env: TestSandbox;
  const run = async (context: string, ...args: string[]): Promise<string> => {
    const input = args[args.length - 1] === "-" ? NAMESPACE : undefined;
    const result = await kubectl(
      env.kubeconfigPath,
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
    env = await withSandbox({ readyDelayMs: 30 });
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
  });
  afterAll(() => env?.stop());

  it("Given Bookinfo applied by kubectl, When mirrored, Then kubectl sees the same objects on the target, a deleted one is planned again, and rollback empties the target", async () => {
    const h = stepHarness({
      kubeconfig: env.kubeconfigPath,
      playbook: testPlaybook({ workloads: { namespaces: ["bookinfo"] } }),
    });
    const [instance] = mirrorWorkloadsStep.expand(h.ctx.playbook);
    const plan = await mirrorWorkloadsStep.plan(instance as never, h.ctx);
    await mirrorWorkloadsStep.apply(plan, h.ctx);
    expect(await mirrorWorkloadsStep.verify(plan, h.ctx)).toMatchObject({ outcome: "passed" });

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
      "--timeout=20s",
    );
    expect(rollout).toContain("successfully rolled out");

    await run("target", "delete", "service", "details", "-n", "bookinfo");
    const again = await mirrorWorkloadsStep.plan(instance as never, h.ctx);
    expect(planLines(again.changes.filter((c) => c.action !== "no-op"))).toEqual([
      "+ Service bookinfo/details",
    ]);

    await mirrorWorkloadsStep.rollback(h.rollbackEntries(), h.ctx);
    const gone = await kubectl(env.kubeconfigPath, ["get", "namespace", "bookinfo"], { context: "target" });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("NotFound");
  });
});
