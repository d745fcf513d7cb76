import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../src/engine/errors.js";
import { createGkeClient } from "../../src/providers/gke/client.js";
import { createHubClient } from "../../src/providers/gke/hub-client.js";
import type { ClusterRef, GkePort } from "../../src/providers/gke/port.js";
import { eventually } from "../support/wait.js";
import { useGkeWorld } from "./support/env.js";

const CLUSTER: ClusterRef = { project: "my-project", location: "us-central1-a", name: "shop-target" };
const SPEC = { machineType: "e2-standard-4", nodeCount: 3, workloadPool: "my-project.svc.id.goog" };
const MEMBERSHIP = "projects/my-project/locations/global/memberships/shop-target";
/** Far longer than any test waits: a call that ends did so by the signal, or by a timeout the test set itself. */
const NEVER_MS = 600_000;

/** Settles `promise` into a value to assert on: what it resolved to, or what it rejected with. */
function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe("GKE cluster manager calls (gRPC) under the run's signal", () => {
  const world = useGkeWorld();
  const clients: GkePort[] = [];
  const client = (signal: AbortSignal, timeoutMs = NEVER_MS) => {
    const gke = createGkeClient({ endpoint: world.gke.endpoint, signal, timeoutMs });
    clients.push(gke);
    return gke;
  };
  const closeAll = async () => {
    for (const gke of clients.splice(0)) await gke.close();
  };

  it("Given a getCluster the server never answers, When SIGTERM aborts the run, Then the read rejects with the interrupt itself and the gRPC call is cancelled on the server", async () => {
    world.gke.hang.add("getCluster");
    const controller = new AbortController();
    const read = outcome(client(controller.signal).getCluster(CLUSTER));
    await eventually(
      () => (world.gke.calls.some((c) => c.method === "getCluster") ? true : undefined),
      30_000,
    );

    const reason = new InterruptedError("SIGTERM");
    controller.abort(reason);
    const result = await read;
    expect(result).toEqual({ error: reason });
    expect("error" in result && result.error).toBe(reason);
    await eventually(() => (world.gke.cancelled.includes("getCluster") ? true : undefined), 30_000, {
      message: () => `the server never saw the call cancelled: ${JSON.stringify(world.gke.cancelled)}`,
    });
    await closeAll();
  });

  it("Given a run already interrupted, When a read or a write is asked for, Then neither starts: both reject with the interrupt and the server receives nothing", async () => {
    const controller = new AbortController();
    const reason = new InterruptedError("SIGINT");
    controller.abort(reason);
    const gke = client(controller.signal);
    expect(await outcome(gke.getCluster(CLUSTER))).toEqual({ error: reason });
    expect(await outcome(gke.createCluster(CLUSTER, SPEC))).toEqual({ error: reason });
    expect(world.gke.calls).toEqual([]);
    await closeAll();
  });

  it("Given a createCluster in flight, When the run is interrupted, Then the write is not abandoned: it goes on to its own end (here the call's timeout), never the interrupt", async () => {
    world.gke.hang.add("createCluster");
    const controller = new AbortController();
    const write = outcome(client(controller.signal, 1500).createCluster(CLUSTER, SPEC));
    await eventually(
      () => (world.gke.calls.some((c) => c.method === "createCluster") ? true : undefined),
      30_000,
    );
    controller.abort(new InterruptedError("SIGTERM"));
    const result = await write;
    expect("error" in result).toBe(true);
    const error = (result as { error: Error }).error;
    expect(error).not.toBeInstanceOf(InterruptedError);
    expect(error.message).toContain(
      `create cluster ${"projects/my-project/locations/us-central1-a/clusters/shop-target"} failed: DEADLINE_EXCEEDED`,
    );
    await closeAll();
  });

  it("Given a getCluster the server never answers and no signal, When the call's timeout passes, Then it fails with DEADLINE_EXCEEDED naming the call, instead of gax's ten minutes of retries", async () => {
    world.gke.hang.add("getCluster");
    const result = await outcome(client(new AbortController().signal, 1000).getCluster(CLUSTER));
    expect("error" in result).toBe(true);
    const error = (result as { error: Error }).error;
    expect(error.message).toMatch(
      /^read cluster projects\/my-project\/locations\/us-central1-a\/clusters\/shop-target failed: DEADLINE_EXCEEDED/,
    );
    await closeAll();
  });
});

describe("GKE Hub calls (REST) under the run's signal", () => {
  const world = useGkeWorld();

  it("Given a membership read the server never answers, When SIGTERM aborts the run, Then the read rejects with the interrupt itself and its connection is closed", async () => {
    world.hub.faults.push({ match: "GET ", hang: true });
    const controller = new AbortController();
    const hub = createHubClient({
      endpoint: world.hub.endpoint,
      signal: controller.signal,
      timeoutMs: NEVER_MS,
    });
    const read = outcome(hub.getMembership(MEMBERSHIP));
    await eventually(() => (world.hub.calls.some((c) => c.fault === "hang") ? true : undefined), 30_000);

    const reason = new InterruptedError("SIGTERM");
    controller.abort(reason);
    expect(await read).toEqual({ error: reason });
    await eventually(() => (world.hub.hungUp.length > 0 ? true : undefined), 30_000);
    expect(world.hub.hungUp[0]).toMatch(
      /^GET \/v1\/projects\/my-project\/locations\/global\/memberships\/shop-target/,
    );
  });

  it("Given a run already interrupted, When a membership is to be registered, Then no request is sent", async () => {
    const controller = new AbortController();
    const reason = new InterruptedError("SIGINT");
    controller.abort(reason);
    const hub = createHubClient({ endpoint: world.hub.endpoint, signal: controller.signal });
    expect(await outcome(hub.createMembership(MEMBERSHIP, CLUSTER))).toEqual({ error: reason });
    expect(world.hub.calls).toEqual([]);
  });

  it("Given a registration in flight the server never answers, When the run is interrupted, Then the write is not abandoned: it ends by its own timeout, as DEADLINE_EXCEEDED naming the call", async () => {
    world.hub.faults.push({ match: "POST ", hang: true });
    const controller = new AbortController();
    const hub = createHubClient({ endpoint: world.hub.endpoint, signal: controller.signal, timeoutMs: 1500 });
    const write = outcome(hub.createMembership(MEMBERSHIP, CLUSTER));
    await eventually(() => (world.hub.calls.some((c) => c.fault === "hang") ? true : undefined), 30_000);
    controller.abort(new InterruptedError("SIGTERM"));
    const result = await write;
    const error = (result as { error: Error }).error;
    expect(error).not.toBeInstanceOf(InterruptedError);
    expect(error.message).toMatch(
      /^register membership projects\/my-project\/locations\/global\/memberships\/shop-target failed: DEADLINE_EXCEEDED: no answer within 2s/,
    );
  });
});
