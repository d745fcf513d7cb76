import type { KubeObject } from "../src/providers/kubernetes/port.js";

export const KINDS_PER_NAMESPACE = 10;

export function benchNamespaces(count: number, prefix = "bench"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
}

/** One namespace of an ordinary app: ten objects of ten kinds, the shapes of real manifests. */
export function namespaceObjects(ns: string): KubeObject[] {
  const app = "web";
  const labels = { app, "app.kubernetes.io/part-of": ns };
  const meta = (name: string) => ({ name, namespace: ns, labels });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(app) },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`${app}-config`),
      data: { "app.properties": "mode=prod\nretries=3\n", LOG_LEVEL: "info" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(`${app}-credentials`),
      type: "Opaque",
      data: { password: Buffer.from(`pw-${ns}`).toString("base64") },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(`${app}-reader`),
      rules: [{ apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(`${app}-reader`),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${app}-reader` },
      subjects: [{ kind: "ServiceAccount", name: app, namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(app),
      spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(app),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: app,
            containers: [
              {
                name: "server",
                image: "registry.example.com/shop/web:1.4.2",
                ports: [{ containerPort: 8080 }],
                envFrom: [{ configMapRef: { name: `${app}-config` } }],
                resources: {
                  requests: { cpu: "100m", memory: "64Mi" },
                  limits: { cpu: "200m", memory: "128Mi" },
                },
                readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: meta(app),
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: app },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
      },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta(app),
      spec: { minAvailable: 1, selector: { matchLabels: { app } } },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(`${app}-ingress`),
      spec: {
        podSelector: { matchLabels: { app } },
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ port: 8080, protocol: "TCP" }] }],
      },
    },
  ];
}

export function namespaceObject(ns: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: ns, labels: { "istio-injection": "enabled" } },
  };
}
