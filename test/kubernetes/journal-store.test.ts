import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { LockedError } from "../../src/engine/errors.js";
import { KubernetesJournalStore } from "../../src/engine/journal/kubernetes-store.js";
import type { JournalEntry } from "../../src/engine/types.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { withoutServerMetadata } from "../../src/providers/kubernetes/metadata.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { eventually } from "../support/wait.js";

const note = (seq: number, text = `n${seq}`): JournalEntry => ({
  type: "note",
  seq,
  time: "2025-01-01T00:00:00.000Z",
  step: "s",
  note: text,
});
const holder = (host: string) => ({ pid: process.pid, host, since: "2025-01-01T00:00:00.000Z" });
const leaseRef = (name: string): ObjectRef => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  namespace: "clustershift",
  name,
});
const chunkRef = (name: string): ObjectRef => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: "clustershift",
  name,
});
/** Lease times as a real kube-apiserver takes them (MicroTime: RFC 3339 with exactly six fractional digits). */
const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

describe.each(SUBSTRATES)("KubernetesJournalStore on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source"], istio: false });
  /** A store on a client of its own: its own KubeConfig, as a second operator or CI runner would have. */
  const store = (
    playbook: string,
    options: ConstructorParameters<typeof KubernetesJournalStore>[3] = {},
    namespace = "clustershift",
  ) =>
    new KubernetesJournalStore(
      createClusterClient("source", { kubeconfig: clusters().kubeconfigPath }),
      playbook,
      namespace,
      options,
    );
  /** What a person (or another tool) sees and edits: the product's client, used as a plain client. */
  const cluster = () => clusters().client("source");
  const get = (ref: ObjectRef) => cluster().get(ref);
  /** `kubectl apply --server-side` of an edited object, as `manager`. */
  const edit = (object: KubeObject, manager: string) =>
    clusters().seed("source", [withoutServerMetadata(object)], manager);
  const list = async (kind: string) =>
    (await cluster().list("v1", kind, { namespace: "clustershift" })).map((c) => c.metadata.name);
  const configMaps = () => list("ConfigMap");

  it("Given 120 appends in chunks of 50, When read by another store, Then entries come back in order from three ConfigMaps", async () => {
    const writer = store("shop", { chunkEntries: 50 });
    expect(writer.location).toBe("kubernetes://source/clustershift/clustershift-shop");
    await Promise.all(Array.from({ length: 120 }, (_, i) => writer.append(note(i + 1))));
    expect(await get({ apiVersion: "v1", kind: "Namespace", name: "clustershift" })).toBeDefined();
    expect((await configMaps()).filter((n) => n.startsWith("clustershift-shop-journal-")).sort()).toEqual([
      "clustershift-shop-journal-0",
      "clustershift-shop-journal-1",
      "clustershift-shop-journal-2",
    ]);
    const reader = store("shop", { chunkEntries: 50 });
    expect((await reader.read()).map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // The reader takes over where the writer stopped, in the partly filled last chunk.
    await reader.append(note(121));
    expect((await writer.read()).at(-1)?.seq).toBe(121);
    expect((await configMaps()).filter((n) => n.startsWith("clustershift-shop-journal-"))).toHaveLength(3);
  });

  it("Given a torn last record in a partial chunk, When read and appended to, Then it is ignored and then replaced", async () => {
    const first = store("torn");
    await first.append(note(1));
    await first.append(note(2));
    const chunk = (await get(chunkRef("clustershift-torn-journal-0"))) as KubeObject;
    await edit(
      { ...chunk, data: { ...(chunk.data as object), "0000000003": '{"type":"note","seq":3,"ti' } },
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
    const chunk = (await get(chunkRef("clustershift-damaged-journal-0"))) as KubeObject;
    await edit({ ...chunk, data: { ...(chunk.data as object), "0000000001": "{oops" } }, "editor");
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
    const lease = await get(leaseRef("clustershift-locked"));
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
    const ref = leaseRef("clustershift-renewed");
    const renewTime = async () => ((await get(ref))?.spec as { renewTime: string }).renewTime;
    const first = await renewTime();
    // Renewed within a few periods; how soon depends on the machine, so it is waited for, not timed.
    const later = await eventually(async () => {
      const now = await renewTime();
      return now > first ? now : undefined;
    }, 10_000);
    expect(later > first).toBe(true);
    await handle.release();
  });

  it("Given a lease its holder stopped renewing, When another store locks, Then it takes over with a warning", async () => {
    await edit(
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
    await edit(
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "clustershift-gone", namespace: "clustershift" },
        spec: {
          holderIdentity: `999999999@${hostname()}`,
          leaseDurationSeconds: 3600,
          acquireTime: microTime(new Date()),
          renewTime: microTime(new Date()),
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
    const lease = (await get(leaseRef("clustershift-stolen"))) as KubeObject;
    await edit({ ...lease, spec: { ...(lease.spec as object), holderIdentity: "1@thief" } }, "thief");
    await eventually(() => (warnings.length > 0 ? true : undefined), 10_000);
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
    expect(await list("Secret")).toContain("clustershift-secret-sensitive-0");
    expect(
      JSON.stringify(await cluster().list("v1", "ConfigMap", { namespace: "clustershift" })),
    ).not.toContain("b2xk");
    const handle = await s.lock(holder("runner-a"), () => {});
    await s.clear();
    await handle.release();
    expect((await configMaps()).filter((n) => n.startsWith("clustershift-secret-"))).toEqual([]);
    expect((await list("Secret")).filter((n) => n.startsWith("clustershift-secret-"))).toEqual([]);
    expect(await store("secret").read()).toEqual([]);
  });

  it("Given records of 300 KiB, When appended, Then each ConfigMap and Secret chunk stays within what the server stores and they read back", async () => {
    const big = (seq: number) => note(seq, String(seq).repeat(300 * 1024));
    const s = store("big");
    for (let seq = 1; seq <= 4; seq++) await s.append(big(seq));
    await s.putSensitive("a", "a".repeat(400 * 1024));
    await s.putSensitive("b", "b".repeat(400 * 1024));
    expect((await configMaps()).filter((n) => n.startsWith("clustershift-big-journal-")).sort()).toEqual([
      "clustershift-big-journal-0",
      "clustershift-big-journal-1",
      "clustershift-big-journal-2",
      "clustershift-big-journal-3",
    ]);
    expect((await list("Secret")).filter((n) => n.startsWith("clustershift-big-")).sort()).toEqual([
      "clustershift-big-sensitive-0",
      "clustershift-big-sensitive-1",
    ]);
    expect(await store("big").read()).toEqual([1, 2, 3, 4].map(big));
    expect(await store("big").getSensitive("b")).toBe("b".repeat(400 * 1024));
    // A record no chunk can hold is split over chunks of its own and read back whole.
    await s.append(note(5, "x".repeat(600 * 1024)));
    expect(await store("big").read()).toEqual([...[1, 2, 3, 4].map(big), note(5, "x".repeat(600 * 1024))]);
  });

  it("Given a 700 KiB ConfigMap and a 1 MB Secret as before-images, When journaled (the Secret's images sensitive) and read by another store, Then both come back byte for byte, every chunk within what the server stores", async () => {
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "catalog", namespace: "shop" },
      // Not one repeated character: a realistic spread of bytes, multi-byte characters included.
      data: {
        "catalog.json": Array.from({ length: (700 * 1024) / 8 }, (_, i) =>
          `é${(i * 7919) % 1_000_000}`.padEnd(7, "·"),
        )
          .join("")
          .slice(0, 700 * 1024),
      },
    };
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bundle", namespace: "shop" },
      data: { "bundle.pem": Buffer.alloc(1_000_000, 0x5a).toString("base64") },
    };
    const change = (seq: number, before: unknown): JournalEntry => ({
      type: "change",
      seq,
      time: "2025-01-01T00:00:00.000Z",
      step: "mirror-workloads",
      kind: "mirror-workloads",
      address: "object",
      action: "update",
      before,
      after: before,
    });
    const s = store("huge");
    await s.append(note(1));
    await s.append(change(2, configMap));
    await s.putSensitive("3", { before: secret, after: secret });
    await s.append(change(3, "(sensitive: 1 keys)"));
    await s.append(note(4));
    const reader = store("huge");
    expect(await reader.read()).toEqual([
      note(1),
      change(2, configMap),
      change(3, "(sensitive: 1 keys)"),
      note(4),
    ]);
    expect(await reader.getSensitive("3")).toEqual({ before: secret, after: secret });
    for (const kind of ["ConfigMap", "Secret"]) {
      const chunks = (await cluster().list("v1", kind, { namespace: "clustershift" })).filter((o) =>
        o.metadata.name.startsWith("clustershift-huge-"),
      );
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) expect(JSON.stringify(chunk.data).length).toBeLessThan(1024 * 1024);
    }
    // Dropping the sensitive value takes its parts along.
    await s.dropSensitive(["3"]);
    expect((await list("Secret")).filter((n) => n.startsWith("clustershift-huge-"))).toEqual([]);
  });

  it("Given the state namespace being deleted and held by a finalizer, When a new run appends, Then it waits until the namespace is gone, makes it again and journals there", async () => {
    const namespace = "clustershift-terminating";
    const nsRef = { apiVersion: "v1", kind: "Namespace", name: namespace };
    await store("cleaned", {}, namespace).append(note(1));
    // Something in the namespace that is slow to go (a finalizer some controller has yet to remove).
    const held = { ...chunkRef("held"), namespace };
    await clusters().seed("source", [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: held.name, namespace, finalizers: ["clustershift.dev/test-hold"] },
      },
    ]);
    const original = await get(nsRef);
    await cluster().delete(nsRef);

    let settled = false;
    const appending = store("cleaned", {}, namespace)
      .append(note(1))
      .finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const terminating = await get(nsRef);
    // While the namespace is still Terminating, nothing is written into it (a real server would refuse: 403).
    if (terminating?.metadata.deletionTimestamp !== undefined) expect(settled).toBe(false);
    const content = await get(held);
    if (content) await cluster().replace({ ...content, metadata: { ...content.metadata, finalizers: [] } });

    await appending;
    const recreated = await get(nsRef);
    expect(recreated?.metadata.deletionTimestamp).toBeUndefined();
    expect(recreated?.metadata.uid).not.toBe(original?.metadata.uid);
    expect((await store("cleaned", {}, namespace).read()).map((e) => e.seq)).toEqual([1]);
  }, 180_000);
});
