import type { KubeObject } from "../../providers/kubernetes/port.js";

/**
 * Istio's Bookinfo sample (samples/bookinfo/platform/kube/bookinfo.yaml and networking/bookinfo-gateway.yaml of
 * istio/istio), written out here: four services on port 9080, three versions of `reviews`, and the gateway routes
 * that expose `productpage` under five paths.
 */
export const BOOKINFO_NAMESPACE = "bookinfo";

const SERVICES = ["details", "ratings", "reviews", "productpage"] as const;
const VERSIONS: Record<(typeof SERVICES)[number], string[]> = {
  details: ["v1"],
  ratings: ["v1"],
  reviews: ["v1", "v2", "v3"],
  productpage: ["v1"],
};
const PORT = 9080;
const IMAGE_TAG = "1.20.3";

export function bookinfo(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: BOOKINFO_NAMESPACE, labels: { "istio-injection": "enabled" } },
    },
    ...SERVICES.flatMap((name) => [
      service(name),
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: `bookinfo-${name}`, namespace: BOOKINFO_NAMESPACE, labels: { account: name } },
      },
      ...VERSIONS[name].map((version) => deployment(name, version)),
    ]),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "bookinfo-gateway", namespace: BOOKINFO_NAMESPACE },
      spec: {
        selector: { istio: "ingressgateway" },
        servers: [{ port: { number: 8080, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "bookinfo", namespace: BOOKINFO_NAMESPACE },
      spec: {
        hosts: ["*"],
        gateways: ["bookinfo-gateway"],
        http: [
          {
            match: [
              { uri: { exact: "/productpage" } },
              { uri: { prefix: "/static" } },
              { uri: { exact: "/login" } },
              { uri: { exact: "/logout" } },
              { uri: { prefix: "/api/v1/products" } },
            ],
            route: [{ destination: { host: "productpage", port: { number: PORT } } }],
          },
        ],
      },
    },
  ];
}

function service(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: BOOKINFO_NAMESPACE, labels: { app: name, service: name } },
    spec: { selector: { app: name }, ports: [{ name: "http", port: PORT }] },
  };
}

function deployment(name: string, version: string): KubeObject {
  const labels = { app: name, version };
  const container: Record<string, unknown> = {
    name,
    image: `docker.io/istio/examples-bookinfo-${name}-${version}:${IMAGE_TAG}`,
    imagePullPolicy: "IfNotPresent",
    ports: [{ containerPort: PORT }],
  };
  if (name === "reviews") {
    container.env = [{ name: "LOG_DIR", value: "/tmp/logs" }];
    container.volumeMounts = [{ name: "tmp", mountPath: "/tmp" }];
  }
  if (name === "productpage") container.volumeMounts = [{ name: "tmp", mountPath: "/tmp" }];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${name}-${version}`, namespace: BOOKINFO_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: `bookinfo-${name}`,
          containers: [container],
          ...(container.volumeMounts ? { volumes: [{ name: "tmp", emptyDir: {} }] } : {}),
        },
      },
    },
  };
}
