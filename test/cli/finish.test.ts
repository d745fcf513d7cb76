import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { sourceOnlySandbox } from "../gke/harness.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { runCli } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import type { TestSandbox } from "../support/sandbox.js";
import { tempDir } from "../support/temp.js";

const BACKENDS = ["local", "kubernetes"] as const;
const PLAIN_SECRET = "finish-secret-token-7d1f";
const SECRET_VALUE = Buffer.from(PLAIN_SECRET).toString("base64"); // as the Secret's data holds it

/** Every file under `dir` (the local state directory), as text. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name), "utf8"));
  }
  return out;
}

/** A state object's values as text, Secrets' base64 data decoded: what a reader of the state could see. */
function valuesOf(object: KubeObject): string {
  const data = (object as { data?: Record<string, string> }).data ?? {};
  const decode = object.kind === "Secret" ? (v: string) => Buffer.from(v, "base64").toString("utf8") : String;
  return JSON.stringify(object) + Object.values(data).map(decode).join("\n");
}

describe.each(SUBSTRATES)("clustershift finish on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source", "target"], istio: false });

  it.each(BACKENDS)(
    "Given a mirror with a Secret (%s state), When finish runs before the migration completes, Then it refuses with exit 2 and writes nothing; When it runs after, Then no Secret value is left in the state, status says the journal is closed, rollback refuses, and apply of a playbook that gained a step refuses",
    async (backend) => {
      // One namespace and playbook per backend: a finished migration is never rolled back, so the target keeps it.
      const namespace = `shop-${backend}`;
      const stateNamespace = `clustershift-finish-${substrate === "sandbox" ? "s" : "r"}`;
      await clusters().seed("source", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "api-token", namespace },
          type: "Opaque",
          data: { token: SECRET_VALUE },
        },
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "settings", namespace },
          data: { a: "1" },
        },
      ]);
      const dir = await tempDir("finish");
      const name = `finish-${backend}`;
      const playbook = join(dir, "playbook.yaml");
      await writeFile(
        playbook,
        [
          "apiVersion: clustershift.dev/v1alpha1",
          "kind: Playbook",
          `metadata: {name: ${name}}`,
          "spec:",
          "  source: {context: source}",
          "  target: {context: target}",
          `  workloads: {namespaces: [${namespace}]}`,
          backend === "local"
            ? "  state: {backend: local}"
            : `  state: {backend: kubernetes, context: source, namespace: ${stateNamespace}}`,
          "",
        ].join("\n"),
      );
      const stateDir = join(dir, "state");
      const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        runCli([...args, "-f", playbook, "--state-dir", stateDir], {
          env: { KUBECONFIG: clusters().kubeconfigPath, ...env },
        });
      const source = clusters().client("source");
      /** The whole state as a reader sees it: the state directory's files, or the state namespace's objects. */
      const stateObjects = async (): Promise<KubeObject[]> => {
        const selector = `clustershift.dev/playbook=${name}`;
        const options = { namespace: stateNamespace, labelSelector: selector };
        return [
          ...(await source.list("v1", "ConfigMap", options)),
          ...(await source.list("v1", "Secret", options)),
        ];
      };
      const stateText = async () =>
        backend === "local"
          ? (await filesUnder(stateDir)).join("\n")
          : (await stateObjects()).map(valuesOf).join("\n");
      const snapshot = async () =>
        backend === "local"
          ? (await filesUnder(stateDir)).join("\n")
          : JSON.stringify((await stateObjects()).map((o) => [o.kind, o.metadata]));

      // An apply killed right after its first change: the journal holds a step that is not done.
      const killed = await cli(["apply", "--yes", "--non-interactive"], { CLUSTERSHIFT_CRASH_AFTER: "1" });
      expect(killed.signal).toBe("SIGKILL");
      const before = await snapshot();
      expect(before).not.toBe("");
      const early = await cli(["finish"]);
      expect(early.code, early.stderr).toBe(2);
      expect(early.stderr).toContain(`finish refused: ${name} is in progress at mirror-workloads`);
      expect(early.stderr).toContain("not done: mirror-workloads");
      expect(early.stderr).not.toContain("This is a bug");
      expect(await snapshot()).toBe(before);

      const applied = await cli(["apply", "--yes", "--non-interactive"]);
      expect(applied.code, applied.stderr).toBe(0);
      // The search below is meaningful: before finish the state does hold the Secret's value.
      expect(await stateText()).toContain(SECRET_VALUE);

      const finished = await cli(["finish"]);
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stdout).toMatch(
        new RegExp(`^Finished ${name}: the journal is closed .* deleted [1-9]\\d* before-image\\(s\\)`),
      );
      const state = await stateText();
      expect(state).not.toContain(SECRET_VALUE);
      expect(state).not.toContain(PLAIN_SECRET);
      if (backend === "kubernetes") {
        const options = { namespace: stateNamespace, labelSelector: `clustershift.dev/playbook=${name}` };
        expect(await source.list("v1", "Secret", options)).toEqual([]);
      } else {
        expect(await filesUnder(join(stateDir, name, "sensitive"))).toEqual([]);
      }

      const status = await cli(["status"]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`${name}: completed and finished; the journal is closed`);
      expect(status.stdout).toMatch(
        /journal closed by `clustershift finish` at .*: the migration is final and rollback is no longer possible; [1-9]\d* before-image\(s\) of Secrets and credentials deleted/,
      );
      const json = JSON.parse((await cli(["status", "-o", "json"])).stdout) as {
        closed: boolean;
        finished: string | null;
      };
      expect(json.closed).toBe(true);
      expect(json.finished).toMatch(/^\d{4}-/);

      const rollback = await cli(["rollback", "--yes"]);
      expect(rollback.code).toBe(2);
      expect(rollback.stderr).toContain("rollback refused: `clustershift finish` closed the migration");
      expect(rollback.stdout).not.toContain("Rollback of");
      // Nothing was reverted: the mirrored Secret is still on the target.
      const mirrored = await clusters()
        .client("target")
        .get({ apiVersion: "v1", kind: "Secret", namespace, name: "api-token" });
      expect((mirrored as { data?: Record<string, string> } | undefined)?.data?.token).toBe(SECRET_VALUE);

      // finish again: already finished, nothing left to delete, still exit 0.
      const again = await cli(["finish"]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`${name} was already finished at`);

      // The playbook gains a step after finish: apply refuses (exit 2) and appends nothing to the closed journal.
      const closed = await snapshot();
      await writeFile(
        playbook,
        (await readFile(playbook, "utf8")).replace(
          "  workloads:",
          "  decommission: {soak: 1s, traffic: {scrape: http://127.0.0.1:9/metrics}}\n  workloads:",
        ),
      );
      const grown = await cli(["apply", "--yes", "--non-interactive"]);
      expect(grown.code, grown.stderr).toBe(2);
      expect(grown.stderr).toContain(`\`clustershift finish\` closed the migration ${name} at`);
      expect(grown.stderr).toContain("a closed journal takes no more changes");
      expect(await snapshot()).toBe(closed);
    },
    300_000,
  );
});

