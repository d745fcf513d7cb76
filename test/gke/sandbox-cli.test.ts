import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { runCli } from "../support/cli.js";
import { FIXTURES } from "../support/fixtures.js";

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
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    const crdYaml = await readFile(path.resolve(FIXTURES, "istio/crd-all.gen.yaml"), "utf8");
    sandbox = await startSandbox({
      clusters: ["source"],
      istio: { crdYaml },
      readyDelayMs: 20,
      loadBalancerDelayMs: 50,
    });
    dir = await mkdtemp(path.join(tmpdir(), "clustershift-sandbox-cli-"));
    await sandbox.writeKubeconfig(path.join(dir, "config"));
    await writeFile(path.join(dir, "playbook.yaml"), PLAYBOOK);
  });

  afterAll(async () => {
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCli([...args, "-f", path.join(dir, "playbook.yaml"), "--state-dir", path.join(dir, "state")], {
      env: { KUBECONFIG: path.join(dir, "config") },
    });

  it("Given only a source cluster, When applied, Then a target cluster with the gateway appears, the plan it approved holds, and rollback with --destroy-provisioned removes it", async () => {
    const apply = await cli(["apply", "--yes", "--non-interactive"]);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(
      /install-ingress-gateway: ingress gateway Service asm-ingress\/asm-ingressgateway answers at \S+/,
    );
    expect(
      sandbox.clusters
        .get("target")
        ?.get({ apiVersion: "v1", kind: "Service", namespace: "asm-ingress", name: "asm-ingressgateway" }),
    ).toBeDefined();

    const plan = await cli(["plan"]);
    expect(plan.stdout).toContain("Plan: 0 to create, 0 to update, 0 to delete, 0 waits, 0 gates.");

    const rollback = await cli(["rollback", "--yes", "--destroy-provisioned"]);
    expect(rollback.code).toBe(0);
    expect(sandbox.clusters.has("target")).toBe(false);
  });
});
