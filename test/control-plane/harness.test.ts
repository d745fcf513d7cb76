import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { useClusters } from "../support/clusters.js";
import { eventually } from "../support/wait.js";

const deployment = (ns: string): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: ns },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
    },
  },
});

describe("the real kube-apiserver harness: two clusters with controllers and a fake kubelet", () => {
  const clusters = useClusters("real kube-apiserver");

  it("Given a Deployment on the source, When applied, Then the real controllers and the fake kubelet complete its rollout", async () => {
    const env = clusters();
    await env.seed("source", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      deployment("shop"),
    ]);
    const client = env.client("source");
    await client.waitForRollout(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
      60_000,
      () => undefined,
    );
    const pods = await client.list("v1", "Pod", { namespace: "shop" });
    expect(pods).toHaveLength(2);
  });

  it("Given a LoadBalancer Service, Then it gets an address", async () => {
    const env = clusters();
    await env.seed("target", [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "gw" } },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "gw", namespace: "gw" },
        spec: { type: "LoadBalancer", selector: { app: "gw" }, ports: [{ port: 80 }] },
      },
    ]);
    const ip = await eventually(async () => {
      const svc = await env
        .client("target")
        .get({ apiVersion: "v1", kind: "Service", namespace: "gw", name: "gw" });
      return (svc?.status as { loadBalancer?: { ingress?: { ip: string }[] } }).loadBalancer?.ingress?.[0]
        ?.ip;
    }, 30_000);
    expect(ip).toMatch(/^127\.0\.2\./);
  });

  it("Given Istio's CRDs, Then a ServiceEntry that breaks one of their CEL rules is refused", async () => {
    const env = clusters();
    const bad: KubeObject = {
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name: "bad", namespace: "shop" },
      spec: { hosts: ["a.example"], ports: [{ number: 70000, name: "http", protocol: "HTTP" }] },
    };
    // The schema allows 0..4294967295; the rule `0 < self && self <= 65535` is what refuses it.
    await expect(env.seed("source", [bad])).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining("port must be between 1-65535") as unknown,
    });
  });

  it("Given a namespace with content, When deleted, Then it terminates and the real namespace controller removes it", async () => {
    const env = clusters();
    const client = env.client("source");
    await client.delete({ apiVersion: "v1", kind: "Namespace", name: "shop" });
    await eventually(
      async () =>
        (await client.get({ apiVersion: "v1", kind: "Namespace", name: "shop" })) ? undefined : true,
      90_000,
      { intervalMs: 500 },
    );
  });
});
