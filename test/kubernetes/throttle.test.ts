import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderKubeconfig } from "../../src/sandbox/kubeconfig.js";
import { AdaptiveLimit } from "../../src/providers/kubernetes/adaptive.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { mapLimit } from "../../src/providers/kubernetes/concurrency.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { startRealClusters, type RealClusters } from "../support/control-plane.js";

describe("AdaptiveLimit", () => {
  it("Given a limit of 8, When two requests of the same round are answered 429, Then it halves once, and lowest limit says 4", async () => {
    const limit = new AdaptiveLimit(8);
    const a = await limit.acquire();
    const b = await limit.acquire();

    limit.release(a, "throttled");
    limit.release(b, "throttled");

    expect(limit.stats).toEqual({ throttled: 2, retries: 0, lowestLimit: 4, limit: 4 });
  });

  it("Given a limit brought down to 2, When 2 and then 3 requests succeed in a row, Then it grows back by one each round, up to its max", async () => {
    const limit = new AdaptiveLimit(4);
    limit.release(await limit.acquire(), "throttled");
    expect(limit.stats.limit).toBe(2);

    for (let i = 0; i < 2; i++) limit.release(await limit.acquire(), "ok");
    expect(limit.stats.limit).toBe(3);
    for (let i = 0; i < 3; i++) limit.release(await limit.acquire(), "ok");
    expect(limit.stats.limit).toBe(4);
    for (let i = 0; i < 10; i++) limit.release(await limit.acquire(), "ok");
    expect(limit.stats.limit).toBe(4);
  });

  it("Given a full limit, When another request asks for a slot, Then it waits until one is released", async () => {
    const limit = new AdaptiveLimit(1);
    const first = await limit.acquire();
    let second: number | undefined;
    const waiting = limit.acquire().then((token) => (second = token));
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBeUndefined();

    limit.release(first, "ok");
    await waiting;

    expect(second).toBe(0);
  });

  it("Given a request waiting for a slot, When the run's signal aborts, Then it stops waiting with the signal's reason", async () => {
    const limit = new AdaptiveLimit(1);
    await limit.acquire();
    const controller = new AbortController();
    const waiting = limit.acquire(controller.signal);

    controller.abort(new Error("SIGTERM"));

    await expect(waiting).rejects.toThrow("SIGTERM");
  });
});

/**
 * A real kube-apiserver with its classic max-in-flight filter at one mutating request (priority and fairness off):
 * a second concurrent write gets the server's own 429 with Retry-After. The writer is not in system:masters, which
 * that filter (and priority and fairness) exempts.
 */
describe("the client against a real kube-apiserver that answers 429 over its in-flight limit", () => {
  const token = "operator-token-0123456789abcdef";
  let clusters: RealClusters | undefined;
  let kubeconfig = "";

  beforeAll(async () => {
    clusters = await startRealClusters({
      clusters: ["limited"],
      istio: false,
      apiserverArgs: [
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=10",
        "--max-mutating-requests-inflight=1",
      ],
      users: [{ token, name: "operator", groups: ["operators"] }],
    });
    const admin = createClusterClient("limited", { kubeconfig: clusters.kubeconfigPath });
    await admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "operators-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "operators" }],
    });
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "throttled" } });
    const server = clusters.kubeConfig("limited").getCurrentCluster()?.server ?? "";
    kubeconfig = join(clusters.dir, "operator.kubeconfig");
    await writeFile(kubeconfig, renderKubeconfig([{ name: "limited", server, token }]));
  }, 240_000);
  afterAll(async () => {
    await clusters?.stop();
  }, 60_000);

  it("Given 48 writes 16 at a time, When the real kube-apiserver answers 429 to those over its limit, Then every write lands, each 429 is retried, and the client's in-flight limit comes down", async () => {
    const client = createClusterClient("limited", { kubeconfig, maxInFlight: 16 });
    const objects: KubeObject[] = Array.from({ length: 48 }, (_, i) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `cm-${i}`, namespace: "throttled" },
      data: { index: String(i) },
    }));

    await mapLimit(objects, 16, (object) => client.apply(object));

    const stored = await client.list("v1", "ConfigMap", { namespace: "throttled" });
    expect(stored.filter((o) => o.metadata.name.startsWith("cm-")).length).toBe(48);
    const stats = client.throttle;
    console.log(
      `real kube-apiserver 429s: ${stats.throttled}, retries ${stats.retries}, lowest in-flight limit ${stats.lowestLimit}`,
    );
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.retries).toBeGreaterThanOrEqual(stats.throttled);
    expect(stats.lowestLimit).toBeLessThan(16);
  });
});
