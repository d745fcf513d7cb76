import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KNOWN_AFTER_APPLY } from "../../src/engine/types.js";
import { cluster } from "../../src/providers/kubernetes/index.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { installIngressGatewayStep } from "../../src/steps/install-ingress-gateway/index.js";
import { provisionClusterStep } from "../../src/steps/provision-cluster/index.js";
import type { TestSandbox } from "../support/sandbox.js";
import { ASM_INGRESS, playbookDocument } from "../support/step-harness.js";
import { sourceOnlySandbox, StepRunner } from "./harness.js";
import { GATEWAY_PLAN } from "./support/gateway.js";

function sandboxPlaybook(extra: Record<string, unknown> = {}) {
  return playbookDocument("sandbox-run", {
    source: { context: "source" },
    target: {
      context: "cluster-with-csm",
      provision: { provider: "sandbox", name: "csm" },
      ingress: { ...ASM_INGRESS, install: true },
      ...extra,
    },
  });
}

describe("a sandbox target with the ingress gateway", () => {
  let env: TestSandbox;
  let sandbox: Sandbox;
  let kubeconfig: string;
  let installed: StepRunner<unknown>;

  beforeAll(async () => {
    env = await sourceOnlySandbox();
    ({ sandbox, kubeconfigPath: kubeconfig } = env);
  });

  afterAll(() => env?.stop());

  it("Given no target context yet, When the gateway is planned, Then every object is a create and the Gateway's version is known after apply", async () => {
    const [plan] = await new StepRunner(installIngressGatewayStep, sandboxPlaybook(), { kubeconfig }).plan();

    expect(plan!.changes.map((c) => `${c.action} ${c.address}`)).toEqual(GATEWAY_PLAN);
    const gateway = plan!.changes.find((c) => c.address.startsWith("Gateway")) as {
      after: { apiVersion: string };
    };
    expect(gateway.after.apiVersion).toBe(KNOWN_AFTER_APPLY);
  });

  it("Given a running sandbox, When provision-cluster applies, Then the sandbox gains a cluster and the kubeconfig a token context; plan again is a no-op", async () => {
    const run = new StepRunner(provisionClusterStep, sandboxPlaybook(), { kubeconfig });

    const [plan] = await run.plan();
    const { verifications } = await run.apply();

    expect(plan!.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      "create sandbox.cluster csm",
      "create kubeconfig context cluster-with-csm",
    ]);
    expect(verifications).toEqual([{ outcome: "passed" }]);
    expect(sandbox.clusters.has("csm")).toBe(true);
    const config = parse(await readFile(kubeconfig, "utf8")) as {
      contexts: { name: string }[];
      users: { name: string; user: { token?: string } }[];
    };
    expect(config.contexts.map((c) => c.name)).toEqual(["source", "cluster-with-csm"]);
    expect(config.users.find((u) => u.name === "sandbox-csm")?.user.token).toBe(
      sandbox.clusters.get("csm")!.token,
    );
    expect(run.entries.find((e) => e.address.startsWith("kubeconfig"))?.sensitive).toBe(true);

    const [again] = await new StepRunner(provisionClusterStep, sandboxPlaybook(), { kubeconfig }).plan();
    expect(again!.changes.map((c) => c.action)).toEqual(["no-op", "no-op"]);
  });

  it("Given the provisioned target, When the gateway is applied, Then it is written with Istio's newest version, the address is waited for and a re-plan is a no-op", async () => {
    const run = new StepRunner(installIngressGatewayStep, sandboxPlaybook(), { kubeconfig });
    installed = run;

    const { verifications } = await run.apply();

    expect(verifications[0]).toMatchObject({
      outcome: "passed",
      detail: expect.stringMatching(/^external address \S+$/) as unknown,
    });
    expect(
      run.events.some((e) => e.startsWith("wait external address Service asm-ingress/asm-ingressgateway")),
    ).toBe(true);
    expect(
      run.events.some((e) =>
        e.startsWith("info ingress gateway Service asm-ingress/asm-ingressgateway answers at "),
      ),
    ).toBe(true);
    const target = cluster(run.ctx, "cluster-with-csm");
    const gateway = await target.get({
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      namespace: "asm-ingress",
      name: "asm-ingressgateway",
    });
    expect(gateway?.spec).toEqual({
      selector: { app: "asm-ingressgateway", asm: "ingressgateway" },
      servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
    });
    const namespace = await target.get({ apiVersion: "v1", kind: "Namespace", name: "asm-ingress" });
    expect(namespace?.metadata.labels?.["istio.io/rev"]).toBe("asm-managed");

    const [again] = await new StepRunner(installIngressGatewayStep, sandboxPlaybook(), { kubeconfig }).plan();
    expect(again!.changes.map((c) => c.action)).toEqual(Array(7).fill("no-op"));
  });

  it("Given the installed gateway, When rolled back twice, Then everything it created is gone", async () => {
    const run = installed;
    expect(run.entries).toHaveLength(7);

    await run.rollback();
    await run.rollback();

    const target = cluster(run.ctx, "cluster-with-csm");
    const gone = (object: unknown) => (object === undefined ? true : undefined);
    await target.waitFor(
      { apiVersion: "v1", kind: "Namespace", name: "asm-ingress" },
      gone,
      5000,
      () => undefined,
    );
    expect(
      await target.get({
        apiVersion: "v1",
        kind: "Service",
        namespace: "asm-ingress",
        name: "asm-ingressgateway",
      }),
    ).toBeUndefined();
  });

  it("Given the provisioned cluster, When rolled back without and then with --destroy-provisioned, Then the context goes first and the cluster only when asked", async () => {
    const run = new StepRunner(
      provisionClusterStep,
      sandboxPlaybook({ context: "second", provision: { provider: "sandbox", name: "second" } }),
      { kubeconfig },
    );
    await run.apply();

    await run.rollback();
    expect(sandbox.clusters.has("second")).toBe(true);
    expect(run.events).toContain(
      "info kept sandbox cluster second, which this run added: rollback removes clusters only with --destroy-provisioned",
    );
    const config = parse(await readFile(kubeconfig, "utf8")) as { contexts: { name: string }[] };
    expect(config.contexts.map((c) => c.name)).not.toContain("second");

    const destroy = new StepRunner(provisionClusterStep, sandboxPlaybook(), {
      kubeconfig,
      destroyProvisioned: true,
    });
    for (const entry of run.entries) destroy.entries.push(entry);
    await destroy.rollback();
    expect(sandbox.clusters.has("second")).toBe(false);
  });
});
