import { KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { useSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";
import { raw } from "./helpers.js";

const env = useSandbox({ clusters: ["source"], readyDelayMs: 30 });

interface Seen {
  type: string;
  name: string;
  rv: string;
  object: KubernetesObject;
}

const controllers: AbortController[] = [];

afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

async function watch(path: string, query: Record<string, string>): Promise<Seen[]> {
  const seen: Seen[] = [];
  const controller = await new Watch(env().kubeConfig("source")).watch(
    path,
    query,
    (type: string, object: KubernetesObject) => {
      seen.push({
        type,
        name: object.metadata?.name ?? "",
        rv: object.metadata?.resourceVersion ?? "",
        object,
      });
    },
    () => undefined,
  );
  controllers.push(controller);
  return seen;
}

function api(): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(env().kubeConfig("source"));
}

function cm(
  name: string,
  namespace: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels },
    data,
  } as KubernetesObject;
}

describe("watch", () => {
  it("Given a watch on a namespace, When objects are created, changed and deleted, Then ADDED, MODIFIED, DELETED arrive in order", async () => {
    await api().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "w1" } });
    const seen = await watch("/api/v1/namespaces/w1/configmaps", {});
    await eventually(() => (seen.some((e) => e.name === "kube-root-ca.crt") ? true : undefined));
    await api().create(cm("a", "w1", { v: "1" }));
    await api().patch(
      cm("a", "w1", { v: "2" }),
      undefined,
      undefined,
      "t",
      true,
      PatchStrategy.ServerSideApply,
    );
    await api().delete(cm("a", "w1", {}));
    await eventually(() => (seen.filter((e) => e.name === "a").length === 3 ? true : undefined));
    const events = seen.filter((e) => e.name === "a");
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    const rvs = events.map((e) => Number(e.rv));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
    expect(events[0]?.object.apiVersion).toBe("v1");
    expect(events[0]?.object.kind).toBe("ConfigMap");
  });

  it("Given a resourceVersion from a list, When watched from it, Then only later events come, none replayed", async () => {
    await api().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "w2" } });
    await api().create(cm("before", "w2", {}));
    const list = await api().list("v1", "ConfigMap", "w2");
    await api().create(cm("after", "w2", {}));
    const seen = await watch("/api/v1/namespaces/w2/configmaps", {
      resourceVersion: list.metadata?.resourceVersion ?? "",
    });
    await eventually(() => (seen.length > 0 ? true : undefined));
    await api().create(cm("later", "w2", {}));
    await eventually(() => (seen.length >= 2 ? true : undefined));
    expect(seen.map((e) => `${e.type} ${e.name}`)).toEqual(["ADDED after", "ADDED later"]);
  });

  it("Given selectors, When an object starts and stops matching, Then the watch sees ADDED and DELETED for it", async () => {
    await api().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "w3" } });
    const seen = await watch("/api/v1/namespaces/w3/configmaps", { labelSelector: "team=blue" });
    const byName = await watch("/api/v1/configmaps", {
      fieldSelector: "metadata.name=named,metadata.namespace=w3",
    });
    await api().create(cm("x", "w3", {}, { team: "red" }));
    await api().create(cm("named", "w3", {}));
    await api().patch(
      cm("x", "w3", {}, { team: "blue" }),
      undefined,
      undefined,
      "t",
      true,
      PatchStrategy.ServerSideApply,
    );
    await api().patch(
      cm("x", "w3", {}, { team: "green" }),
      undefined,
      undefined,
      "t",
      true,
      PatchStrategy.ServerSideApply,
    );
    await eventually(() => (seen.length >= 2 && byName.length >= 1 ? true : undefined));
    expect(seen.map((e) => `${e.type} ${e.name}`)).toEqual(["ADDED x", "DELETED x"]);
    expect(byName.map((e) => `${e.type} ${e.name}`)).toEqual(["ADDED named"]);
  });

  it("Given a Deployment watch, When the simulated controller makes it ready, Then status changes arrive as MODIFIED with higher resourceVersions", async () => {
    await api().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "w4" } });
    const seen = await watch("/apis/apps/v1/namespaces/w4/deployments", {});
    await api().create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d", namespace: "w4" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "i:1" }] } },
      },
    } as KubernetesObject);
    const ready = await eventually(() =>
      seen.find((e) => (e.object as { status?: { readyReplicas?: number } }).status?.readyReplicas === 2),
    );
    expect(ready.type).toBe("MODIFIED");
    expect(Number(ready.rv)).toBeGreaterThan(Number(seen[0]?.rv));
  });

  it("Given the legacy /watch/ path and timeoutSeconds, Then current objects stream as ADDED and the stream ends", async () => {
    const cluster = env().cluster("source");
    const legacy = await raw(cluster, "GET", "/api/v1/watch/namespaces?timeoutSeconds=1");
    const lines = legacy.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(lines.map((l) => l.object.metadata.name)).toEqual(
      expect.arrayContaining(["default", "kube-system", "kube-public"]),
    );
    expect(lines.every((l) => l.type === "ADDED")).toBe(true);
    expect(legacy.contentType).toBe("application/json");
  });
});
