import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import type { TestSandbox } from "../support/sandbox.js";
import { sourceOnlySandbox } from "./harness.js";

const PLAYBOOK = `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata:
  name: sandbox-target
spec:
  source:
    context: source
  target:
    context: target
    provision: {provider: sandbox, name: target}
    ingress: {namespace: asm-ingress, service: asm-ingressgateway, gateway: asm-ingress/asm-ingressgateway, install: true}
`;

describe("a sandbox target through the CLI", () => {
  let env: TestSandbox;

  beforeAll(async () => {
    env = await sourceOnlySandbox();
    await writeFile(path.join(env.dir, "playbook.yaml"), PLAYBOOK);
  });

  afterAll(() => env?.stop());

  const cli = (args: string[]) =>
    runCli([...args, "-f", path.join(env.dir, "playbook.yaml"), "--state-dir", path.join(env.dir, "state")], {
      env: { KUBECONFIG: env.kubeconfigPath },
    });

  it("Given only a source cluster, When applied, Then a target cluster with the gateway appears, the plan it approved holds, and rollback with --destroy-provisioned removes it", async () => {
    const apply = await cli(["apply", "--yes", "--non-interactive"]);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(
      /install-ingress-gateway: ingress gateway Service asm-ingress\/asm-ingressgateway answers at \S+/,
    );
    expect(
      env.sandbox.clusters
        .get("target")
        ?.get({ apiVersion: "v1", kind: "Service", namespace: "asm-ingress", name: "asm-ingressgateway" }),
    ).toBeDefined();

    const plan = await cli(["plan"]);
    expect(plan.stdout).toContain("No changes. The migration is complete.");

    const rollback = await cli(["rollback", "--yes", "--destroy-provisioned"]);
    expect(rollback.code).toBe(0);
    expect(env.sandbox.clusters.has("target")).toBe(false);
  });
});
