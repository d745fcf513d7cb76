import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { tempDir } from "../support/temp.js";
import { ENGINE_PLAYBOOK, freshSandbox, PLUGIN } from "../engine/support.js";
import { logRequests, type RequestLog } from "./request-log.js";

const PLAYBOOK = resolve(ROOT, "test/cli/fixtures/read-only.yaml");
const STATE_NAMESPACE = "clustershift-state";
const BACKENDS = ["local", "kubernetes"] as const;

/** `playbook` with its journal on the given backend (kubernetes: in the source cluster). */
async function onBackend(playbook: string, backend: (typeof BACKENDS)[number], dir: string): Promise<string> {
  const text = await readFile(playbook, "utf8");
  const path = join(dir, `playbook-${backend}.yaml`);
  const state =
    backend === "local"
      ? "  state: {backend: local}"
      : `  state: {backend: kubernetes, context: source, namespace: ${STATE_NAMESPACE}}`;
  await writeFile(path, `${text.trimEnd()}\n${state}\n`);
  return path;
}

describe.each(SUBSTRATES)("plan and status send only reads on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source", "target"], istio: false });
  let log: RequestLog;

  beforeAll(async () => {
    await clusters().seed("source", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "shop" },
        data: { a: "1" },
      },
    ]);
    log = await logRequests(clusters());
  }, 120_000);
  afterAll(async () => {
    await log?.stop();
  });

  const namespaceExists = async () =>
    (await clusters()
      .client("source")
      .get({ apiVersion: "v1", kind: "Namespace", name: STATE_NAMESPACE })) !== undefined;

  it.each(BACKENDS)(
    "Given no run yet and the %s state backend, When plan and status run (text and JSON), Then every request the real kube-apiserver or sandbox got is a read and no state exists",
    async (backend) => {
      const dir = await tempDir("read-only");
      const playbook = await onBackend(PLAYBOOK, backend, dir);
      const state = join(dir, "state");
      const env = { KUBECONFIG: log.kubeconfigPath };
      log.reset();
      const outputs: string[] = [];
      for (const args of [["plan"], ["plan", "-o", "json"], ["status"], ["status", "-o", "json"]]) {
        const result = await runCli([...args, "-f", playbook, "--state-dir", state], { env });
        expect(result.code, result.stderr).toBe(0);
        outputs.push(result.stdout);
      }
      expect(outputs[0]).toContain("+ [target] Namespace shop");
      expect(outputs[2]).toContain("read-only: not started");
      expect(log.requests.length).toBeGreaterThan(0);
      expect(log.writes()).toEqual([]);
      expect(await namespaceExists()).toBe(false);
      expect(existsSync(state)).toBe(false);
    },
    120_000,
  );

  it("Given a run journaled in the cluster (state backend kubernetes), When plan and status run, Then they send only reads and plan says there is nothing left to do", async () => {
    const world = await freshSandbox();
    const playbook = await onBackend(resolve(ROOT, ENGINE_PLAYBOOK), "kubernetes", world.dir);
    const env = {
      KUBECONFIG: log.kubeconfigPath,
      CLUSTERSHIFT_PLUGIN: PLUGIN,
      CLUSTERSHIFT_TEST_WORLD: world.world,
    };
    const cli = (args: string[]) => runCli([...args, "-f", playbook, "--state-dir", world.state], { env });
    const applied = await cli(["apply", "--yes", "--non-interactive"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(log.writes().length).toBeGreaterThan(0);

    log.reset();
    const planned = await cli(["plan"]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain("No changes. The migration is complete.");
    const json = await cli(["plan", "-o", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ complete: true });
    const status = await cli(["status"]);
    expect(status.stdout).toContain("engine-test: completed");
    expect(log.requests.length).toBeGreaterThan(0);
    expect(log.writes()).toEqual([]);
  }, 120_000);
});
