import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { NEVER_READY_ANNOTATION } from "../../src/sandbox/index.js";
import { SUBSTRATES, useClusters, type Substrate, type TestClusters } from "../support/clusters.js";
import { createClusterClient, type KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import { KubeApiError } from "../../src/providers/kubernetes/errors.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { faultSeed } from "../support/faults.js";
import { sleep } from "../support/wait.js";

const configMap = (
  name: string,
  data: Record<string, string> = { a: "1" },
  namespace = "apps",
): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data,
});

const deployment = (
  name: string,
  annotations: Record<string, string> = {},
  namespace = "apps",
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace, annotations },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
    },
    ...extra,
  },
});

/**
 * A Deployment in `namespace` that never becomes ready: on the sandbox by its annotation; on a real control plane
 * by a ResourceQuota that admits no Pod (the ReplicaSet controller is refused every Pod), with a progress deadline
 * of one second so that the Deployment controller gives up soon.
 */
async function neverReadyDeployment(clusters: TestClusters, substrate: Substrate, namespace: string) {
  const objects: KubeObject[] = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }];
  if (substrate === "real kube-apiserver") {
    objects.push({
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "no-pods", namespace },
      spec: { hard: { pods: "0" } },
    });
  }
  await clusters.seed("target", objects);
  return deployment("stuck", { [NEVER_READY_ANNOTATION]: "true" }, namespace, { progressDeadlineSeconds: 1 });
}

// A real control plane takes its time: waits, not assertions, get longer there.
const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 180_000 } as const;

