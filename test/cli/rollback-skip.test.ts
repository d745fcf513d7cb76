import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ROOT, runCli } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { tempDir } from "../support/temp.js";

const PLAYBOOK = resolve(ROOT, "test/cli/fixtures/read-only.yaml");
const STATE_NAMESPACE = "clustershift-state";
const BACKENDS = ["local", "kubernetes"] as const;
const SECRET_VALUE = "c2VjcmV0LXRva2VuLTQy"; // base64 of secret-token-42, as the Secret's data holds it

/** An API server that accepts connections and never answers: a cluster black-holed behind a dead load balancer. */
async function silentServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((done) => server.close(() => done()));
    },
  };
}

/** A copy of `kubeconfig` whose `context` points at `server`. */
async function withServer(kubeconfig: string, context: string, server: string, out: string): Promise<string> {
  const config = parseYaml(await readFile(kubeconfig, "utf8")) as {
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  const cluster = config.contexts.find((c) => c.name === context)?.context.cluster;
  for (const entry of config.clusters) if (entry.name === cluster) entry.cluster.server = server;
  await writeFile(out, stringifyYaml(config), { mode: 0o600 });
  return out;
}

describe.each(SUBSTRATES)("rollback without a lost cluster on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source", "target"], istio: false });
  let silent: Awaited<ReturnType<typeof silentServer>>;

  beforeAll(async () => {
    await clusters().seed("source", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "shop" },
        data: { a: "1" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "api-token", namespace: "shop" },
        type: "Opaque",
        data: { token: SECRET_VALUE },
      },
    ]);
    silent = await silentServer();
  }, 120_000);
  afterAll(async () => {
    await silent?.stop();
  });

  it.each(BACKENDS)(
    "Given a mirror whose target cluster stops answering (%s state), When rolling back, Then it fails fast naming the cluster, --skip-context reverts the rest and journals the skip, and the final rollback closes the journal and deletes the secrets' before-images",
    async (backend) => {
      const dir = await tempDir("rollback-skip");
      const state =
        backend === "local"
          ? "  state: {backend: local}"
          : `  state: {backend: kubernetes, context: source, namespace: ${STATE_NAMESPACE}-${substrate === "sandbox" ? "s" : "r"}}`;
      const playbook = join(dir, "playbook.yaml");
      await writeFile(playbook, `${(await readFile(PLAYBOOK, "utf8")).trimEnd()}\n${state}\n`);
      const stateDir = join(dir, "state");
      const good = clusters().kubeconfigPath;
      const lost = await withServer(good, "target", silent.url, join(dir, "lost-kubeconfig"));
      const cli = (args: string[], kubeconfig = good) =>
        runCli([...args, "-f", playbook, "--state-dir", stateDir], { env: { KUBECONFIG: kubeconfig } });
      const target = clusters().client("target");
      const secretState = async () =>
        backend === "local"
          ? existsSync(join(stateDir, "read-only", "sensitive"))
            ? await readdir(join(stateDir, "read-only", "sensitive"))
            : []
          : (
              await clusters()
                .client("source")
                .list("v1", "Secret", {
                  namespace: `${STATE_NAMESPACE}-${substrate === "sandbox" ? "s" : "r"}`,
                })
            ).map((s) => s.metadata.name);

      const applied = await cli(["apply", "--yes", "--non-interactive"]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(
        await target.get({ apiVersion: "v1", kind: "Secret", namespace: "shop", name: "api-token" }),
      ).toBeDefined();
      expect(await secretState()).not.toEqual([]);

      const refused = await cli(["rollback", "--yes"], lost);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("cannot reach the API server of context target");
      expect(refused.stderr).toContain("--skip-context target");
      expect(refused.stdout).toContain("Rollback of read-only:");
      expect(refused.stdout).toMatch(
        /\nmirror-workloads\n {2}cluster target\n( {4}- .*\n)* {4}- Namespace shop\n/,
      );

      const skipped = await cli(["rollback", "--yes", "--skip-context", "target"], lost);
      expect(skipped.code, skipped.stderr).toBe(0);
      expect(skipped.stdout).toMatch(/Skipped: \d+ changes? on context target stay as they are/);
      expect(skipped.stdout).toMatch(/skipped \d+ changes? on context target, which stay journaled/);
      const status = await cli(["status"], lost);
      expect(status.stdout).toMatch(
        /read-only: rolled back except the skipped change\(s\): \d+ on context target/,
      );
      expect(status.stdout).toMatch(/of them on context target, skipped by a rollback \(--skip-context\)/);
      // The lost cluster was not touched, and the secret's before-image is still kept: it is still needed.
      expect(
        await target.get({ apiVersion: "v1", kind: "Secret", namespace: "shop", name: "api-token" }),
      ).toBeDefined();
      expect(await secretState()).not.toEqual([]);

      // The cluster answers again: rollback reverts what was skipped and closes the journal.
      const last = await cli(["rollback", "--yes"]);
      expect(last.code, last.stderr).toBe(0);
      expect(last.stdout).toContain("the clusters and DNS are as they were");
      expect(
        await target.get({ apiVersion: "v1", kind: "Secret", namespace: "shop", name: "api-token" }),
      ).toBeUndefined();
      const closed = await cli(["status"]);
      expect(closed.stdout).toContain("read-only: rolled back; the journal is closed");
      expect(closed.stdout).toMatch(
        /journal closed: .* [1-9]\d* before-images? of Secrets and credentials deleted/,
      );
      expect(await secretState()).toEqual([]);
      const json = JSON.parse((await cli(["status", "-o", "json"])).stdout) as { closed: boolean };
      expect(json.closed).toBe(true);
      const journal =
        backend === "local" ? await readFile(join(stateDir, "read-only", "journal.jsonl"), "utf8") : "";
      expect(journal).not.toContain(SECRET_VALUE);
    },
    240_000,
  );
});
