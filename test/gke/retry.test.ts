import http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it, vi } from "vitest";
import { retryAfterMs } from "../../src/providers/backoff.js";
import { createGkeClient } from "../../src/providers/gke/client.js";
import { createHubClient } from "../../src/providers/gke/hub-client.js";
import type { ClusterRef } from "../../src/providers/gke/port.js";
import { backoffMs, retryPolicy, type RetryOptions } from "../../src/providers/gke/retry.js";
import { enableMeshStep } from "../../src/steps/enable-mesh/index.js";
import { gkePlaybook } from "./harness.js";
import { useGkeWorld } from "./support/env.js";
import type { HubCall } from "./support/fake-gkehub.js";

const MEMBERSHIPS = "/v1/projects/my-project/locations/global/memberships";
const MEMBERSHIP = "projects/my-project/locations/global/memberships/cluster-with-csm";
const FEATURES = "/v1/projects/my-project/locations/global/features";
const FEATURE = `${FEATURES}/servicemesh`;
const CLUSTER: ClusterRef = { project: "my-project", location: "us-central1-a", name: "cluster-with-csm" };
const OTHER_CLUSTER =
  "//container.googleapis.com/projects/my-project/locations/europe-west1-b/clusters/cluster-with-csm";

/** Mutating requests by `METHOD path`, with how often each was sent. */
function sent(calls: HubCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls.filter((c) => c.method !== "GET")) {
    const key = `${call.method} ${call.path.split("?")[0]}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Backoff that records its waits instead of sleeping them; jitter pinned to the middle. */
function recorded(options: RetryOptions = {}): RetryOptions & { waits: number[] } {
  const waits: number[] = [];
  return {
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...options,
    waits,
  };
}

describe("enable-mesh when the GKE Hub fails now and then", () => {
  const world = useGkeWorld();

  it("Given two 503s with Retry-After and a 429 on the way, When planned and applied, Then it succeeds and each request is sent once more per failure, no more", async () => {
    world.hub.faults.push(
      { match: `GET ${MEMBERSHIPS}/`, status: 503, code: "UNAVAILABLE", retryAfter: "1" },
      { match: `POST ${MEMBERSHIPS}`, status: 503, code: "UNAVAILABLE", retryAfter: "1" },
      { match: `PATCH ${FEATURE}`, status: 429, code: "RESOURCE_EXHAUSTED", retryAfter: "1" },
    );
    const run = world.run(enableMeshStep, gkePlaybook());

    const { verifications } = await run.apply();

    expect(verifications).toEqual([{ outcome: "passed", detail: "managed control plane ACTIVE" }]);
    expect(world.hub.faults).toEqual([]);
    expect(world.hub.calls.filter((c) => c.fault).map((c) => `${c.fault} ${c.method}`)).toEqual([
      "503 UNAVAILABLE GET",
      "503 UNAVAILABLE POST",
      "429 RESOURCE_EXHAUSTED PATCH",
    ]);
    expect(sent(world.hub.calls)).toEqual({
      [`POST ${MEMBERSHIPS}`]: 2,
      [`POST ${FEATURES}`]: 1,
      [`PATCH ${FEATURE}`]: 2,
    });
    expect([...world.hub.memberships.keys()]).toEqual([MEMBERSHIP]);
  });

  it("Given the replies to registration and enabling are lost after the server acted, When applied, Then each retry meets ALREADY_EXISTS, takes it as done and the apply goes on", async () => {
    world.hub.faults.push(
      { match: `POST ${MEMBERSHIPS}`, drop: "after" },
      { match: `POST ${FEATURES}`, drop: "after" },
    );
    const run = world.run(enableMeshStep, gkePlaybook());

    const { verifications } = await run.apply();

    expect(verifications).toEqual([{ outcome: "passed", detail: "managed control plane ACTIVE" }]);
    expect(world.hub.calls.filter((c) => c.method === "POST").map((c) => c.fault ?? "served")).toEqual([
      "dropped after",
      "served",
      "dropped after",
      "served",
    ]);
    expect(sent(world.hub.calls)).toEqual({
      [`POST ${MEMBERSHIPS}`]: 2,
      [`POST ${FEATURES}`]: 2,
      [`PATCH ${FEATURE}`]: 1,
    });
    expect([...world.hub.memberships.keys()]).toEqual([MEMBERSHIP]);
    expect([...world.hub.features.keys()]).toEqual(["my-project"]);
  });

  it("Given the caller may not read the fleet, When planned, Then the 403 is not retried", async () => {
    world.hub.faults.push({ match: `GET ${MEMBERSHIPS}/`, status: 403, code: "PERMISSION_DENIED" });

    await expect(world.run(enableMeshStep, gkePlaybook()).plan()).rejects.toThrow(
      `read membership ${MEMBERSHIP} failed: PERMISSION_DENIED`,
    );
    expect(world.hub.calls).toHaveLength(1);
  });

  it("Given the caller may not register memberships, When applied, Then the 403 is not retried", async () => {
    world.hub.faults.push({ match: `POST ${MEMBERSHIPS}`, status: 403, code: "PERMISSION_DENIED" });

    await expect(world.run(enableMeshStep, gkePlaybook()).apply()).rejects.toThrow(
      `register membership ${MEMBERSHIP} failed: PERMISSION_DENIED`,
    );
    expect(sent(world.hub.calls)).toEqual({ [`POST ${MEMBERSHIPS}`]: 1 });
  });
});

describe("GKE Hub client retries", () => {
  const world = useGkeWorld();

  it("Given 503 with Retry-After 2, a bare 503 and a 502, When read, Then it waits 2s, then backs off doubling, and answers", async () => {
    world.hub.faults.push(
      { status: 503, code: "UNAVAILABLE", retryAfter: "2" },
      { status: 503, code: "UNAVAILABLE" },
      { status: 502, code: "UNAVAILABLE" },
    );
    const retry = recorded();

    const membership = await createHubClient({ endpoint: world.hub.endpoint, retry }).getMembership(
      MEMBERSHIP,
    );

    expect(membership).toBeUndefined();
    expect(retry.waits).toEqual([2000, 150, 300]);
    expect(world.hub.calls).toHaveLength(4);
  });

  it("Given connections dropped before and after serving a read, When read, Then it is read again", async () => {
    world.hub.faults.push({ drop: "before" }, { drop: "after" });
    const retry = recorded();

    await createHubClient({ endpoint: world.hub.endpoint, retry }).getFeature("my-project");

    expect(world.hub.calls.map((c) => c.fault ?? "served")).toEqual([
      "dropped before",
      "dropped after",
      "served",
    ]);
    expect(retry.waits).toHaveLength(2);
  });

  it("Given 503 on every try, When read, Then it gives up after the last attempt with the API's words and a hint", async () => {
    world.hub.faults.push(
      ...Array.from({ length: 3 }, () => ({
        status: 503,
        code: "UNAVAILABLE",
        message: "The service is currently unavailable.",
      })),
    );
    const retry = recorded({ attempts: 3 });

    await expect(
      createHubClient({ endpoint: world.hub.endpoint, retry }).getFeature("my-project"),
    ).rejects.toThrow(
      "read feature projects/my-project/locations/global/features/servicemesh failed: UNAVAILABLE: The service is currently unavailable.\n" +
        "  gkehub.googleapis.com could not be reached; check the network and retry (apply resumes).",
    );
    expect(world.hub.calls).toHaveLength(3);
    expect(retry.waits).toEqual([75, 150]);
  });

  it("Given nothing listens, When read, Then the refused connection is tried again and reported as UNAVAILABLE", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const retry = recorded({ attempts: 3 });

    await expect(
      createHubClient({ endpoint: `http://127.0.0.1:${port}`, retry }).getMembership(MEMBERSHIP),
    ).rejects.toThrow(
      /^read membership .* failed: UNAVAILABLE: connect ECONNREFUSED 127\.0\.0\.1:\d+\n.*could not be reached/,
    );
    expect(retry.waits).toHaveLength(2);
  });

  it("Given the name is registered for another cluster, When registered at once or after a lost try, Then ALREADY_EXISTS is an error either way", async () => {
    world.hub.memberships.set(MEMBERSHIP, {
      name: MEMBERSHIP,
      endpoint: { gkeCluster: { resourceLink: OTHER_CLUSTER } },
    });
    const hub = createHubClient({ endpoint: world.hub.endpoint, retry: recorded() });

    await expect(hub.createMembership(MEMBERSHIP, CLUSTER)).rejects.toThrow(
      `register membership ${MEMBERSHIP} failed: ALREADY_EXISTS: Membership ${MEMBERSHIP} already exists`,
    );
    world.hub.faults.push({ match: `POST ${MEMBERSHIPS}`, drop: "before" });
    await expect(hub.createMembership(MEMBERSHIP, CLUSTER)).rejects.toThrow("ALREADY_EXISTS");
    expect(world.hub.memberships.get(MEMBERSHIP)?.endpoint).toEqual({
      gkeCluster: { resourceLink: OTHER_CLUSTER },
    });
  });

  it("Given the feature exists and the first try was refused by quota, When enabled, Then ALREADY_EXISTS is an error: no try of ours made it", async () => {
    await createHubClient({ endpoint: world.hub.endpoint }).enableFeature("my-project");
    world.hub.faults.push({ status: 429, code: "RESOURCE_EXHAUSTED" });

    await expect(
      createHubClient({ endpoint: world.hub.endpoint, retry: recorded() }).enableFeature("my-project"),
    ).rejects.toThrow(
      "enable feature projects/my-project/locations/global/features/servicemesh failed: ALREADY_EXISTS",
    );
  });

  it("Given an interrupted run, When a retry is waiting out a long Retry-After, Then it stops with the abort reason", async () => {
    world.hub.faults.push({ status: 503, code: "UNAVAILABLE", retryAfter: "60" });
    const controller = new AbortController();
    const hub = createHubClient({
      endpoint: world.hub.endpoint,
      retry: { baseDelayMs: 1000, signal: controller.signal },
    });

    const reading = hub.getMembership(MEMBERSHIP);
    await expect.poll(() => world.hub.calls.length).toBe(1);
    controller.abort(new Error("interrupted"));

    await expect(reading).rejects.toThrow("interrupted");
    expect(world.hub.calls).toHaveLength(1);
  });
});

