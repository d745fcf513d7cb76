import { Document } from "yaml";
// The managed mesh's revision label, which replaces `istio-injection` on namespaces mirrored to GKE.
import { MANAGED_REVISION } from "./questions.js";

/** What the wizard learned, before it becomes a playbook. */
export interface WizardAnswers {
  name: string;
  source: { context: string; ingress?: IngressRef };
  target: { context: string; provision?: Provision; ingress?: IngressRef & { install: boolean } };
  namespaces: string[];
  /** Labels set on the mirrored namespaces: the target gateway's injection revision. */
  namespaceLabels?: Record<string, string>;
  /** Services left out of the mirror (a second public LoadBalancer such as `frontend-external`). */
  exclude?: ExcludedService[];
  traffic?: TrafficAnswers;
  dns?: DnsAnswers;
}

export interface IngressRef {
  namespace: string;
  service: string;
  /** `namespace/name` of the Istio Gateway. */
  gateway: string;
}

export type Provision =
  | {
      provider: "gke";
      project: string;
      location: string;
      name: string;
      machineType: string;
      nodeCount: number;
    }
  | { provider: "sandbox"; name: string };

export interface ExcludedService {
  namespace: string;
  name: string;
}

export interface ProbeAnswers {
  url: string;
  /** Host header; absent: the URL's host. */
  host?: string;
  expectStatus: number;
}

export interface TrafficAnswers {
  namespace: string;
  service: string;
  port: number;
  remoteHost: string;
  /** `traffic.hosts`; absent: every VirtualService on the gateway, with its own hosts. */
  hosts?: string[];
  weights: number[];
  pause: string;
  approval: boolean;
  prometheus?: string;
  probe?: ProbeAnswers;
  onFailure: "rollback" | "pause";
}

export interface DnsAnswers {
  provider: "route53" | "sandbox";
  zone: string;
  /** Only when the zone's name alone is ambiguous (a public and a private zone of one name). */
  zoneId?: string;
  record: string;
  type: "A" | "AAAA" | "CNAME";
  lowTtl: number;
  target?: string;
}

/**
 * The schedule as gates between weights: gates run after their step, so "a probe, an analysis or an approval
 * before 100" sits on the step before the last; earlier steps pause. A lone 100 carries the gates itself (before
 * DNS moves). The probe runs after the pause (gates run pause, probe, analysis, approval), so it keeps it.
 */
export function trafficSteps(traffic: TrafficAnswers): Record<string, unknown>[] {
  const last = traffic.weights.length - 1;
  const gated = Math.max(0, last - 1);
  return traffic.weights.map((weight, i) => {
    const analysis = traffic.prometheus !== undefined && i === gated;
    return {
      weight,
      ...(i < last && !analysis ? { pause: traffic.pause } : {}),
      ...(traffic.probe && i === gated ? { probe: probeData(traffic.probe) } : {}),
      ...(analysis ? { analysis: successRateAnalysis(traffic.prometheus as string, traffic) } : {}),
      ...(traffic.approval && i === gated ? { approval: true } : {}),
    };
  });
}

function probeData(probe: ProbeAnswers): Record<string, unknown> {
  return { url: probe.url, ...(probe.host ? { host: probe.host } : {}), expectStatus: probe.expectStatus };
}

/** Istio's standard request metric: the share of the service's requests that did not fail with a 5xx. */
export function successRateAnalysis(
  prometheus: string,
  traffic: Pick<TrafficAnswers, "namespace" | "service">,
) {
  const selector = `destination_service_name="${traffic.service}",destination_service_namespace="${traffic.namespace}"`;
  return {
    prometheus,
    interval: "30s",
    count: 5,
    failureLimit: 1,
    metrics: [
      {
        name: "success-rate",
        query:
          `sum(rate(istio_requests_total{${selector},response_code!~"5.."}[1m]))` +
          ` / sum(rate(istio_requests_total{${selector}}[1m]))`,
        successCondition: ">= 0.99",
      },
    ],
  };
}

/** The playbook as plain data, keys in the schema's order; defaults the user never saw are left to the schema. */
export function playbookData(answers: WizardAnswers): Record<string, unknown> {
  const { source, target, traffic, dns } = answers;
  const provision = target.provision;
  const spec: Record<string, unknown> = {
    source: { context: source.context, ...(source.ingress ? { ingress: source.ingress } : {}) },
    target: {
      context: target.context,
      ...(provision ? { provision: provisionData(provision) } : {}),
      ...(target.ingress ? { ingress: target.ingress } : {}),
    },
  };
  if (answers.namespaces.length > 0) {
    spec.workloads = {
      namespaces: answers.namespaces,
      ...(answers.exclude?.length
        ? {
            exclude: answers.exclude.map((service) => ({
              kind: "Service",
              name: service.name,
              namespace: service.namespace,
            })),
          }
        : {}),
      ...(provision?.provider === "gke"
        ? { namespaceLabels: { "istio.io/rev": MANAGED_REVISION } }
        : answers.namespaceLabels
          ? { namespaceLabels: answers.namespaceLabels }
          : {}),
      rolloutTimeout: "10m",
    };
  }
  if (traffic) {
    spec.traffic = {
      namespace: traffic.namespace,
      service: traffic.service,
      port: traffic.port,
      remoteHost: traffic.remoteHost,
      ...(traffic.hosts?.length ? { hosts: traffic.hosts } : {}),
      steps: trafficSteps(traffic),
      onFailure: traffic.onFailure,
    };
  }
  if (dns) {
    spec.dns = {
      provider: dns.provider,
      zone: dns.zone,
      ...(dns.zoneId ? { zoneId: dns.zoneId } : {}),
      record: dns.record,
      type: dns.type,
      lowTtl: dns.lowTtl,
      ...(dns.target ? { target: dns.target } : {}),
    };
  }
  spec.state = { backend: "local" };
  return {
    apiVersion: "clustershift.dev/v1alpha1",
    kind: "Playbook",
    metadata: { name: answers.name },
    spec,
  };
}

function provisionData(provision: Provision): Record<string, unknown> {
  if (provision.provider === "sandbox") return provision;
  return {
    ...provision,
    workloadPool: `${provision.project}.svc.id.goog`,
    mesh: { management: "automatic", revision: MANAGED_REVISION },
  };
}

/** YAML text, with a header saying where it came from and what to do next. */
export function playbookYaml(answers: WizardAnswers, file: string): string {
  const doc = new Document(playbookData(answers));
  doc.commentBefore = [
    " Generated by `clustershift wizard` from the live clusters; edit as needed.",
    ` Check it:   clustershift validate -f ${file}`,
    ` Preview it: clustershift plan -f ${file}`,
    ` Run it:     clustershift apply -f ${file}`,
  ].join("\n");
  return doc.toString({ lineWidth: 0, indentSeq: true });
}
