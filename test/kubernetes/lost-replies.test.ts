import { createServer, type Server } from "node:http";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClusterClient, type KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import { KubeApiError } from "../../src/providers/kubernetes/errors.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { holdsWrite } from "../../src/providers/kubernetes/retry.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { faultSeed, faultyClusters, type FaultyClusters } from "../support/faults.js";
import { listenOnLoopback, closeServer } from "../support/net.js";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";

const FAST_RETRY = { attempts: 4, baseMs: 10, maxMs: 50, maxRetryAfterMs: 100 };

const configMap = (name: string, data: Record<string, string> = { v: "1" }): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default", labels: { app: "lost" } },
  data,
});
const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });

describe("holdsWrite: does the object hold what a write sent?", () => {
  const sent = configMap("a");
  it("Given the server's additions (metadata, defaults), Then it holds the write", () => {
    const live = {
      ...sent,
      metadata: { ...sent.metadata, uid: "u", resourceVersion: "9", labels: { app: "lost", extra: "x" } },
      immutable: false,
    };
    expect(holdsWrite(live, { ...sent, metadata: { ...sent.metadata, resourceVersion: "3" } })).toBe(true);
  });
  it("Given a changed or missing value, Then it does not", () => {
    expect(holdsWrite({ ...sent, data: { v: "2" } }, sent)).toBe(false);
    expect(holdsWrite({ ...sent, data: {} }, sent)).toBe(false);
    expect(holdsWrite({ ...sent, metadata: { ...sent.metadata, labels: {} } }, sent)).toBe(false);
  });
  it("Given empty maps and lists sent and omitted by the server, Then it holds the write", () => {
    expect(holdsWrite({ ...sent, data: undefined }, { ...sent, data: {} })).toBe(true);
    expect(holdsWrite({ spec: { items: [1, 2] } }, { spec: { items: [1, 2], empty: [] } })).toBe(true);
    expect(holdsWrite({ spec: { items: [1, 2, 3] } }, { spec: { items: [1, 2] } })).toBe(false);
  });
});

describe.each(SUBSTRATES)("the Kubernetes client when a write's reply is lost, on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source"], istio: false });
  let faults: FaultyClusters;
  let client: KubeClusterClient;
  /** Reads and arranges without faults. */
  const direct = () => clusters().client("source");
  beforeAll(async () => {
    faults = await faultyClusters(clusters());
    client = createClusterClient("source", { kubeconfig: faults.kubeconfigPath, retry: FAST_RETRY });
  });
  afterAll(async () => {
    client.close();
    await faults.stop();
  });
  const lose = (method: string) =>
    faults.setFaults("source", {
      replyLostRate: 1,
      replyLostMethods: [method],
      maxFaults: 1,
      seed: faultSeed(),
    });

  it("Given a create whose reply is lost, When its retry meets 409 AlreadyExists, Then the object holding what was sent is taken as created", async () => {
    lose("POST");
    const created = await client.create(configMap("created"));
    expect(faults.faultsInjected("source")).toBe(1);
    expect(created.data).toEqual({ v: "1" });
    expect(created.metadata.uid).toBeDefined();
  });

  it("Given an object someone else made, When created, Then 409 AlreadyExists still fails the call", async () => {
    faults.clear();
    await clusters().seed("source", [configMap("theirs", { v: "theirs" })]);
    await expect(client.create(configMap("theirs"))).rejects.toMatchObject({
      status: 409,
      reason: "AlreadyExists",
    });
  });

  it("Given a compare-and-swap replace whose reply is lost, When its retry meets 409 Conflict, Then the write is taken as done", async () => {
    const [live] = await clusters().seed("source", [configMap("swapped")]);
    lose("PUT");
    const replaced = await client.replace(configMap("swapped", { v: "2" }), {
      resourceVersion: live?.metadata.resourceVersion ?? "",
    });
    expect(faults.faultsInjected("source")).toBe(1);
    expect(replaced.data).toEqual({ v: "2" });
    expect((await direct().get(ref("swapped")))?.data).toEqual({ v: "2" });
  });

  it("Given a delete whose reply is lost, When its retry finds the object gone, Then delete says it deleted it", async () => {
    await clusters().seed("source", [configMap("deleted")]);
    lose("DELETE");
    expect(await client.delete(ref("deleted"))).toBe(true);
    expect(faults.faultsInjected("source")).toBe(1);
    expect(await client.delete(ref("deleted"))).toBe(false);
  });

  it("Given a namespace delete whose reply is lost, When its retry meets 409 (terminating) or finds it gone, Then delete says it deleted it", async () => {
    const namespace = { apiVersion: "v1", kind: "Namespace", name: "going" };
    await clusters().seed("source", [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "going" } }]);
    lose("DELETE");
    expect(await client.delete(namespace)).toBe(true);
    expect(faults.faultsInjected("source")).toBe(1);
    const left = await direct().get(namespace);
    expect(left === undefined || left.metadata.deletionTimestamp !== undefined).toBe(true);
  });
});

describe("the Kubernetes client when a lost create was not ours", () => {
  let server: Server;
  let dir: TestSandbox;
  beforeAll(async () => {
    dir = await withSandbox({ clusters: [] });
  });
  afterAll(async () => {
    await closeServer(server);
    await dir.stop();
  });

  it("Given a create dropped before it was carried out, and someone else's object there when it is retried, Then the 409 stands", async () => {
    let posts = 0;
    server = createServer((req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.url === "/api/v1") {
        json(200, {
          resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true, verbs: ["create", "get"] }],
        });
      } else if (req.method === "POST" && ++posts === 1) {
        req.socket.destroy();
      } else if (req.method === "POST") {
        json(409, {
          kind: "Status",
          reason: "AlreadyExists",
          message: 'configmaps "x" already exists',
          code: 409,
        });
      } else {
        json(200, {
          ...configMap("x", { v: "someone else's" }),
          metadata: { name: "x", namespace: "default", uid: "u" },
        });
      }
    });
    const port = await listenOnLoopback(server);
    const kubeconfig = join(dir.dir, "fake-kubeconfig");
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: fake, cluster: {server: 'http://127.0.0.1:${port}', insecure-skip-tls-verify: true}}]`,
        "users: [{name: fake, user: {token: t}}]",
        "contexts: [{name: fake, context: {cluster: fake, user: fake}}]",
        "current-context: fake",
      ].join("\n"),
    );
    const fake = createClusterClient("fake", { kubeconfig, retry: FAST_RETRY });
    try {
      const error = await fake.create(configMap("x")).catch((e: unknown) => e);
      expect(error, String(error)).toBeInstanceOf(KubeApiError);
      expect(error).toMatchObject({ status: 409, attempts: 2 });
    } finally {
      fake.close();
    }
  });
});