describe.each(SUBSTRATES)("KubeClusterClient on %s", (substrate) => {
  const clusters = useClusters(substrate, { readyDelayMs: 100 });
  let kubeconfig: string;
  let source: KubeClusterClient;
  let target: KubeClusterClient;
  const timeout = TIMEOUT[substrate];

  beforeAll(async () => {
    kubeconfig = clusters().kubeconfigPath;
    source = createClusterClient("source", { kubeconfig, pageSize: 3 });
    target = createClusterClient("target", { kubeconfig });
    for (const client of [source, target]) {
      await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
    }
  });
  afterAll(() => {
    source.close();
    target.close();
  });

  it("Given two contexts, When each client writes, Then each cluster holds only its own object", async () => {
    await source.apply(configMap("only-on-source"));
    expect(
      await source.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "only-on-source" }),
    ).toBeDefined();
    expect(
      await target.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "only-on-source" }),
    ).toBeUndefined();
  });

  it("Given a context whose credentials come from an exec plugin, When called, Then the plugin's token is sent", async () => {
    const plugin = join(clusters().dir, "auth-plugin.sh");
    const real = clusters().kubeConfig("target");
    const token = real.getCurrentUser()?.token ?? "";
    expect(token).not.toBe("");
    const credential = {
      apiVersion: "client.authentication.k8s.io/v1beta1",
      kind: "ExecCredential",
      status: { token },
    };
    await writeFile(plugin, `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`, { mode: 0o755 });
    const config = join(clusters().dir, "exec-kubeconfig");
    await writeFile(
      config,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "gke",
            cluster: { server: real.getCurrentCluster()?.server, "insecure-skip-tls-verify": true },
          },
        ],
        users: [
          {
            name: "gke",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1beta1",
                command: plugin,
                interactiveMode: "Never",
              },
            },
          },
        ],
        contexts: [{ name: "gke_project_zone_cluster", context: { cluster: "gke", user: "gke" } }],
      }),
    );
    const viaPlugin = createClusterClient("gke_project_zone_cluster", { kubeconfig: config });
    expect(await viaPlugin.get({ apiVersion: "v1", kind: "Namespace", name: "apps" })).toBeDefined();
    viaPlugin.close();
    // The token matters: the same plugin handing out another one is turned away.
    await writeFile(
      plugin,
      `#!/bin/sh\necho '${JSON.stringify({ ...credential, status: { token: "wrong" } })}'\n`,
    );
    const refused = createClusterClient("gke_project_zone_cluster", { kubeconfig: config });
    await expect(refused.get({ apiVersion: "v1", kind: "Namespace", name: "apps" })).rejects.toThrow(/401/);
    refused.close();
  });

  it("Given server-side apply twice with different data, Then the object is created, then updated, as clustershift", async () => {
    const created = await source.apply(configMap("ssa", { a: "1" }));
    const updated = await source.apply(configMap("ssa", { a: "2" }));
    expect(updated.data).toEqual({ a: "2" });
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    const managers = (updated.metadata.managedFields as { manager: string; operation: string }[]).map((m) => [
      m.manager,
      m.operation,
    ]);
    expect(managers).toContainEqual(["clustershift", "Apply"]);
  });

  it("Given more objects than a page, When listed, Then every one comes back with its apiVersion and kind", async () => {
    for (let i = 0; i < 8; i++) await source.apply(configMap(`page-${i}`, { i: String(i) }, "apps"));
    const listed = await source.list("v1", "ConfigMap", { namespace: "apps", labelSelector: "" });
    const names = listed.map((o) => o.metadata.name).filter((n) => n.startsWith("page-"));
    expect(names.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `page-${i}`));
    expect(listed.every((o) => o.apiVersion === "v1" && o.kind === "ConfigMap")).toBe(true);
  });

  it("Given an object, When create is called for it again, Then it fails with 409 AlreadyExists", async () => {
    await source.create(configMap("once"));
    const error = await source.create(configMap("once")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(409);
    expect((error as KubeApiError).message).toMatch(
      /^create ConfigMap apps\/once on context "source": 409 AlreadyExists/,
    );
  });

  it("Given a before-image, When replaced after changes, Then labels and data come back exactly", async () => {
    const before = await source.apply({
      ...configMap("restore", { a: "1" }),
      metadata: { name: "restore", namespace: "apps", labels: { keep: "me" } },
    });
    await source.apply({
      ...configMap("restore", { a: "2", b: "3" }),
      metadata: { name: "restore", namespace: "apps", labels: { other: "x" } },
    });
    const restored = await source.replace(before);
    expect(restored.data).toEqual({ a: "1" });
    expect(restored.metadata.labels).toEqual({ keep: "me" });
    // Compare-and-swap with a stale version is refused.
    const stale = await source
      .replace(before, { resourceVersion: before.metadata.resourceVersion ?? "" })
      .catch((e: unknown) => e);
    expect((stale as KubeApiError).status).toBe(409);
    // Restoring something deleted meanwhile recreates it.
    await source.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "restore" });
    expect((await source.replace(before)).data).toEqual({ a: "1" });
  });

  it("Given an object, When deleted twice, Then the first says true and the second false", async () => {
    await source.apply(configMap("gone"));
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "gone" };
    expect(await source.delete(ref)).toBe(true);
    expect(await source.delete(ref)).toBe(false);
    expect(await source.get(ref)).toBeUndefined();
  });

  it("Given discovery, Then served versions and kinds are known, and unknown groups are empty", async () => {
    expect(await source.servedVersions("")).toEqual(["v1"]);
    expect(await source.servedVersions("apps")).toEqual(["v1"]);
    expect((await source.servedVersions("networking.istio.io"))[0]).toBe("v1");
    expect(await source.servedVersions("example.com")).toEqual([]);
    const kinds = (await source.apiResources("apps/v1")).map((r) => r.kind);
    expect(kinds).toContain("Deployment");
    expect(await source.apiResources("example.com/v1")).toEqual([]);
  });

  it("Given an invalid object, When applied, Then it fails at once with the API's message, the object and the context", async () => {
    const log = clusters().sandbox?.clusters.get("source");
    log?.resetRequests();
    const invalid = { ...configMap("Not_Valid") };
    const error = await source.apply(invalid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as Error).message).toMatch(
      /^apply ConfigMap apps\/Not_Valid on context "source": 422 Invalid: /,
    );
    // At once: one try, never retried (the sandbox also shows the one request it got).
    expect((error as KubeApiError).attempts).toBe(1);
    if (log) expect(log.requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
  });

  it(
    "Given a Deployment, When its rollout is awaited, Then it completes with progress in replicas",
    async () => {
      await target.apply(deployment("web"));
      const progress: string[] = [];
      await target.waitForRollout(
        { apiVersion: "apps/v1", kind: "Deployment", namespace: "apps", name: "web" },
        timeout - 10_000,
        (d) => progress.push(d),
      );
      expect(progress.length).toBeGreaterThan(0);
    },
    timeout,
  );

  it(
    "Given a Deployment that never becomes ready, When its rollout is awaited, Then it fails on its progress deadline",
    async () => {
      await target.apply(await neverReadyDeployment(clusters(), substrate, "stuck"));
      await expect(
        target.waitForRollout(
          { apiVersion: "apps/v1", kind: "Deployment", namespace: "stuck", name: "stuck" },
          timeout - 10_000,
          () => {},
        ),
      ).rejects.toThrow(
        /rollout of Deployment stuck\/stuck on context "target" failed: exceeded its progress deadline/,
      );
    },
    timeout,
  );

  it("Given an object that never appears, When waited for, Then it times out saying what it waited for", async () => {
    await expect(
      target.waitFor(
        { apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "never" },
        (o) => o,
        300,
        () => {},
      ),
    ).rejects.toThrow('timed out after 300ms waiting for ConfigMap apps/never on context "target"');
  });

  it("Given an object that appears later, When waited for, Then the watch sees it", async () => {
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "later" };
    // Awaited before the test ends: on a busy machine its reply can come after the watch has seen the object.
    const applied = sleep(100).then(() => target.apply(configMap("later", { ready: "yes" })));
    const value = await target.waitFor(
      ref,
      (o) => (o?.data as Record<string, string> | undefined)?.ready,
      5_000,
      () => {},
    );
    await applied;
    expect(value).toBe("yes");
  });
});

