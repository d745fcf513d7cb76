import type { KubeObject } from "../../providers/kubernetes/port.js";

export interface IngressGatewayInput {
  /** Namespace of the gateway Deployment and Service. */
  namespace: string;
  /** Name of the Service, the Deployment, its ServiceAccount and Role. */
  service: string;
  gateway: { namespace: string; name: string };
  /** `istio.io/rev` of the namespace: which managed control plane injects the gateway. */
  revision: string;
  /** `networking.istio.io/v1`, or the newest the cluster serves. */
  istioApiVersion: string;
  /** On every object, so other steps and people can tell what clustershift made. */
  labels: Record<string, string>;
}

/**
 * The pod labels the Service and the Istio Gateway select: the gateway's own, as Google's asm-ingress has them
 * (`asm: ingressgateway`), never Istio's default `istio: ingressgateway`. The app's Gateways on the source select
 * that one (Online Boutique's and Bookinfo's samples do); were the target's pods to carry it too, every such
 * Gateway mirrored or applied to the target would configure this gateway behind clustershift's back.
 */
export function gatewaySelector(input: Pick<IngressGatewayInput, "service">): Record<string, string> {
  return { app: input.service, asm: "ingressgateway" };
}

/**
 * The ingress gateway of Google's Cloud Service Mesh guide (anthos-service-mesh-samples
 * docs/shared/asm-ingress-gateway): a namespace injected by the managed revision, a ServiceAccount with read
 * access to TLS Secrets, a Deployment the injector fills in (`image: auto`, the `gateway` template), a
 * LoadBalancer Service, and an Istio Gateway for HTTP on port 80. In the order they are written.
 */
export function ingressGatewayManifests(input: IngressGatewayInput): KubeObject[] {
  const { namespace, service: name, labels } = input;
  const selector = gatewaySelector(input);
  const meta = { name, namespace, labels };
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { ...labels, "istio.io/rev": input.revision } },
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta,
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "watch", "list"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name }],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            // The injector replaces `image: auto` and fills in the proxy from its gateway template.
            annotations: { "inject.istio.io/templates": "gateway" },
            labels: { ...selector, "sidecar.istio.io/inject": "true" },
          },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name: "istio-proxy",
                image: "auto",
                resources: {
                  limits: { cpu: "2000m", memory: "1024Mi" },
                  requests: { cpu: "100m", memory: "128Mi" },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  runAsGroup: 1337,
                  runAsNonRoot: true,
                  runAsUser: 1337,
                },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta,
      spec: {
        type: "LoadBalancer",
        selector,
        ports: [
          // A /healthz/ready endpoint for load balancer health checks.
          { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
          { name: "http2", port: 80, protocol: "TCP", targetPort: 8080 },
          { name: "https", port: 443, protocol: "TCP", targetPort: 8443 },
        ],
      },
    },
    {
      apiVersion: input.istioApiVersion,
      kind: "Gateway",
      metadata: { name: input.gateway.name, namespace: input.gateway.namespace, labels },
      spec: {
        selector,
        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
      },
    },
  ];
}
