import type { KubeObject } from "../../providers/kubernetes/port.js";

/** Where an Istio install leaves its default ingress gateway; the seeded apps' Gateways select its pods. */
export const SOURCE_INGRESS = { namespace: "istio-system", service: "istio-ingressgateway" } as const;

/**
 * The source cluster's Istio ingress gateway as `istioctl install` leaves it: a Deployment whose pods carry
 * `istio: ingressgateway` and a LoadBalancer Service mapping 80 → 8080 and 443 → 8443 (the proxy runs unprivileged).
 */
export function sourceIngressGateway(): KubeObject[] {
  const labels = { app: "istio-ingressgateway", istio: "ingressgateway" };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: SOURCE_INGRESS.namespace } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: SOURCE_INGRESS.service, namespace: SOURCE_INGRESS.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "istio-proxy", image: "docker.io/istio/proxyv2:1.24.0" }] },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: SOURCE_INGRESS.service, namespace: SOURCE_INGRESS.namespace, labels },
      spec: {
        type: "LoadBalancer",
        selector: labels,
        ports: [
          { name: "status-port", port: 15021, targetPort: 15021 },
          { name: "http2", port: 80, targetPort: 8080 },
          { name: "https", port: 443, targetPort: 8443 },
        ],
      },
    },
  ];
}
