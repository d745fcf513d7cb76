import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { managedLabels } from "../../src/steps/expose-target/istio.js";
import { buildServiceEntry, exposeNames } from "../../src/steps/expose-target/manifests.js";
import { targetIngressPort } from "../../src/steps/expose-target/target-port.js";
import { SUBSTRATES } from "../support/clusters.js";
import { BOOKINFO, ONLINE_BOUTIQUE, SHOP, sourceApp, type App } from "../istio/manifests.js";
import { goldenPath, toStoredYaml, toYaml } from "./fixtures.js";
import {
  Driver,
  ingressAddress,
  ingressService,
  names,
  normalizeAddress,
  seed,
  seedTargetIngress,
  stored,
  targetIngressObjects,
  trafficPlaybook,
  useWorld,
  vsRef,
  type World,
} from "./world.js";

/**
 * The mesh config of issue 12, pinned: for service ports 80 (Online Boutique), 9080 (Bookinfo) and 8000 (a shop
 * whose gateway VirtualService has several routes with matches, retries, timeouts, a rewrite, a redirect, headers,
 * a fault and a mirror), the ServiceEntry, the DestinationRule (the source mesh sends mutual TLS to every host) and
 * the target gateway's route table as the clusters store them, and the source's route table at 50%; then rollback
 * puts every source VirtualService back as it was. A load balancer with a host name, from the builders.
 */

const ISTIO = "networking.istio.io/v1";
const APPS = [ONLINE_BOUTIQUE, BOOKINFO, SHOP];

/** A mesh-wide mutual-TLS rule in the root namespace, as many meshes have it. */
const MESH_MTLS: KubeObject = {
  apiVersion: ISTIO,
  kind: "DestinationRule",
  metadata: { name: "default", namespace: "istio-system" },
  spec: { host: "*", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
};

/** The app's Services and Istio config on the source (workloads left out: routing needs none), the mesh's mTLS rule. */
async function seedApp(w: World, app: App): Promise<void> {
  const objects = sourceApp(app).filter(
    (o) => o.kind === "Namespace" || o.kind === "Service" || o.apiVersion.startsWith("networking.istio.io/"),
  );
  await seed(w, "source", [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
    MESH_MTLS,
    ...objects.filter((o) => o.kind === "Namespace"),
  ]);
  await seed(
    w,
    "source",
    objects.filter((o) => o.kind !== "Namespace"),
  );
  await seedTargetIngress(w, app.namespace);
  await ingressAddress(w);
}

/** The app's VirtualServices on its source gateway, as stored, by name. */
async function gatewayVirtualServices(w: World, app: App): Promise<KubeObject[]> {
  const all = await names(w.source, ISTIO, "VirtualService");
  const out: KubeObject[] = [];
  for (const ref of all.filter((n) => n.startsWith(`${app.namespace}/`))) {
    const [namespace = "", name = ""] = ref.split("/");
    const vs = (await stored(w.source, vsRef(namespace, name))) as KubeObject;
    if ((vs.spec as { gateways?: string[] }).gateways?.length) out.push(vs);
  }
  return out;
}

async function managedOn(client: World["source"], kind: string): Promise<KubeObject[]> {
  const objects = await client.list(ISTIO, kind);
  const ours = objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "clustershift");
  const images: KubeObject[] = [];
  for (const o of ours.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    images.push(
      (await stored(client, {
        apiVersion: ISTIO,
        kind,
        namespace: o.metadata.namespace ?? "",
        name: o.metadata.name,
      })) as KubeObject,
    );
  }
  return images;
}

const documents = (objects: KubeObject[]) => objects.map((o) => toStoredYaml(o)).join("---\n");

const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 240_000 } as const;

