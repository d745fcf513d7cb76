import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createSandboxDns } from "../../src/sandbox/dns/index.js";
import { FaultInjector, mulberry32 } from "../../src/sandbox/faults.js";
import { startSandbox, type SandboxCluster, type SandboxExtension } from "../../src/sandbox/index.js";
import { faultSeed } from "../support/faults.js";
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

/** The statuses of `count` reads of the namespace list, one after another. */
async function statuses(cluster: SandboxCluster, count: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < count; i++) codes.push((await raw(cluster, "GET", "/api/v1/namespaces")).status);
  return codes;
}

/** A request whose connection must end without an answer; resolves with the error fetch gave. */
async function lostReply(request: Promise<unknown>): Promise<Error> {
  try {
    await request;
  } catch (error) {
    return error as Error;
  }
  throw new Error("the request got an answer, but its reply was to be lost");
}

describe("seeded faults", () => {
  it("Given mulberry32, Then a seed gives the same sequence every time and another seed another one", () => {
    const take = (seed: number) => Array.from({ length: 5 }, mulberry32(seed));
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
    expect(take(7).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("Given a seed, When the same requests are faulted twice, Then the same ones fail with the same statuses", async () => {
    const seed = faultSeed();
    const cluster = env().cluster("source");
    const faults = { errorRate: 0.5, statuses: [500, 503, 429], retryAfterSeconds: 0, seed };
    try {
      cluster.setFaults(faults);
      const first = await statuses(cluster, 40);
      cluster.setFaults(faults);
      const second = await statuses(cluster, 40);
      expect(second).toEqual(first);
      expect(first.filter((c) => c !== 200).length).toBe(cluster.faultsInjected);
      cluster.setFaults({ ...faults, seed: (seed + 1) % 2 ** 32 });
      const other = await statuses(cluster, 40);
      // 40 coin flips agreeing by chance: one in 2^40.
      expect(other).not.toEqual(first);
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given requests to different objects interleaved in another order, Then each request's fate stays the same", () => {
    const seed = faultSeed();
    const fates = (order: string[]) => {
      const injector = new FaultInjector();
      injector.set({ errorRate: 0.5, dropRate: 0.2, replyLostRate: 0.3, seed });
      const byKey = new Map<string, string[]>();
      for (const path of order) {
        const kinds = byKey.get(path) ?? [];
        kinds.push(injector.decide("PUT", path).kind);
        byKey.set(path, kinds);
      }
      return Object.fromEntries([...byKey].sort());
    };
    const paths = Array.from({ length: 6 }, (_, i) => `/api/v1/namespaces/ns/configmaps/c${i % 3}`);
    expect(fates([...paths].reverse())).toEqual(fates(paths));
  });

  it("Given faults without a seed, Then the control API reports the seed in use, and that seed repeats the run", async () => {
    const cluster = env().cluster("target");
    try {
      const put = await raw(cluster, "PUT", "/sandbox/v1/faults", { body: { errorRate: 0.5 } });
      const seed = (put.body as { seed: number }).seed;
      expect(Number.isInteger(seed)).toBe(true);
      expect(cluster.faults.seed).toBe(seed);
      const first = await statuses(cluster, 20);
      await raw(cluster, "PUT", "/sandbox/v1/faults", { body: { errorRate: 0.5, seed } });
      expect(await statuses(cluster, 20)).toEqual(first);
      expect((await raw(cluster, "PUT", "/sandbox/v1/faults", { body: { seed: -1 } })).status).toBe(400);
    } finally {
      cluster.setFaults({});
    }
  });
});

describe("committed, reply lost", () => {
  const configMap = (name: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default" },
    data: { written: "yes" },
  });

  it("Given replyLostRate 1, When a ConfigMap is created, Then the client sees a socket error and the ConfigMap is stored", async () => {
    const cluster = env().cluster("source");
    cluster.setFaults({ replyLostRate: 1, seed: 1 });
    try {
      const error = await lostReply(
        raw(cluster, "POST", "/api/v1/namespaces/default/configmaps", { body: configMap("lost-create") }),
      );
      const cause = (error as { cause?: Error }).cause ?? error;
      expect(`${error.message} ${cause.message}`).toMatch(/socket|closed|terminated/i);
      expect(
        cluster.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "lost-create" })?.data,
      ).toEqual({
        written: "yes",
      });
      // Reads are answered: only writes lose their reply by default.
      expect((await raw(cluster, "GET", "/api/v1/namespaces/default/configmaps/lost-create")).status).toBe(
        200,
      );
      expect(cluster.faultsInjected).toBe(1);
      expect(cluster.requests.at(-2)).toMatchObject({ method: "POST", status: -1 });
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given replyLostRate 1, When a write is refused (409 AlreadyExists), Then its answer arrives and counts as no fault", async () => {
    const cluster = env().cluster("source");
    cluster.apply(configMap("refused"));
    cluster.setFaults({ replyLostRate: 1, seed: 2 });
    try {
      const refused = await raw(cluster, "POST", "/api/v1/namespaces/default/configmaps", {
        body: configMap("refused"),
      });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ reason: "AlreadyExists" });
      expect(cluster.faultsInjected).toBe(0);
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given replyLostMethods DELETE, When a ConfigMap is updated and then deleted, Then the update is answered and the delete is carried out unanswered", async () => {
    const cluster = env().cluster("source");
    cluster.apply(configMap("lost-delete"));
    cluster.setFaults({ replyLostRate: 1, replyLostMethods: ["DELETE"], seed: 3 });
    const path = "/api/v1/namespaces/default/configmaps/lost-delete";
    try {
      const patched = await raw(cluster, "PATCH", path, {
        body: { data: { written: "again" } },
        contentType: "application/merge-patch+json",
      });
      expect(patched.status).toBe(200);
      await lostReply(raw(cluster, "DELETE", path));
      expect(
        cluster.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "lost-delete" }),
      ).toBeUndefined();
    } finally {
      cluster.setFaults({});
    }
  });

  it("Given the sandbox DNS with replyLostRate 1 set over its control API, When a change batch is posted, Then it applies and the reply is lost; the faults endpoint itself is never faulted", async () => {
    const dns = createSandboxDns({ pendingMs: 0 });
    const sandbox = await startSandbox({ clusters: ["a"], extensions: [dns] });
    try {
      const cluster = sandbox.clusters.get("a") as SandboxCluster;
      const zone = dns.addZone({ name: "faults.test." });
      const put = await raw(cluster, "PUT", "/sandbox/v1/dns/faults", {
        body: { replyLostRate: 1, seed: 4 },
      });
      expect(put.body).toMatchObject({ replyLostRate: 1, seed: 4, faultsInjected: 0 });
      const record = { name: "shop.faults.test.", type: "A", ttl: 60, values: ["192.0.2.1"] };
      await lostReply(
        raw(cluster, "POST", `/sandbox/v1/dns/zones/${zone.id}/changes`, {
          body: { changes: [{ action: "CREATE", record }] },
        }),
      );
      expect(dns.recordSets(zone.id)).toEqual([record]);
      expect(dns.faultsInjected).toBe(1);
      // The retry of that batch is refused, as Route 53 refuses a CREATE of what exists: answered, no fault.
      const again = await raw(cluster, "POST", `/sandbox/v1/dns/zones/${zone.id}/changes`, {
        body: { changes: [{ action: "CREATE", record }] },
      });
      expect(again.status).toBe(400);
      expect(dns.faultsInjected).toBe(1);
      expect((await raw(cluster, "GET", `/sandbox/v1/dns/zones/${zone.id}/records`)).status).toBe(200);
      expect((await raw(cluster, "DELETE", "/sandbox/v1/dns/faults")).body).toEqual({ faultsInjected: 0 });
      dns.setFaults({ errorRate: 1, statuses: [503], seed: 5 });
      const failed = await raw(cluster, "GET", `/sandbox/v1/dns/zones/${zone.id}`);
      expect(failed.status).toBe(503);
      expect(failed.body).toMatchObject({ code: "ServiceUnavailable" });
    } finally {
      await sandbox.stop();
    }
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
