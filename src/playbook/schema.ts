import { z } from "zod";
import { durationMs } from "./duration.js";

/** `30s`, `2m`, `1h30m`, `500ms`. */
export const DURATION_PATTERN = /^(\d+(ms|s|m|h))+$/;
const DURATION_MESSAGE = "must be a duration such as 30s, 2m or 1h";
/**
 * The longest duration a playbook may give: a week. Longer waits are mistakes (`600h` for `600s`), and Node's
 * timers fire at once past 2^31 ms (24.8 days), which once let a 600h analysis interval "pass" in seconds.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;
const duration = z
  .string({ error: DURATION_MESSAGE })
  .regex(DURATION_PATTERN, { message: DURATION_MESSAGE })
  .refine((text) => durationMs(text) <= MAX_DURATION_MS, { message: "must be at most 168h (a week)" })
  .describe("A duration: 500ms, 30s, 2m, 1h, 1h30m; at most 168h.");

const name = z.string().min(1);
const dnsName = z.string().min(1);
const labels = z.record(z.string(), z.string());

const ingressRef = z.strictObject({
  namespace: name.describe("Namespace of the ingress gateway Service."),
  service: name.describe("Name of the ingress gateway Service (type LoadBalancer)."),
  gateway: name.describe("The Istio Gateway, as namespace/name."),
});

const meshSpec = z.strictObject({
  management: z.enum(["automatic", "manual"]).default("automatic"),
  revision: name.default("asm-managed").describe("Value of the istio.io/rev label for injected namespaces."),
});

const provisionSpec = z.strictObject({
  provider: z.enum(["gke", "sandbox"]),
  project: name.optional().describe("GCP project id (gke)."),
  location: name.optional().describe("Zone or region (gke)."),
  name: name.describe("Cluster name."),
  machineType: name.default("e2-standard-4"),
  nodeCount: z.int().min(1).max(1000).default(2),
  workloadPool: name.optional().describe("Workload identity pool; defaults to PROJECT.svc.id.goog."),
  releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"]).optional(),
  labels: labels.optional(),
  mesh: meshSpec.optional(),
});

const targetIngress = ingressRef.extend({
  install: z.boolean().default(false).describe("Install the ingress gateway on the target."),
});

const exclusion = z.strictObject({
  kind: name.optional(),
  name: name.optional(),
  namespace: name.optional(),
  labelSelector: z.string().optional().describe("A label selector such as app=loadgenerator."),
});

const workloadsSpec = z.strictObject({
  namespaces: z.array(name).min(1, { message: "at least one namespace is required" }),
  exclude: z.array(exclusion).default([]),
  namespaceLabels: labels.default({}),
  images: z.array(z.strictObject({ from: name, to: name })).default([]),
  rolloutTimeout: duration.default("10m"),
  managed: z
    .enum(["mirror", "leave"])
    .default("mirror")
    .describe(
      "Objects deployed by Argo CD, Flux or Helm: mirror (Argo CD and Flux marks stripped, Helm releases copied " +
        "with their release Secrets) or leave (left out, for the tool to deploy on the target).",
    ),
});

const compareMetricSpec = z.strictObject({
  direction: z
    .enum(["increase", "decrease", "either"])
    .default("either")
    .describe(
      "Which change of the target against the source fails: increase (latency, errors), decrease, either.",
    ),
  effectSize: z
    .number()
    .min(0)
    .default(0.1)
    .describe("Smallest relative shift that fails: 0.1 = the target 10% away from the source's median."),
  sourceQuery: z
    .string()
    .min(1)
    .optional()
    .describe("PromQL for the source; default: `query` with {cluster} replaced by the source's name."),
  critical: z.boolean().default(false).describe("A failure of this metric fails the whole judgement."),
  group: name.default("default").describe("Score group; `compare.groupWeights` weighs the groups."),
  nanPolicy: z
    .enum(["remove", "replace"])
    .default("remove")
    .describe("NaN samples: dropped, or counted as 0."),
});

const metricSpec = z.strictObject({
  name,
  query: name.describe("PromQL instant query returning one value."),
  successCondition: z.string().optional().describe("e.g. '>= 0.99'"),
  failureCondition: z.string().optional().describe("e.g. '< 0.5'"),
  compare: compareMetricSpec
    .optional()
    .describe("Judge this metric by comparing the target with the source (analysis.compare)."),
});

const compareSpec = z.strictObject({
  clusters: z
    .strictObject({ source: name, target: name })
    .default({ source: "source", target: "target" })
    .describe("Values that replace {cluster} in a metric's query."),
  step: duration.default("10s").describe("Resolution of the range queries: one sample per step and side."),
  alpha: z.number().gt(0).lt(0.5).default(0.05).describe("False-failure rate over all looks together."),
  spending: z
    .enum(["obrien-fleming", "pocock", "none"])
    .default("obrien-fleming")
    .describe("Lan-DeMets alpha spending across the `count` looks; none: alpha at every look (inflates it)."),
  minSamples: z.int().min(3).default(10).describe("Samples per side below which a metric is inconclusive."),
  groupWeights: z.record(z.string(), z.number().min(0)).default({}),
  passScore: z.number().min(0).max(100).default(95).describe("Final score needed to pass."),
  marginalScore: z.number().min(0).max(100).default(75).describe("Score below which any look fails at once."),
});

const analysisSpec = z.strictObject({
  prometheus: z.url(),
  interval: duration.default("30s"),
  count: z.int().min(1).default(5),
  failureLimit: z.int().min(0).default(0),
  inconclusiveLimit: z.int().min(0).default(0),
  metrics: z.array(metricSpec).min(1),
  compare: compareSpec
    .optional()
    .describe(
      "Compare target with source statistically (Mann-Whitney, Hodges-Lehmann) instead of thresholds.",
    ),
});

const probeSpec = z.strictObject({
  url: z.url(),
  host: z.string().optional().describe("Host header to send."),
  requests: z.int().min(1).default(10),
  expectStatus: z.int().min(100).max(599).default(200),
  minSuccessRate: z.number().min(0).max(1).default(1),
  timeout: duration.default("5s"),
});

const trafficStep = z.strictObject({
  weight: z.int().min(0).max(100).describe("Percent of requests sent to the target cluster at this step."),
  pause: duration.optional(),
  approval: z.boolean().optional(),
  analysis: analysisSpec.optional(),
  probe: probeSpec.optional(),
});

const observeSpec = z.strictObject({
  prometheus: z.url().describe("Prometheus that scrapes the source ingress gateway's Istio metrics."),
  tolerance: z
    .number()
    .min(0)
    .max(100)
    .default(5)
    .describe("Percentage points the observed share at the target may differ from the step's weight."),
  window: duration.default("1m").describe("The rate() window of the queries."),
  interval: duration.default("15s").describe("Time between readings while the share lags."),
  timeout: duration.default("5m").describe("How long the share may lag before the gate fails."),
  remoteQuery: z
    .string()
    .min(1)
    .optional()
    .describe(
      "PromQL for the request rate to the target; default: the source gateway's to traffic.remoteHost.",
    ),
  totalQuery: z
    .string()
    .min(1)
    .optional()
    .describe(
      "PromQL for the request rate of the shifted routes; default: the source gateway's to their hosts.",
    ),
});

const trafficSpec = z.strictObject({
  namespace: name,
  service: name,
  port: z.int().min(1).max(65535),
  remoteHost: dnsName.describe("Host name the source mesh uses for the target cluster's ingress."),
  hosts: z
    .array(dnsName)
    .optional()
    .describe(
      "Public hosts: which of the source gateway's VirtualServices move (those serving them) and the hosts of the target's; default: every VirtualService on the gateway, with its own hosts.",
    ),
  scope: z
    .enum(["app", "service"])
    .default("app")
    .describe(
      "app: every HTTP route of the source gateway's VirtualServices is shifted (each local destination split with the target); service: only the destinations of traffic.service.",
    ),
  steps: z.array(trafficStep).min(1),
  observe: observeSpec
    .optional()
    .describe(
      "After each weight step, measure the share of requests that reaches the target; the step's gates wait until it is within tolerance of the weight.",
    ),
  onFailure: z.enum(["rollback", "pause"]).default("rollback"),
});

const dnsSpec = z.strictObject({
  provider: z.enum(["route53", "sandbox"]),
  zone: dnsName.optional().describe("Hosted zone name, e.g. example.com."),
  zoneId: z.string().optional(),
  record: dnsName,
  type: z.enum(["A", "AAAA", "CNAME"]).default("A"),
  lowTtl: z
    .int()
    .min(5)
    .max(86400)
    .default(60)
    .describe("TTL in seconds set on the record before the cutover."),
  target: z
    .string()
    .optional()
    .describe("New address (IP or hostname); default: the target ingress address."),
  weights: z
    .array(z.int().min(1).max(100))
    .optional()
    .describe(
      "Weighted DNS shift instead of a single cutover: percent to the target, increasing, ending at 100.",
    ),
  restoreTtl: z.boolean().default(false),
  soak: duration.optional(),
  takeOver: z
    .enum(["external-dns"])
    .optional()
    .describe(
      "Cut over a record that external-dns owns (its TXT registry says heritage=external-dns); without it, plan refuses such a record.",
    ),
});

const decommissionSpec = z.strictObject({
  soak: duration
    .default("10m")
    .describe("Wait after the DNS cutover before the source's traffic is checked."),
  traffic: z
    .strictObject({
      prometheus: z.url().optional().describe("Prometheus that scrapes the source ingress gateway."),
      query: z
        .string()
        .min(1)
        .optional()
        .describe("PromQL: the source gateway's request rate; default from spec.source.ingress."),
      scrape: z
        .url()
        .optional()
        .describe(
          "Instead of Prometheus: a metrics URL in Prometheus text format (Envoy's :15090/stats/prometheus).",
        ),
      metric: z
        .string()
        .min(1)
        .default("istio_requests_total")
        .describe(
          'With scrape: the counter and exact label matchers, e.g. istio_requests_total{reporter="source"}.',
        ),
      threshold: z
        .number()
        .min(0)
        .default(0.1)
        .describe("Requests per second below which the source is quiet."),
      window: duration.default("5m").describe("How long the rate must stay below the threshold."),
      timeout: duration.default("30m").describe("Give up (nothing changed) when it is not quiet by then."),
    })
    .describe("The check that the source ingress no longer receives traffic."),
  deleteCluster: z
    .boolean()
    .default(false)
    .describe("After an approval, delete the source cluster: nothing before can be rolled back then."),
  cluster: z
    .strictObject({
      provider: z.enum(["gke", "sandbox"]),
      project: name.optional(),
      location: name.optional(),
      name,
    })
    .optional()
    .describe("The source cluster to delete; required with deleteCluster."),
});

const stateSpec = z.discriminatedUnion("backend", [
  z.strictObject({ backend: z.literal("local") }),
  z.strictObject({ backend: z.literal("kubernetes"), context: name, namespace: name }),
]);

export const playbookSchema = z.strictObject({
  apiVersion: z.literal("clustershift.dev/v1alpha1"),
  kind: z.literal("Playbook"),
  metadata: z.strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
        message: "must be a DNS label: lower case letters, digits and '-'",
      })
      .max(63),
  }),
  spec: z.strictObject({
    source: z
      .strictObject({
        context: name.describe("kubeconfig context of the source cluster."),
        ingress: ingressRef.optional().describe("The source ingress gateway; required by traffic."),
      })
      .describe("The cluster the application runs on now."),
    target: z
      .strictObject({
        context: name.describe("kubeconfig context of the target cluster."),
        provision: provisionSpec.optional().describe("Create the target cluster and its mesh first."),
        ingress: targetIngress.optional().describe("The target ingress gateway; required by traffic."),
      })
      .describe("The cluster the application moves to."),
    workloads: workloadsSpec.optional().describe("Mirror these namespaces from source to target."),
    traffic: trafficSpec
      .optional()
      .describe("Shift traffic by weight from the source service to the target cluster, with gates."),
    dns: dnsSpec.optional().describe("Lower the record's TTL, then cut it over to the target."),
    decommission: decommissionSpec
      .optional()
      .describe(
        "After a soak, check the source is quiet, scale its workloads to zero, optionally delete it.",
      ),
    state: stateSpec
      .default({ backend: "local" })
      .describe("Where the journal and the lock live: a local directory, or the source cluster."),
    allowSystemNamespaces: z
      .array(name)
      .optional()
      .describe(
        "System namespaces (kube-system, kube-public, kube-node-lease; istio-system for workloads) that this playbook may mirror, shift or keep state in; refused otherwise.",
      ),
  }),
});

export type Playbook = z.output<typeof playbookSchema>;
export type PlaybookSpec = Playbook["spec"];
export type WorkloadsSpec = z.output<typeof workloadsSpec>;
export type TrafficSpec = z.output<typeof trafficSpec>;
export type TrafficStep = z.output<typeof trafficStep>;
export type AnalysisSpec = z.output<typeof analysisSpec>;
export type ProbeSpec = z.output<typeof probeSpec>;
export type ObserveSpec = z.output<typeof observeSpec>;
export type DnsSpec = z.output<typeof dnsSpec>;
export type ProvisionSpec = z.output<typeof provisionSpec>;
export type StateSpec = z.output<typeof stateSpec>;
export type DecommissionSpec = z.output<typeof decommissionSpec>;
export type CompareSpec = z.output<typeof compareSpec>;
export type CompareMetricSpec = z.output<typeof compareMetricSpec>;
