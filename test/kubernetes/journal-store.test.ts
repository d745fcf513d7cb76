import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockedError } from "../../src/engine/errors.js";
import { KubernetesJournalStore } from "../../src/engine/journal/kubernetes-store.js";
import type { JournalEntry } from "../../src/engine/types.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";

const note = (seq: number): JournalEntry => ({
  type: "note",
  seq,
  time: "2025-01-01T00:00:00.000Z",
  step: "s",
  note: `n${seq}`,
});
const holder = (host: string) => ({ pid: process.pid, host, since: "2025-01-01T00:00:00.000Z" });

describe("KubernetesJournalStore against the sandbox", () => {
  let env: TestSandbox;
  /** A store on a client of its own: its own KubeConfig, as a second operator or CI runner would have. */
  const store = (playbook: string, options: ConstructorParameters<typeof KubernetesJournalStore>[3] = {}) =>
    new KubernetesJournalStore(
      createClusterClient("source", { kubeconfig: env.kubeconfigPath }),
      playbook,
      "clustershift",
      options,
    );
  const configMaps = () =>
    env
      .cluster("source")
      .list("v1", "ConfigMap", "clustershift")
      .map((c) => c.metadata.name);

  beforeAll(async () => {
    env = await withSandbox({ clusters: ["source"] });
  });
  afterAll(() => env.stop());

  it("Given 120 appends in chunks of 50, When read by another store, Then entries come back in order from three ConfigMaps", async () => {
    const writer = store("shop", { chunkEntries: 50 });
    expect(writer.location).toBe("kubernetes://source/clustershift/clustershift-shop");
    await Promise.all(Array.from({ length: 120 }, (_, i) => writer.append(note(i + 1))));
    expect(
      env.cluster("source").get({ apiVersion: "v1", kind: "Namespace", name: "clustershift" }),
    ).toBeDefined();
    expect(
      configMaps()
        .filter((n) => n.startsWith("clustershift-shop-journal-"))
        .sort(),
    ).toEqual(["clustershift-shop-journal-0", "clustershift-shop-journal-1", "clustershift-shop-journal-2"]);
    const reader = store("shop", { chunkEntries: 50 });
    expect((await reader.read()).map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // The reader takes over where the writer stopped, in the partly filled last chunk.
    await reader.append(note(121));
    expect((await writer.read()).at(-1)?.seq).toBe(121);
    expect(configMaps().filter((n) => n.startsWith("clustershift-shop-journal-"))).toHaveLength(3);
  });

  it("Given a torn last record in a partial chunk, When read and appended to, Then it is ignored and then replaced", async () => {
    const first = store("torn");
    await first.append(note(1));
    await first.append(note(2));
    const source = env.cluster("source");
    const chunk = source.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "clustershift",
      name: "clustershift-torn-journal-0",
    });
    source.apply(
      { ...chunk, data: { ...(chunk?.data as object), "0000000003": '{"type":"note","seq":3,"ti' } } as never,
      "editor",
    );
    const second = store("torn");
    expect((await second.read()).map((e) => e.seq)).toEqual([1, 2]);
    await second.append(note(3));
    expect((await store("torn").read()).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("Given a damaged record before the last, When read, Then it refuses to paper over it", async () => {
    const s = store("damaged");
    await s.append(note(1));
    await s.append(note(2));
    const source = env.cluster("source");
    const chunk = source.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "clustershift",
      name: "clustershift-damaged-journal-0",
    });
    source.apply(
      { ...chunk, data: { ...(chunk?.data as object), "0000000001": "{oops" } } as never,
      "editor",
    );
    await expect(store("damaged").read()).rejects.toThrow("unreadable journal record 0000000001");
  });

  it("Given two writers without the lock, When both append, Then the second one stops on the conflict", async () => {
    const a = store("race");
    const b = store("race");
    await a.read();
    await b.read();
    await a.append(note(1));
    await expect(b.append(note(1))).rejects.toThrow(LockedError);
    await a.append(note(2));
    const c = store("race");
    await c.read();
    await a.append(note(3));
    await expect(c.append(note(4))).rejects.toThrow(/was written by another process/);
    expect((await store("race").read()).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("Given a held lock, When another store takes it, Then it is refused until released", async () => {
    const a = store("locked");
    const b = store("locked");
    const handle = await a.lock(holder("runner-a"), () => {});
    await expect(b.lock(holder("runner-b"), () => {})).rejects.toThrow(
      new LockedError(`locked by pid ${process.pid} on runner-a since 2025-01-01T00:00:00.000Z`),
    );
    const lease = env.cluster("source").get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "clustershift",
      name: "clustershift-locked",
    });
    expect(lease?.spec).toMatchObject({
      holderIdentity: `${process.pid}@runner-a`,
      leaseDurationSeconds: 60,
    });
    expect((lease?.spec as { renewTime: string }).renewTime).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    );
    await handle.release();
    const warnings: string[] = [];
    const second = await b.lock(holder("runner-b"), (w) => warnings.push(w));
    expect(warnings).toEqual([]);
    await second.release();
  });

  it("Given a held lease, Then it is renewed while held", async () => {
    const a = store("renewed", { renewEveryMs: 50 });
    const handle = await a.lock(holder("runner-a"), () => {});
    const ref = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "clustershift",
      name: "clustershift-renewed",
    };
    const first = (env.cluster("source").get(ref)?.spec as { renewTime: string }).renewTime;
    await new Promise((r) => setTimeout(r, 200));
    expect((env.cluster("source").get(ref)?.spec as { renewTime: string }).renewTime > first).toBe(true);
    await handle.release();
  });

  it("Given a lease its holder stopped renewing, When another store locks, Then it takes over with a warning", async () => {
    env.cluster("source").apply(
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "clustershift-expired", namespace: "clustershift" },
        spec: {
          holderIdentity: "4242@crashed-runner",
          leaseDurationSeconds: 15,
          acquireTime: "2025-01-01T00:00:00.000000Z",
          renewTime: "2025-01-01T00:00:10.000000Z",
        },
      },
      "kubectl",
    );
    const warnings: string[] = [];
    const handle = await store("expired").lock(holder("runner-b"), (w) => warnings.push(w));
    expect(warnings).toEqual([
      "taking over the lock of pid 4242 on crashed-runner (since 2025-01-01T00:00:00.000000Z): its lease expired at 2025-01-01T00:00:25.000Z",
    ]);
    await handle.release();
  });

  it("Given a live lease of a pid that is gone on this host, When locked, Then it is taken over", async () => {
    env.cluster("source").apply(
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "clustershift-gone", namespace: "clustershift" },
        spec: {
          holderIdentity: `999999999@${hostname()}`,
          leaseDurationSeconds: 3600,
          acquireTime: new Date().toISOString(),
          renewTime: new Date().toISOString(),
        },
      },
      "kubectl",
    );
    const warnings: string[] = [];
    const handle = await store("gone").lock(holder("runner-b"), (w) => warnings.push(w));
    expect(warnings[0]).toMatch(/^taking over the lock of pid 999999999 on .*: that process is gone$/);
    await handle.release();
  });

  it("Given a holder whose lease was taken over, When it appends, Then it stops", async () => {
    const a = store("stolen", { renewEveryMs: 30 });
    const warnings: string[] = [];
    const handle = await a.lock(holder("runner-a"), (w) => warnings.push(w));
    await a.append(note(1));
    const ref = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "clustershift",
      name: "clustershift-stolen",
    };
    const lease = env.cluster("source").get(ref);
    env
      .cluster("source")
      .apply({ ...lease, spec: { ...(lease?.spec as object), holderIdentity: "1@thief" } } as never, "thief");
    await new Promise((r) => setTimeout(r, 150));
    expect(warnings).toContain("the lock was taken over by another process");
    await expect(a.append(note(2))).rejects.toThrow(LockedError);
    await handle.release();
  });

  it("Given sensitive values, Then they live in a Secret, come back, and clear removes everything", async () => {
    const s = store("secret");
    await s.append(note(1));
    await s.putSensitive("7", { before: { data: { password: "b2xk" } } });
    await s.putSensitive("odd/key with spaces", 42);
    expect(await store("secret").getSensitive("7")).toEqual({ before: { data: { password: "b2xk" } } });
    expect(await store("secret").getSensitive("odd/key with spaces")).toBe(42);
    const secrets = env
      .cluster("source")
      .list("v1", "Secret", "clustershift")
      .map((x) => x.metadata.name);
    expect(secrets).toContain("clustershift-secret-sensitive-0");
    expect(JSON.stringify(env.cluster("source").list("v1", "ConfigMap", "clustershift"))).not.toContain(
      "b2xk",
    );
    const handle = await s.lock(holder("runner-a"), () => {});
    await s.clear();
    await handle.release();
    expect(configMaps().filter((n) => n.startsWith("clustershift-secret-"))).toEqual([]);
    expect(
      env
        .cluster("source")
        .list("v1", "Secret", "clustershift")
        .filter((x) => x.metadata.name.startsWith("clustershift-secret-")),
    ).toEqual([]);
    expect(await store("secret").read()).toEqual([]);
  });
});
