import {
  AppsV1Api,
  CoreV1Api,
  type V1Deployment,
  type V1Service,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { NEVER_READY_ANNOTATION, startSandbox } from "../../src/sandbox/index.js";
import { useSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";

const env = useSandbox({ clusters: ["source", "target"], readyDelayMs: 60, loadBalancerDelayMs: 40 });

function apps(cluster = "source"): AppsV1Api {
  return env().kubeConfig(cluster).makeApiClient(AppsV1Api);
}

function core(cluster = "source"): CoreV1Api {
  return env().kubeConfig(cluster).makeApiClient(CoreV1Api);
}

function template(name: string): V1Deployment["spec"] & object {
  return {
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "app", image: `${name}:1` }] },
    },
  };
}

/** The rollout-complete rule kubectl and the product use. */
function rolledOut(d: V1Deployment): boolean {
  const s = d.status ?? {};
  return (
    (d.metadata?.generation ?? 0) <= (s.observedGeneration ?? -1) &&
    s.updatedReplicas === d.spec?.replicas &&
    s.replicas === s.updatedReplicas &&
    s.availableReplicas === s.updatedReplicas
  );
}

describe("simulated workload controllers", () => {
  it("Given a Deployment, Then it is not ready at once, and becomes ready with Available and Progressing conditions", async () => {
    const created = await apps().createNamespacedDeployment({
      namespace: "default",
      body: { metadata: { name: "web" }, spec: template("web") },
    });
    expect(rolledOut(created)).toBe(false);
    const ready = await eventually(async () => {
      const d = await apps().readNamespacedDeployment({ name: "web", namespace: "default" });
      return rolledOut(d) ? d : undefined;
    });
    expect(ready.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(ready.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      "Available=True/MinimumReplicasAvailable",
      "Progressing=True/NewReplicaSetAvailable",
    ]);
    expect(ready.metadata?.managedFields?.find((m) => m.subresource === "status")?.manager).toBe(
      "kube-controller-manager",
    );

    const updated = await apps().patchNamespacedDeployment({
      name: "web",
      namespace: "default",
      body: [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "web:2" }],
    });
    expect(updated.metadata?.generation).toBe(2);
    const rolled = await eventually(async () => {
      const d = await apps().readNamespacedDeployment({ name: "web", namespace: "default" });
      return rolledOut(d) ? d : undefined;
    });
    expect(rolled.status?.observedGeneration).toBe(2);
  });

  it("Given the never-ready annotation, Then the rollout never completes and reports ProgressDeadlineExceeded", async () => {
    await apps().createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "stuck", annotations: { [NEVER_READY_ANNOTATION]: "true" } },
        spec: template("stuck"),
      },
    });
    const failed = await eventually(async () => {
      const d = await apps().readNamespacedDeployment({ name: "stuck", namespace: "default" });
      return d.status?.conditions?.find(
        (c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded",
      )
        ? d
        : undefined;
    });
    expect(rolledOut(failed)).toBe(false);
    expect(failed.status?.availableReplicas ?? 0).toBe(0);
    expect(failed.status?.conditions?.find((c) => c.type === "Progressing")?.status).toBe("False");
  });

  it("Given a StatefulSet, Then it reports ready replicas and matching revisions", async () => {
    const body: V1StatefulSet = { metadata: { name: "db" }, spec: { ...template("db"), serviceName: "db" } };
    await apps().createNamespacedStatefulSet({ namespace: "default", body });
    const ready = await eventually(async () => {
      const s = await apps().readNamespacedStatefulSet({ name: "db", namespace: "default" });
      return s.status?.readyReplicas === 3 ? s : undefined;
    });
    expect(ready.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
    });
    expect(ready.status?.currentRevision).toBe(ready.status?.updateRevision);
  });
});

describe("simulated service controllers", () => {
  function service(name: string, spec: V1Service["spec"]): V1Service {
    return {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
    };
  }

  it("Given Services, Then ClusterIPs come from 10.96.0.0/12, headless keeps None, and ports get defaults", async () => {
    const plain = await core().createNamespacedService({ namespace: "default", body: service("plain", {}) });
    expect(plain.spec?.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(plain.spec?.clusterIPs).toEqual([plain.spec?.clusterIP]);
    expect(plain.spec?.ports?.[0]).toMatchObject({ protocol: "TCP", port: 80, targetPort: 8080 });
    const headless = await core().createNamespacedService({
      namespace: "default",
      body: service("headless", { clusterIP: "None" }),
    });
    expect(headless.spec?.clusterIP).toBe("None");
    const other = await core().createNamespacedService({ namespace: "default", body: service("other", {}) });
    expect(other.spec?.clusterIP).not.toBe(plain.spec?.clusterIP);

    const replaced = await core().replaceNamespacedService({
      name: "plain",
      namespace: "default",
      body: { ...service("plain", {}), metadata: { name: "plain" } },
    });
    expect(replaced.spec?.clusterIP).toBe(plain.spec?.clusterIP);
  });

  it("Given LoadBalancer Services in two clusters and two sandboxes, Then each gets a distinct 203.0.113.0/24 address after a delay", async () => {
    const other = await startSandbox({ clusters: ["third"], loadBalancerDelayMs: 10 });
    try {
      const created = await core().createNamespacedService({
        namespace: "default",
        body: service("lb", { type: "LoadBalancer" }),
      });
      expect(created.status?.loadBalancer?.ingress ?? []).toEqual([]);
      expect(created.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
      await core("target").createNamespacedService({
        namespace: "default",
        body: service("lb", { type: "LoadBalancer" }),
      });
      const third = other.clusters.get("third");
      third?.apply({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "lb", namespace: "default" },
        spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
      });

      const ipOf = async (read: () => Promise<V1Service | undefined>): Promise<string> =>
        eventually(async () => (await read())?.status?.loadBalancer?.ingress?.[0]?.ip);
      const ips = [
        await ipOf(() => core().readNamespacedService({ name: "lb", namespace: "default" })),
        await ipOf(() => core("target").readNamespacedService({ name: "lb", namespace: "default" })),
        await ipOf(() =>
          Promise.resolve<V1Service | undefined>(
            third?.get({ apiVersion: "v1", kind: "Service", name: "lb", namespace: "default" }),
          ),
        ),
      ];
      for (const ip of ips) expect(ip).toMatch(/^203\.0\.113\.\d+$/);
      expect(new Set(ips).size).toBe(3);
    } finally {
      await other.stop();
    }
  });

  it("Given a LoadBalancer with the never-ready annotation, Then it stays pending", async () => {
    await core().createNamespacedService({
      namespace: "default",
      body: {
        ...service("pending", { type: "LoadBalancer" }),
        metadata: { name: "pending", annotations: { [NEVER_READY_ANNOTATION]: "true" } },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const read = await core().readNamespacedService({ name: "pending", namespace: "default" });
    expect(read.status?.loadBalancer?.ingress ?? []).toEqual([]);
  });
});