describe("retry timing", () => {
  it("Given Retry-After as seconds, as an HTTP date or junk, When read, Then it is milliseconds from now or nothing", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3000);
    expect(retryAfterMs("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("Tue, 31 Dec 2024 23:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it("Given attempts one after another, When backing off, Then waits double between half and all of their ceiling, capped, with Retry-After as a floor", () => {
    const policy = (random: number) => ({ baseDelayMs: 1000, maxDelayMs: 60_000, random: () => random });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, undefined, policy(0)))).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000,
    ]);
    expect([1, 2, 3].map((n) => backoffMs(n, undefined, policy(0.999_999)))).toEqual([1000, 2000, 4000]);
    expect(backoffMs(1, 7000, policy(0))).toBe(7000);
    expect(backoffMs(1, 3_600_000, policy(0))).toBe(60_000);
  });

  it("Given CLUSTERSHIFT_GKE_RETRY_DELAY in the environment, When a policy is made without a delay, Then the first backoff is 1s: the provider reads no environment, the CLI injects it", () => {
    vi.stubEnv("CLUSTERSHIFT_GKE_RETRY_DELAY", "2ms");
    try {
      expect(retryPolicy().baseDelayMs).toBe(1000);
      expect(retryPolicy({ baseDelayMs: 2 }).baseDelayMs).toBe(2);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("GKE cluster manager client retries", () => {
  const world = useGkeWorld();
  const NAME = "projects/my-project/locations/us-central1-a/clusters/cluster-with-csm";

  function client() {
    return createGkeClient({ endpoint: world.gke.endpoint, retry: { baseDelayMs: 1 } });
  }

  function running() {
    world.gke.addRunningCluster(NAME, { machineType: "e2-standard-4", nodeCount: 2, workloadPool: "p" });
  }

  const calls = (method: string) => world.gke.calls.filter((c) => c.method === method).length;

  it("Given UNAVAILABLE twice on getCluster, When read, Then google-gax retries it and the read succeeds", async () => {
    running();
    world.gke.failNext.set("getCluster", { code: grpc.status.UNAVAILABLE, details: "try later", times: 2 });
    const gke = client();
    try {
      expect((await gke.getCluster(CLUSTER))?.status).toBe("RUNNING");
    } finally {
      await gke.close();
    }
    expect(calls("getCluster")).toBe(3);
  });

  it("Given RESOURCE_EXHAUSTED twice on getCluster and on getOperation, When read, Then both are retried and succeed", async () => {
    const gke = client();
    try {
      const operation = await gke.createCluster(CLUSTER, {
        machineType: "e2-standard-4",
        nodeCount: 2,
        workloadPool: "my-project.svc.id.goog",
      });
      for (const method of ["getCluster", "getOperation"])
        world.gke.failNext.set(method, { code: grpc.status.RESOURCE_EXHAUSTED, details: "quota", times: 2 });

      expect((await gke.getCluster(CLUSTER))?.status).toBe("PROVISIONING");
      expect((await gke.getOperation(operation.name)).name).toBe(operation.name);
    } finally {
      await gke.close();
    }
    expect([calls("getCluster"), calls("getOperation")]).toEqual([3, 3]);
  });

  it("Given PERMISSION_DENIED on getCluster or UNAVAILABLE on createCluster, When called, Then neither is retried", async () => {
    world.gke.failNext.set("getCluster", { code: grpc.status.PERMISSION_DENIED, details: "denied" });
    world.gke.failNext.set("createCluster", { code: grpc.status.UNAVAILABLE, details: "try later" });
    const gke = client();
    try {
      await expect(gke.getCluster(CLUSTER)).rejects.toThrow("PERMISSION_DENIED");
      await expect(
        gke.createCluster(CLUSTER, { machineType: "e2-standard-4", nodeCount: 2, workloadPool: "p" }),
      ).rejects.toThrow("UNAVAILABLE");
    } finally {
      await gke.close();
    }
    expect([calls("getCluster"), calls("createCluster")]).toEqual([1, 1]);
  });
});
