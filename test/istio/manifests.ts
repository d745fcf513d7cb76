import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import {
  buildServiceEntry,
  buildTargetRouteTable,
  buildTargetVirtualService,
} from "../../src/steps/expose-target/manifests.js";
import { targetIngressPort } from "../../src/steps/expose-target/target-port.js";
import { managedLabels } from "../../src/steps/expose-target/istio.js";
import { ingressGatewayManifests } from "../../src/steps/install-ingress-gateway/manifests.js";
import { appVirtualServices } from "../../src/steps/shift-traffic/route-table.js";
import { newSplitVirtualService, serviceHosts } from "../../src/steps/shift-traffic/virtual-service.js";
import { shiftWeights, type VirtualService } from "../../src/steps/shift-traffic/weights.js";
import { fixtureObjects } from "../support/fixtures.js";

/**
 * The mesh config clustershift generates, and the config of the application it is generated for, as two
 * clusters hold them: what Istio's own judges (istioctl analyze, the routing simulation) are given. Generated
 * objects come from the golden files the step suites keep, and fresh from the steps' pure builders.
 */

export const WEIGHTS = [0, 10, 50, 100] as const;
/** An address from TEST-NET-3, as the sandbox's load balancer hands out. */
export const TARGET_INGRESS_IP = "203.0.113.10";
export const PLAYBOOK = "istio-oracles";
/** The target's managed control-plane revision (Cloud Service Mesh), which injects the installed gateway. */
export const TARGET_REVISION = "asm-managed";

const ISTIO = "networking.istio.io/v1";

export interface App {
  name: string;
  namespace: string;
  /** `namespace/name` of the app's Gateway on the source. */
  gateway: string;
  /** The source gateway VirtualService that shift-traffic shifts (in `namespace`), or none. */
  gatewayVirtualService?: string | undefined;
  service: string;
  port: number;
  remoteHost: string;
  /** `traffic.scope`: the whole route table of the gateway (app) or the service's destinations only. */
  scope: "app" | "service";
  /** The app's own config files (shared fixtures), applied in `namespace`. */
  fixtures: string[];
  /** Objects of the app written here rather than in a shared fixture. */
  objects?: KubeObject[];
}

export const ONLINE_BOUTIQUE: App = {
  name: "online-boutique",
  namespace: "onlineboutique",
  gateway: "onlineboutique/frontend-gateway",
  gatewayVirtualService: "frontend-ingress",
  service: "frontend",
  port: 80,
  remoteHost: "frontend.target.clustershift.internal",
  scope: "app",
  fixtures: [
    "online-boutique/kubernetes-manifests.yaml",
    "online-boutique/frontend-gateway.yaml",
    "online-boutique/frontend.yaml",
  ],
};

export const BOOKINFO: App = {
  name: "bookinfo",
  namespace: "bookinfo",
  gateway: "bookinfo/bookinfo-gateway",
  gatewayVirtualService: "bookinfo",
  service: "productpage",
  port: 9080,
  remoteHost: "productpage.target.clustershift.internal",
  scope: "app",
  fixtures: [
    "bookinfo/bookinfo.yaml",
    "bookinfo/bookinfo-gateway.yaml",
    "bookinfo/destination-rule-all.yaml",
    "bookinfo/virtual-service-reviews-80-20.yaml",
  ],
};

/** Bookinfo in `default` with reviews (a mesh VirtualService, no gateway) as the migrated service. */
export const BOOKINFO_REVIEWS: App = {
  ...BOOKINFO,
  name: "bookinfo-reviews",
  namespace: "default",
  gateway: "default/bookinfo-gateway",
  gatewayVirtualService: undefined,
  service: "reviews",
  remoteHost: "reviews.target.clustershift.internal",
  scope: "service",
};

/** A Deployment and its Service, `app: name`, serving `port` on 8080 (enough for Istio's registry and analyzers). */
function workload(namespace: string, name: string, port: number, version = "v1"): KubeObject[] {
  const labels = { app: name, version };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `${name}-${version}`, namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name, image: `example.com/shop/${name}:1`, ports: [{ containerPort: 8080 }] }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ name: "http", port, targetPort: 8080 }] },
    },
  ];
}

/**
 * A shop whose gateway VirtualService has several routes, the migrated service on port 8000: `/api/` to api with
 * a rewrite, retries and a timeout; `/old` redirected; a header match to web's v2 subset with request headers;
 * the default to web and web-next 90/10 with a fault and a mirror. A second VirtualService on the same gateway
 * serves the admin host.
 */