// Provisioning makes a cluster, which only the sandbox (or GKE, behind its fakes) can do: the real kube-apiserver
// substrate has no provisioner, so this case runs on the sandbox alone. The credentials take the same way into the
// state as a Secret's data (a sensitive change image), which the cases above check on both substrates.
describe("clustershift finish after provisioning a sandbox target", () => {
  let env: TestSandbox;
  beforeAll(async () => {
    env = await sourceOnlySandbox();
  }, 120_000);
  afterAll(() => env?.stop());

  it("Given a target the run provisioned (its bearer token journaled as the kubeconfig's before/after image), When finished, Then the token is nowhere in the state directory", async () => {
    const playbook = join(env.dir, "provision.yaml");
    await writeFile(
      playbook,
      [
        "apiVersion: clustershift.dev/v1alpha1",
        "kind: Playbook",
        "metadata: {name: finish-provisioned}",
        "spec:",
        "  source: {context: source}",
        "  target: {context: target, provision: {provider: sandbox, name: target}}",
        "",
      ].join("\n"),
    );
    const stateDir = join(env.dir, "state");
    const cli = (args: string[]) =>
      runCli([...args, "-f", playbook, "--state-dir", stateDir], { env: { KUBECONFIG: env.kubeconfigPath } });

    const applied = await cli(["apply", "--yes", "--non-interactive"]);
    expect(applied.code, applied.stderr).toBe(0);
    const kubeconfig = parseYaml(await readFile(env.kubeconfigPath, "utf8")) as {
      contexts: { name: string; context: { user: string } }[];
      users: { name: string; user: { token?: string } }[];
    };
    const user = kubeconfig.contexts.find((c) => c.name === "target")?.context.user;
    const token = kubeconfig.users.find((u) => u.name === user)?.user.token;
    expect(token).toMatch(/.{16,}/);
    expect((await filesUnder(stateDir)).join("\n")).toContain(token);

    const finished = await cli(["finish"]);
    expect(finished.code, finished.stderr).toBe(0);
    expect((await filesUnder(stateDir)).join("\n")).not.toContain(token);
    expect((await cli(["status"])).stdout).toContain(
      "finish-provisioned: completed and finished; the journal is closed",
    );
  }, 180_000);
});