describe("KubeClusterClient against the sandbox's fault injection", () => {
  // Injected 5xx, 429 with Retry-After and dropped connections need a server that misbehaves on request; a real
  // kube-apiserver does not, so these stay on the sandbox (test/support/clusters.ts exposes it).
  const clusters = useClusters("sandbox", { clusters: ["source", "target"], istio: false });
  let source: KubeClusterClient;
  let target: KubeClusterClient;
  const sandboxCluster = (name: string) => {
    const cluster = clusters().sandbox?.clusters.get(name);
    if (!cluster) throw new Error(`no sandbox cluster ${name}`);
    return cluster;
  };

  beforeAll(async () => {
    source = createClusterClient("source", { kubeconfig: clusters().kubeconfigPath });
    target = createClusterClient("target", { kubeconfig: clusters().kubeconfigPath });
    for (const client of [source, target]) {
      await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
    }
  });
  afterAll(() => {
    source.close();
    target.close();
  });

  it("Given 50% injected 5xx and 429 faults and dropped connections, When 30 objects are applied, Then all land", async () => {
    const cluster = sandboxCluster("target");
    cluster.setFaults({
      errorRate: 0.4,
      statuses: [500, 503, 429],
      retryAfterSeconds: 0,
      dropRate: 0.1,
      seed: faultSeed(),
    });
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => target.apply(configMap(`faulty-${i}`))));
      expect(cluster.faultsInjected).toBeGreaterThan(0);
    } finally {
      cluster.setFaults({});
    }
    const names = (await target.list("v1", "ConfigMap", { namespace: "apps" })).map((o) => o.metadata.name);
    expect(names.filter((n) => n.startsWith("faulty-"))).toHaveLength(30);
  });

  it("Given a 429 asking to retry after a second, When called, Then the retry waits for it", async () => {
    sandboxCluster("source").setFaults({ errorRate: 1, statuses: [429], retryAfterSeconds: 1, maxFaults: 1 });
    const started = Date.now();
    await source.get({ apiVersion: "v1", kind: "Namespace", name: "apps" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(sandboxCluster("source").faultsInjected).toBe(1);
    sandboxCluster("source").setFaults({});
  });

  it("Given a server that does not answer, When called, Then it retries, then fails naming the context", async () => {
    const closed = createClusterClient("source", {
      kubeconfig: clusters().kubeconfigPath,
      retry: { attempts: 3, baseMs: 5, maxMs: 10, maxRetryAfterMs: 10 },
    });
    (closed as unknown as { server: string }).server = "http://127.0.0.1:1";
    await expect(closed.servedVersions("apps")).rejects.toThrow(
      /^discover \/apis on context "source" \(http:\/\/127\.0\.0\.1:1\): .*ECONNREFUSED.* \(after 3 attempts\); the API server of context "source" cannot be reached: check that the cluster is up and that this machine can reach http:\/\/127\.0\.0\.1:1$/,
    );
  });
});
