import type { KubeObject } from "../../providers/kubernetes/port.js";

/**
 * Google's Online Boutique (GoogleCloudPlatform/microservices-demo, release/kubernetes-manifests.yaml and
 * istio-manifests/frontend-gateway.yaml), written out here: eleven services, the load generator, the
 * `frontend-external` LoadBalancer that Google's migration guide leaves behind, and the Istio gateway route to
 * `frontend` on port 80.
 */
export const BOUTIQUE_NAMESPACE = "onlineboutique";

const IMAGE = "us-central1-docker.pkg.dev/google-samples/microservices-demo";
const VERSION = "v0.10.2";

/** Service name → [service port, container port]. */
const SERVICES: Record<string, [number, number]> = {
  emailservice: [5000, 8080],
  checkoutservice: [5050, 5050],
  recommendationservice: [8080, 8080],
  frontend: [80, 8080],
  paymentservice: [50051, 50051],
  productcatalogservice: [3550, 3550],
  cartservice: [7070, 7070],
  currencyservice: [7000, 7000],
  shippingservice: [50051, 50051],
  adservice: [9555, 9555],
  "redis-cart": [6379, 6379],
};

/** What the frontend and the checkout service are told about the others, as upstream names the variables. */
const PEER_VARIABLES: Record<string, string> = {
  productcatalogservice: "PRODUCT_CATALOG_SERVICE_ADDR",
  currencyservice: "CURRENCY_SERVICE_ADDR",
  cartservice: "CART_SERVICE_ADDR",
  recommendationservice: "RECOMMENDATION_SERVICE_ADDR",
  shippingservice: "SHIPPING_SERVICE_ADDR",
  checkoutservice: "CHECKOUT_SERVICE_ADDR",
  adservice: "AD_SERVICE_ADDR",
  emailservice: "EMAIL_SERVICE_ADDR",
  paymentservice: "PAYMENT_SERVICE_ADDR",
};

export function onlineBoutique(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: BOUTIQUE_NAMESPACE, labels: { "istio-injection": "enabled" } },
    },
    ...Object.entries(SERVICES).flatMap(([name, [port, targetPort]]) => [
      serviceAccount(name),
      deployment(name, targetPort),
      service(name, port, targetPort),
    ]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "frontend-external", namespace: BOUTIQUE_NAMESPACE, labels: { app: "frontend" } },
      spec: {
        type: "LoadBalancer",
        selector: { app: "frontend" },
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      },
    },
    serviceAccount("loadgenerator"),
    deployment("loadgenerator", undefined, [
      { name: "FRONTEND_ADDR", value: "frontend:80" },
      { name: "USERS", value: "10" },
    ]),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "frontend-gateway", namespace: BOUTIQUE_NAMESPACE },
      spec: {
        selector: { istio: "ingressgateway" },
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "frontend-ingress", namespace: BOUTIQUE_NAMESPACE },
      spec: {
        hosts: ["*"],
        gateways: ["frontend-gateway"],
        http: [{ route: [{ destination: { host: "frontend", port: { number: 80 } } }] }],
      },
    },
  ];
}

function serviceAccount(name: string): KubeObject {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: BOUTIQUE_NAMESPACE } };
}

function service(name: string, port: number, targetPort: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: BOUTIQUE_NAMESPACE, labels: { app: name } },
    spec: {
      type: "ClusterIP",
      selector: { app: name },
      ports: [{ name: name === "redis-cart" ? "tcp-redis" : "grpc", port, targetPort }],
    },
  };
}

function deployment(name: string, port: number | undefined, env = envOf(name)): KubeObject {
  const labels = { app: name };
  const image = name === "redis-cart" ? "redis:alpine" : `${IMAGE}/${name}:${VERSION}`;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: BOUTIQUE_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: name === "redis-cart" ? "redis" : "server",
              image,
              ...(port ? { ports: [{ containerPort: port }] } : {}),
              ...(env.length ? { env } : {}),
              resources: {
                requests: { cpu: "100m", memory: "64Mi" },
                limits: { cpu: "200m", memory: "128Mi" },
              },
            },
          ],
        },
      },
    },
  };
}

function envOf(name: string): { name: string; value: string }[] {
  if (name === "redis-cart") return [];
  const env = [{ name: "PORT", value: String(SERVICES[name]?.[1] ?? 8080) }];
  if (name === "frontend" || name === "checkoutservice") {
    for (const [peer, variable] of Object.entries(PEER_VARIABLES)) {
      const port = SERVICES[peer]?.[0];
      if (peer !== name && port !== undefined) env.push({ name: variable, value: `${peer}:${port}` });
    }
  }
  if (name === "cartservice") env.push({ name: "REDIS_ADDR", value: "redis-cart:6379" });
  return env;
}
