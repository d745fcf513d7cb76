import type { KubeObject } from "../providers/kubernetes/port.js";
import { sourceIngressGateway } from "../sandbox/seeds/ingress.js";

/** The shop behind `clustershift demo`: a frontend and a few services behind an Istio Gateway and VirtualService. */
export const SHOP_NAMESPACE = "shop";
export const SHOP_SERVICES = ["frontend", "catalog", "cart", "checkout"] as const;

export function sampleShop(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: SHOP_NAMESPACE, labels: { "istio-injection": "enabled" } },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "shop-config", namespace: SHOP_NAMESPACE },
      data: { currency: "EUR", catalogUrl: "http://catalog:8080" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "payment-credentials", namespace: SHOP_NAMESPACE },
      type: "Opaque",
      // "demo-api-key" / "demo-webhook-secret": the demo shows they never reach output.
      data: { apiKey: "ZGVtby1hcGkta2V5", webhookSecret: "ZGVtby13ZWJob29rLXNlY3JldA==" },
    },
    ...SHOP_SERVICES.flatMap((name) => [serviceAccount(name), deployment(name), service(name)]),
    ...sourceIngressGateway(),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "shop-gateway", namespace: SHOP_NAMESPACE },
      spec: {
        selector: { istio: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "frontend-ingress", namespace: SHOP_NAMESPACE },
      spec: {
        hosts: ["*"],
        gateways: ["shop-gateway"],
        http: [
          {
            match: [{ uri: { prefix: "/api/cart" } }],
            route: [{ destination: { host: "cart", port: { number: 8080 } } }],
            timeout: "5s",
          },
          {
            route: [{ destination: { host: "frontend", port: { number: 80 } } }],
            retries: { attempts: 3, perTryTimeout: "2s" },
          },
        ],
      },
    },
  ];
}

function serviceAccount(name: string): KubeObject {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: SHOP_NAMESPACE } };
}

function deployment(name: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: SHOP_NAMESPACE, labels: { app: name } },
    spec: {
      replicas: name === "frontend" ? 2 : 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: name,
          containers: [
            {
              name,
              image: `registry.example.com/shop/${name}:1.4.2`,
              ports: [{ containerPort: port(name) }],
              envFrom: [{ configMapRef: { name: "shop-config" } }],
            },
          ],
        },
      },
    },
  };
}

function service(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: SHOP_NAMESPACE, labels: { app: name } },
    spec: {
      selector: { app: name },
      ports: [{ name: "http", port: port(name), targetPort: port(name) }],
    },
  };
}

function port(name: string): number {
  return name === "frontend" ? 80 : 8080;
}
