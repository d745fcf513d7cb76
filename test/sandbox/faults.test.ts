import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { startSandbox, type SandboxExtension } from "../../src/sandbox/index.js";
import { useSandbox } from "../support/sandbox.js";
import { failure, raw } from "./helpers.js";

const env = useSandbox({ clusters: ["source", "target"] });

function core(cluster = "source"): CoreV1Api {
  return env().kubeConfig(cluster).makeApiClient(CoreV1Api);
}

describe("fault injection", () => {
  it("Given 429 faults set in-process, Then client-node sees 429 TooManyRequests with Retry-After; the control API is unaffected", async () => {
    const cluster = env().cluster("source");
    cluster.setFaults({ errorRate: 1, statuses: [429], retryAfterSeconds: 7 });
    try {
      const throttled = await failure(core().listNamespace());
      expect(throttled.code).toBe(429);
      expect(throttled.headers["retry-after"]).toBe("7");
      expect(throttled.status).toMatchObject({
        kind: "Status",
        reason: "TooManyRequests",
        details: { retryAfterSeconds: 7 },
      });
      expect((await raw(cluster, "GET", "/sandbox/v1/clusters")).status).toBe(200);
      expect(cluster.faultsInjected).toBe(1);
    } finally {
      cluster.setFaults({});
    }
    expect((await core().listNamespace()).items.length).toBeGreaterThan(0);
  });

  it("Given 5xx faults with maxFaults over the control API, Then the first requests fail and the next succeed", async () => {
    const cluster = env().cluster("target");
    const put = await raw(cluster, "PUT", "/sandbox/v1/faults", {
      body: { errorRate: 1, statuses: [500, 503], maxFaults: 2 },
    });
    expect(put.status).toBe(200);
    expect(cluster.faults).toMatchObject({ errorRate: 1, statuses: [500, 503], maxFaults: 2 });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await raw(cluster, "GET", "/api/v1/namespaces");
      codes.push(response.status);
      expect(response.contentType).toMatch(/^application\/json/);
    }
    expect(codes.slice(0, 2).every((c) => c === 500 || c === 503)).toBe(true);
    expect(codes[2]).toBe(200);
    expect(env().cluster("source").faultsInjected).toBe(0);
    await raw(cluster, "DELETE", "/sandbox/v1/faults");
    expect(cluster.faults).toEqual({});
  });

  it("Given dropped connections, Then client-node fails with a network error, not an HTTP status", async () => {
    const cluster = env().cluster("source");
    cluster.setFaults({ dropRate: 1, methods: ["GET"] });
    try {
      await expect(core().listNamespace()).rejects.toThrow(
        /socket hang up|ECONNRESET|closed|terminated|other side closed/i,
      );
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given added latency, Then requests take at least that long", async () => {
    const cluster = env().cluster("source");
    cluster.setFaults({ latencyMs: 120 });
    try {
      const started = performance.now();
      await core().listNamespace();
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given invalid fault settings, Then the control API answers 400", async () => {
    const response = await raw(env().cluster("source"), "PUT", "/sandbox/v1/faults", {
      body: { errorRate: 2 },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ kind: "Status", reason: "BadRequest" });
  });
});

describe("control API", () => {
  it("Given a cluster port, When POST /sandbox/v1/clusters, Then a new cluster serves on its own port with its own token", async () => {
    const source = env().cluster("source");
    const added = await raw(source, "POST", "/sandbox/v1/clusters", { body: { name: "gke-new" } });
    expect(added.status).toBe(201);
    const cluster = added.body as { name: string; server: string; httpsServer: string; token: string };
    expect(cluster.name).toBe("gke-new");
    expect(cluster.server).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.httpsServer).toBe(cluster.server.replace("http:", "https:"));
    expect(cluster.token).not.toBe(source.token);
    expect(env().sandbox.clusters.get("gke-new")?.server).toBe(cluster.server);

    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "gke-new", server: cluster.httpsServer, skipTLSVerify: true }],
      users: [{ name: "gke-new", token: cluster.token }],
      contexts: [{ name: "gke-new", cluster: "gke-new", user: "gke-new" }],
      currentContext: "gke-new",
    });
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toContain("default");

    const listed = (await raw(source, "GET", "/sandbox/v1/clusters")).body as { items: { name: string }[] };
    expect(listed.items.map((i) => i.name)).toEqual(["source", "target", "gke-new"]);
    expect((await raw(source, "POST", "/sandbox/v1/clusters", { body: { name: "gke-new" } })).status).toBe(
      409,
    );
    expect((await raw(source, "POST", "/sandbox/v1/clusters", { body: { name: "Bad Name" } })).status).toBe(
      400,
    );

    expect((await raw(source, "DELETE", "/sandbox/v1/clusters/gke-new")).status).toBe(200);
    expect(env().sandbox.clusters.has("gke-new")).toBe(false);
    expect((await raw(source, "DELETE", "/sandbox/v1/clusters/gke-new")).status).toBe(404);
  });

  it("Given one cluster's port, When faults are set for another cluster by name, Then only that one fails", async () => {
    const source = env().cluster("source");
    const target = env().cluster("target");
    expect(
      (
        await raw(source, "PUT", "/sandbox/v1/clusters/target/faults", {
          body: { errorRate: 1, statuses: [503] },
        })
      ).status,
    ).toBe(200);
    try {
      expect((await raw(target, "GET", "/api/v1/namespaces")).status).toBe(503);
      expect((await raw(source, "GET", "/api/v1/namespaces")).status).toBe(200);
    } finally {
      target.setFaults({});
    }
  });

  it("Given an extension, Then it serves under /sandbox/v1/<prefix>/ on every cluster port, behind the token, without faults", async () => {
    const calls: { path: string; body: unknown; method: string | undefined }[] = [];
    const extension: SandboxExtension = {
      prefix: "echo",
      handle(req, res, path, body) {
        calls.push({ path, body, method: req.method });
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ path }));
        return Promise.resolve();
      },
    };
    const sandbox = await startSandbox({ clusters: ["a", "b"], extensions: [extension] });
    try {
      const a = sandbox.clusters.get("a");
      const b = sandbox.clusters.get("b");
      if (!a || !b) throw new Error("clusters missing");
      a.setFaults({ errorRate: 1 });
      expect((await raw(a, "POST", "/sandbox/v1/echo/zones/z1", { body: { x: 1 } })).body).toEqual({
        path: "/zones/z1",
      });
      expect((await raw(b, "GET", "/sandbox/v1/echo/")).status).toBe(200);
      expect((await raw(b, "GET", "/sandbox/v1/echo/", { token: a.token })).status).toBe(401);
      expect(calls).toEqual([
        { path: "/zones/z1", body: { x: 1 }, method: "POST" },
        { path: "/", body: undefined, method: "GET" },
      ]);
    } finally {
      await sandbox.stop();
    }
  });

  it("Given requests, Then the cluster records them for tests", async () => {
    const cluster = env().cluster("target");
    cluster.resetRequests();
    await core("target").readNamespace({ name: "default" });
    expect(cluster.requests).toEqual([{ method: "GET", path: "/api/v1/namespaces/default", status: 200 }]);
  });
});