export const SHOP: App = {
  name: "shop",
  namespace: "shop",
  gateway: "shop/shop-gateway",
  gatewayVirtualService: "shop",
  service: "api",
  port: 8000,
  remoteHost: "api.target.clustershift.internal",
  scope: "app",
  fixtures: [],
  objects: [
    ...workload("shop", "api", 8000),
    ...workload("shop", "web", 80),
    ...workload("shop", "web-next", 80),
    ...workload("shop", "web-shadow", 80),
    ...workload("shop", "admin", 8000),
    {
      apiVersion: ISTIO,
      kind: "Gateway",
      metadata: { name: "shop-gateway", namespace: "shop" },
      spec: {
        selector: { istio: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
    {
      apiVersion: ISTIO,
      kind: "DestinationRule",
      metadata: { name: "web", namespace: "shop" },
      spec: { host: "web", subsets: [{ name: "v1", labels: { version: "v1" } }] },
    },
    {
      apiVersion: ISTIO,
      kind: "VirtualService",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        hosts: ["*"],
        gateways: ["shop-gateway"],
        http: [
          {
            name: "api",
            match: [{ uri: { prefix: "/api/" } }],
            rewrite: { uri: "/" },
            retries: { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset" },
            timeout: "10s",
            route: [{ destination: { host: "api", port: { number: 8000 } } }],
          },
          { name: "legacy", match: [{ uri: { exact: "/old" } }], redirect: { uri: "/" } },
          {
            name: "canary",
            match: [{ uri: { prefix: "/beta" }, headers: { "x-canary": { exact: "1" } } }],
            headers: { request: { set: { "x-env": "canary" } } },
            route: [{ destination: { host: "web", subset: "v1", port: { number: 80 } } }],
          },
          {
            name: "default",
            timeout: "5s",
            fault: { delay: { percentage: { value: 0.1 }, fixedDelay: "1s" } },
            mirror: { host: "web-shadow", port: { number: 80 } },
            route: [
              { destination: { host: "web", port: { number: 80 } }, weight: 90 },
              { destination: { host: "web-next.shop.svc.cluster.local", port: { number: 80 } }, weight: 10 },
            ],
          },
        ],
      },
    },
    {
      apiVersion: ISTIO,
      kind: "VirtualService",
      metadata: { name: "shop-admin", namespace: "shop" },
      spec: {
        hosts: ["admin.example.com"],
        gateways: ["shop-gateway"],
        http: [{ route: [{ destination: { host: "admin", port: { number: 8000 } } }] }],
      },
    },
  ],
};

export function namespaceObject(name: string, labels?: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, ...(labels ? { labels } : {}) } };
}

/**
 * The Pods a Deployment's ReplicaSet would run (one is enough for selectors), Running and Ready with an IP, as the
 * fake kubelet of the real-cluster harness leaves them: istioctl and Istio's service registry read Pods, not
 * Deployments.
 */
export function podsOf(objects: readonly KubeObject[], ipBase: string): KubeObject[] {
  return objects
    .filter((o) => o.kind === "Deployment")
    .map((deployment, index): KubeObject => {
      const template = (deployment.spec as { template: { metadata?: KubeObject["metadata"]; spec: object } })
        .template;
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${deployment.metadata.name}-0`,
          ...(deployment.metadata.namespace ? { namespace: deployment.metadata.namespace } : {}),
          labels: template.metadata?.labels ?? {},
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        },
        spec: injected(template.spec),
        status: {
          phase: "Running",
          podIP: `${ipBase}.${index + 10}`,
          conditions: [{ type: "Ready", status: "True" }],
        },
      };
    });
}

/**
 * A Pod spec as the sidecar injector admits it: the `image: auto` of a gateway Deployment replaced by the proxy
 * image (no injector runs here; whether one selects the Deployment is judged on the Deployment, IST0146).
 */
function injected(spec: object): object {
  const { containers = [], ...rest } = spec as { containers?: { name: string; image?: string }[] };
  return {
    ...rest,
    containers: containers.map((c) => (c.image === "auto" ? { ...c, image: PROXY_IMAGE } : c)),
  };
}

const PROXY_IMAGE = "docker.io/istio/proxyv2:1.27.0";

/** The source's ingress gateway as a default Istio install has it: `istio-system/istio-ingressgateway`. */
export function sourceIngress(): KubeObject[] {
  const labels = { app: "istio-ingressgateway", istio: "ingressgateway" };
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "istio-ingressgateway", namespace: "istio-system", labels },
    spec: {
      selector: { matchLabels: labels },
      // Installed with Istio long before clustershift comes: a proxy image, not the injector's `image: auto`.
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "istio-proxy", image: PROXY_IMAGE }] },
      },
    },
  };
  return [
    namespaceObject("istio-system"),
    deployment,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "istio-ingressgateway", namespace: "istio-system", labels },
      spec: {
        type: "LoadBalancer",
        selector: labels,
        ports: [
          { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
          { name: "http2", port: 80, protocol: "TCP", targetPort: 8080 },
          { name: "https", port: 443, protocol: "TCP", targetPort: 8443 },
        ],
      },
    },
  ];
}

/** The app as the source holds it: its namespace, workloads, Services and Istio config. */
export function sourceApp(app: App): KubeObject[] {
  return [
    namespaceObject(app.namespace),
    ...app.fixtures.flatMap((file) => fixtureObjects(file, app.namespace)),
    ...(app.objects ?? []),
  ];
}

/**
 * The app as mirror-workloads leaves it on the target: its workloads, Services and DestinationRules (the subsets
 * the target route table names), without the Gateways, VirtualServices and ServiceEntries of its routing, which
 * on the target are expose-target's.
 */
export function mirroredApp(app: App): KubeObject[] {
  return sourceApp(app).filter(
    (o) => !o.apiVersion.startsWith("networking.istio.io/") || o.kind === "DestinationRule",
  );
}

/** The target ingress gateway install-ingress-gateway creates (Google's asm-ingress), as the step renders it. */
export function installedTargetIngress(apiVersion = ISTIO): KubeObject[] {
  return ingressGatewayManifests({
    namespace: "asm-ingress",
    service: "asm-ingressgateway",
    gateway: { namespace: "asm-ingress", name: "asm-ingressgateway" },
    revision: TARGET_REVISION,
    istioApiVersion: apiVersion,
    labels: managedLabels(PLAYBOOK),
  });
}

/**
 * The sidecar injector of the target's managed control plane (Cloud Service Mesh's `asm-managed` revision), as
 * enable-mesh leaves it: no istiod runs in the test clusters, so its webhook configuration stands for it (live, it
 * is seeded once the gateway Pods exist, so the apiserver never calls it; were it called, it is ignored on failure).
 */
export function managedInjector(revision = TARGET_REVISION): KubeObject {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: `istio-sidecar-injector-${revision}`,
      labels: { app: "sidecar-injector", "istio.io/rev": revision },
    },
    webhooks: [
      {
        name: "rev.namespace.sidecar-injector.istio.io",
        clientConfig: { url: "https://127.0.0.1:1/inject" },
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        namespaceSelector: {
          matchExpressions: [
            { key: "istio.io/rev", operator: "In", values: [revision] },
            { key: "istio-injection", operator: "DoesNotExist" },
          ],
        },
        objectSelector: {
          matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }],
        },
        failurePolicy: "Ignore",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 1,
      },
    ],
  };
}

/** Every object of the set with Pods for its Deployments (the gateway's at the given IP). */
export function withPods(objects: readonly KubeObject[], ipBase: string): KubeObject[] {
  return [...objects, ...podsOf(objects, ipBase)];
}

/** `objects` with each of `replacements` in place of the object of the same kind, namespace and name, or added. */
export function replaceObjects(
  objects: readonly KubeObject[],
  replacements: readonly KubeObject[],
): KubeObject[] {
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const byKey = new Map(replacements.map((o) => [key(o), o]));
  const out = objects.map((o) => byKey.get(key(o)) ?? o);
  const present = new Set(objects.map(key));
  return [...out, ...replacements.filter((o) => !present.has(key(o)))];
}

/** The source: its ingress gateway and the app, with the generated objects in place of or beside the app's. */
export function onSource(app: App, generated: KubeObject[], appObjects = sourceApp(app)): KubeObject[] {
  return withPods(replaceObjects([...sourceIngress(), ...appObjects], generated), "10.10.0");
}

/**
 * The target: the ingress gateway install-ingress-gateway made, its managed injector, the mirrored app, and the
 * generated objects.
 */
export function onTarget(
  app: App,
  generated: KubeObject[],
  ingress = installedTargetIngress(),
): KubeObject[] {
  return withPods([...ingress, managedInjector(), ...mirroredApp(app), ...generated], "10.20.0");
}

/** The port of the installed target ingress Service behind its Gateway's HTTP server, as expose-target reads it. */
export function targetEndpointPort(ingress = installedTargetIngress()): number {
  const gateway = ingress.find((o) => o.kind === "Gateway");
  const service = ingress.find((o) => o.kind === "Service");
  if (!gateway || !service) throw new Error("the target ingress has no Gateway or Service");
  const found = targetIngressPort(gateway, service);
  if (typeof found === "string") throw new Error(found);
  return found.servicePort;
}

/** expose-target's ServiceEntry on the source, as the step renders it. */
export function serviceEntry(app: App, address = TARGET_INGRESS_IP): KubeObject {
  return buildServiceEntry({
    apiVersion: ISTIO,
    name: `clustershift-${app.service}-remote`,
    namespace: app.namespace,
    labels: managedLabels(PLAYBOOK),
    remoteHost: app.remoteHost,
    port: app.port,
    endpointPort: targetEndpointPort(),
    address,
  });
}

/**
 * expose-target's VirtualServices on the target gateway, as the step renders them: the route table of each of the
 * app's VirtualServices on the source gateway, or the route to the service when it has none.
 */
export function targetVirtualServices(app: App, hosts?: string[]): KubeObject[] {
  const tables = appVirtualServices(sourceApp(app), app.gateway, hosts);
  if (tables.length === 0) {
    return [
      buildTargetVirtualService({
        apiVersion: ISTIO,
        name: `clustershift-${app.service}-ingress`,
        namespace: app.namespace,
        labels: managedLabels(PLAYBOOK),
        gateway: "asm-ingress/asm-ingressgateway",
        hosts,
        service: app.service,
        port: app.port,
      }),
    ];
  }
  return tables.map((source) =>
    buildTargetRouteTable({
      apiVersion: ISTIO,
      labels: managedLabels(PLAYBOOK),
      gateway: "asm-ingress/asm-ingressgateway",
      hosts,
      source,
    }),
  );
}

/** The VirtualService shift-traffic shifts, from the app's fixtures: its gateway's, or the service's mesh one. */
export function shiftedVirtualService(app: App): VirtualService {
  const name = app.gatewayVirtualService ?? app.service;
  const found = sourceApp(app).find((o) => o.kind === "VirtualService" && o.metadata.name === name);
  if (!found) throw new Error(`${app.name} has no VirtualService ${name}`);
  return found;
}

/** shift-traffic's VirtualService at `weight`, shifted step by step from the app's own as the step does. */
export function shiftedAt(
  app: App,
  weight: number,
  original: VirtualService = shiftedVirtualService(app),
): VirtualService {
  let current = original;
  for (const w of WEIGHTS.filter((w) => w > 0 && w <= weight).concat(weight === 0 ? [0] : [])) {
    current = shiftWeights(current, {
      serviceHosts:
        app.scope === "app" && current.metadata.name !== `clustershift-${app.service}-split`
          ? undefined
          : serviceHosts(app.service, app.namespace, current.metadata.namespace),
      remoteHost: app.remoteHost,
      port: app.port,
      weight: w,
    }).next;
  }
  return current;
}

/** The VirtualService shift-traffic creates when none routes the gateway to the service, at `weight`. */
export function createdSplitAt(app: App, weight: number, hosts: string[]): VirtualService {
  const created = newSplitVirtualService({
    apiVersion: ISTIO,
    namespace: app.namespace,
    service: app.service,
    port: app.port,
    gateway: app.gateway,
    hosts,
    labels: managedLabels(PLAYBOOK),
  });
  return shiftedAt(app, weight, created);
}

// ---- golden files of the step suites ----

const GOLDEN_DIRS = { traffic: "../traffic/__golden__", gke: "../gke/__golden__" } as const;

/** The objects of a golden file; `203.0.113.x` (the goldens' stand-in for the ingress IP) made a real address. */
export function golden(suite: keyof typeof GOLDEN_DIRS, file: string): KubeObject[] {
  const text = readFileSync(resolve(import.meta.dirname, GOLDEN_DIRS[suite], file), "utf8").replaceAll(
    "203.0.113.x",
    TARGET_INGRESS_IP,
  );
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === "object" && "kind" in o);
}