describe.each(SUBSTRATES)("the mesh config of every app on %s", (substrate) => {
  const world = useWorld(substrate);

  it.each(APPS)(
    "Given $name (service port $port) and a mesh-wide ISTIO_MUTUAL rule, When exposed and shifted 10 → 50 → 100, Then the ServiceEntry, DestinationRule and target route table match their golden files, and rollback restores every source VirtualService",
    async (app) => {
      const w = world();
      await seedApp(w, app);
      const address = await ingressAddress(w);
      const originals = await gatewayVirtualServices(w, app);
      const driver = new Driver(
        w,
        trafficPlaybook({
          gateway: app.gateway,
          namespace: app.namespace,
          service: app.service,
          port: app.port,
          remoteHost: app.remoteHost,
        }),
      );
      const { text } = await driver.planAll();
      await expect(normalizeAddress(text, address)).toMatchFileSnapshot(
        goldenPath(`mesh-${app.name}-plan.txt`),
      );
      await driver.run("expose-target");
      const source = [
        ...(await managedOn(w.source, "DestinationRule")),
        ...(await managedOn(w.source, "ServiceEntry")),
      ];
      await expect(normalizeAddress(documents(source), address)).toMatchFileSnapshot(
        goldenPath(`mesh-${app.name}-source.yaml`),
      );
      await expect(documents(await managedOn(w.target, "VirtualService"))).toMatchFileSnapshot(
        goldenPath(`mesh-${app.name}-target.yaml`),
      );
      for (const [i, weight] of [10, 50, 100].entries()) {
        await driver.run(`shift-traffic[${i + 1}]`);
        if (weight === 50) {
          await expect(documents(await gatewayVirtualServices(w, app))).toMatchFileSnapshot(
            goldenPath(`mesh-${app.name}-shifted-50.yaml`),
          );
        }
      }
      // Every route of every VirtualService on the gateway moved: each sends all to the remote host at 100.
      for (const vs of await gatewayVirtualServices(w, app)) {
        for (const route of (
          vs.spec as { http: { route?: { destination: { host: string }; weight?: number }[] }[] }
        ).http) {
          if (!route.route) continue;
          expect(
            route.route.filter((d) => (d.weight ?? 100) > 0).map((d) => d.destination.host),
            `${vs.metadata.name}`,
          ).toEqual([app.remoteHost]);
        }
      }
      await driver.rollback();
      expect(await gatewayVirtualServices(w, app)).toEqual(originals);
      expect(await managedOn(w.source, "ServiceEntry")).toEqual([]);
      expect(await managedOn(w.source, "DestinationRule")).toEqual([]);
      expect(await managedOn(w.target, "VirtualService")).toEqual([]);
    },
    TIMEOUT[substrate],
  );
});

describe("a target load balancer with a host name (AWS ELB), from the builders", () => {
  const ELB = "a1b2c3.elb.us-east-1.amazonaws.com";
  const installed = targetIngressObjects();
  /** A Gateway whose HTTP server is on the pod port 8080, reached through Service port 80 → 8080. */
  const byTargetPort = installed.map((o) =>
    o.kind === "Gateway"
      ? {
          ...o,
          spec: {
            ...(o.spec as object),
            servers: [{ port: { number: 8080, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
          },
        }
      : o,
  );

  it.each([
    { app: ONLINE_BOUTIQUE, ingress: installed, how: "Gateway port 80 = Service port 80" },
    { app: BOOKINFO, ingress: installed, how: "Gateway port 80 = Service port 80" },
    { app: SHOP, ingress: byTargetPort, how: "Gateway port 8080 = targetPort of Service port 80" },
  ])(
    "Given $app.name (service port $app.port) and $how, When the ServiceEntry is built, Then it resolves the host name by DNS and dials Service port 80",
    async ({ app, ingress }) => {
      const port = targetIngressPort(
        ingress.find((o) => o.kind === "Gateway") as KubeObject,
        ingress.find((o) => o.kind === "Service") ?? ingressService(),
      );
      if (typeof port === "string") throw new Error(port);
      expect(port.servicePort).toBe(80);
      const se = buildServiceEntry({
        apiVersion: ISTIO,
        name: exposeNames(app.service).serviceEntry,
        namespace: app.namespace,
        labels: managedLabels("traffic-test"),
        remoteHost: app.remoteHost,
        port: app.port,
        endpointPort: port.servicePort,
        address: ELB,
      });
      expect((se.spec as { resolution: string }).resolution).toBe("DNS");
      await expect(toYaml(se)).toMatchFileSnapshot(goldenPath(`mesh-${app.name}-serviceentry-dns.yaml`));
    },
  );
});
