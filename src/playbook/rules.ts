import { isIP } from "node:net";
import { parseCondition } from "../core/conditions.js";
import { parseLabelSelector } from "../core/label-selector.js";
import { durationMs } from "./duration.js";
import type { PathIssue, PathSegment } from "./messages.js";
import { invalid, required } from "./messages.js";
import type { DnsSpec, Playbook, TrafficSpec } from "./schema.js";

/**
 * Checks that span fields or need more than a type: run on a playbook the schema accepted, so every
 * finding still carries the spec path of the value it is about.
 */
export function checkRules(playbook: Playbook): PathIssue[] {
  const spec = playbook.spec;
  const issues: PathIssue[] = [];
  const report = (path: PathSegment[], message: string) => issues.push({ path: ["spec", ...path], message });

  if (spec.source.context === spec.target.context) {
    report(["target", "context"], invalid(spec.target.context, "must differ from spec.source.context"));
  }
  checkGateway(spec.source.ingress?.gateway, ["source", "ingress", "gateway"], report);
  checkGateway(spec.target.ingress?.gateway, ["target", "ingress", "gateway"], report);
  checkNames(playbook, report);

  const provision = spec.target.provision;
  if (provision?.provider === "gke") {
    for (const field of ["project", "location"] as const) {
      if (provision[field] === undefined) {
        report(["target", "provision", field], required('required when provider is "gke"'));
      }
    }
  }

  spec.workloads?.exclude.forEach((exclusion, i) => {
    if (Object.keys(exclusion).length === 0) {
      report(["workloads", "exclude", i], required("at least one of kind, name, namespace, labelSelector"));
    }
    if (exclusion.labelSelector !== undefined) {
      try {
        parseLabelSelector(exclusion.labelSelector);
      } catch (error) {
        report(
          ["workloads", "exclude", i, "labelSelector"],
          invalid(exclusion.labelSelector, (error as Error).message),
        );
      }
    }
  });
  checkDuration(spec.workloads?.rolloutTimeout, ["workloads", "rolloutTimeout"], report);

  if (spec.traffic) checkTraffic(spec.traffic, playbook, report);
  if (spec.dns) checkDns(spec.dns, report);
  return issues;
}

type Report = (path: PathSegment[], message: string) => void;

/**
 * Namespaces that the cluster itself runs on. Mirroring them copies the source's control plane onto the target,
 * shifting traffic there or keeping state there puts the run next to it: refused unless the playbook lists them
 * in `spec.allowSystemNamespaces`. istio-system is the mesh's own: its gateway is a normal ingress, but mirroring
 * it would copy one mesh's installation over another's.
 */
export const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"] as const;
const MESH_NAMESPACES = ["istio-system"] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** GKE: a lower case letter, then up to 39 lower case letters, digits or '-', not ending with '-'. */
const GKE_CLUSTER_NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Kubernetes's own words (apimachinery's IsDNS1123Label and IsDNS1035Label). */
export const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1035_LABEL_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const GKE_NAME_MESSAGE =
  "a GKE cluster name must start with a lower case letter, have at most 40 lower case letters, digits or '-', and end with a letter or digit";
const TOO_LONG = "must be no more than 63 characters";

/** Namespaces as DNS-1123 labels, Services and sandbox clusters as DNS-1035 labels, GKE clusters as GKE has them. */
function checkNames(playbook: Playbook, report: Report): void {
  const spec = playbook.spec;
  const label = (value: string | undefined, path: PathSegment[], pattern: RegExp, message: string) => {
    if (value === undefined) return;
    if (value.length > 63) report(path, invalid(value, TOO_LONG));
    else if (!pattern.test(value)) report(path, invalid(value, message));
  };
  const namespace = (value: string | undefined, path: PathSegment[]) =>
    label(value, path, DNS1123_LABEL, DNS1123_LABEL_MESSAGE);
  const service = (value: string | undefined, path: PathSegment[]) =>
    label(value, path, DNS1035_LABEL, DNS1035_LABEL_MESSAGE);
  const allowed = new Set(spec.allowSystemNamespaces ?? []);
  const system = (
    value: string | undefined,
    path: PathSegment[],
    refused: readonly string[],
    use: string,
  ) => {
    if (value !== undefined && refused.includes(value) && !allowed.has(value)) {
      report(
        path,
        invalid(
          value,
          `a system namespace: ${use} would touch what the cluster itself runs; list it in spec.allowSystemNamespaces if that is really meant`,
        ),
      );
    }
  };

  for (const side of ["source", "target"] as const) {
    namespace(spec[side].ingress?.namespace, [side, "ingress", "namespace"]);
    service(spec[side].ingress?.service, [side, "ingress", "service"]);
  }
  spec.workloads?.namespaces.forEach((name, i) => {
    namespace(name, ["workloads", "namespaces", i]);
    system(name, ["workloads", "namespaces", i], [...SYSTEM_NAMESPACES, ...MESH_NAMESPACES], "mirroring it");
  });
  spec.workloads?.exclude.forEach((exclusion, i) =>
    namespace(exclusion.namespace, ["workloads", "exclude", i, "namespace"]),
  );
  if (spec.traffic) {
    namespace(spec.traffic.namespace, ["traffic", "namespace"]);
    system(spec.traffic.namespace, ["traffic", "namespace"], SYSTEM_NAMESPACES, "shifting its traffic");
    service(spec.traffic.service, ["traffic", "service"]);
  }
  if (spec.state.backend === "kubernetes") {
    namespace(spec.state.namespace, ["state", "namespace"]);
    system(spec.state.namespace, ["state", "namespace"], SYSTEM_NAMESPACES, "keeping the journal there");
  }
  spec.allowSystemNamespaces?.forEach((name, i) => {
    if (![...SYSTEM_NAMESPACES, ...MESH_NAMESPACES].includes(name as never)) {
      report(
        ["allowSystemNamespaces", i],
        invalid(
          name,
          `not a system namespace: one of ${[...SYSTEM_NAMESPACES, ...MESH_NAMESPACES].join(", ")}`,
        ),
      );
    }
  });

  const clusterName = (cluster: { provider: string; name: string } | undefined, path: PathSegment[]) => {
    if (cluster === undefined) return;
    if (cluster.provider === "gke") {
      if (!GKE_CLUSTER_NAME.test(cluster.name)) report(path, invalid(cluster.name, GKE_NAME_MESSAGE));
    } else service(cluster.name, path);
  };
  clusterName(spec.target.provision, ["target", "provision", "name"]);
  clusterName(spec.decommission?.cluster, ["decommission", "cluster", "name"]);
}

function checkTraffic(traffic: TrafficSpec, playbook: Playbook, report: Report): void {
  for (const side of ["source", "target"] as const) {
    if (playbook.spec[side].ingress === undefined) {
      report([side, "ingress"], required(`spec.traffic needs the ${side} cluster's ingress gateway`));
    }
  }
  if (!isDnsName(traffic.remoteHost))
    report(["traffic", "remoteHost"], invalid(traffic.remoteHost, DNS_NAME));
  traffic.hosts?.forEach((host, i) => {
    if (host !== "*" && !isDnsName(host.replace(/^\*\./, ""))) {
      report(["traffic", "hosts", i], invalid(host, `${DNS_NAME}, or a wildcard such as *.example.com`));
    }
  });

  checkIncreasing(
    traffic.steps.map((step) => step.weight),
    (i) => ["traffic", "steps", i, "weight"],
    report,
  );
  traffic.steps.forEach((step, i) => {
    const at: PathSegment[] = ["traffic", "steps", i];
    checkDuration(step.pause, [...at, "pause"], report);
    checkDuration(step.analysis?.interval, [...at, "analysis", "interval"], report);
    checkDuration(step.probe?.timeout, [...at, "probe", "timeout"], report);
    step.analysis?.metrics.forEach((metric, m) => {
      const metricAt = [...at, "analysis", "metrics", m];
      if (!metric.compare && metric.successCondition === undefined && metric.failureCondition === undefined) {
        report(
          [...metricAt, "successCondition"],
          required("successCondition or failureCondition is required"),
        );
      }
      for (const field of ["successCondition", "failureCondition"] as const) {
        const condition = metric[field];
        if (condition !== undefined && parseCondition(condition) === undefined) {
          report([...metricAt, field], invalid(condition, CONDITION));
        }
      }
    });
  });
}

function checkDns(dns: DnsSpec, report: Report): void {
  const record = normalize(dns.record);
  if (!isDnsName(record.replace(/^\*\./, ""), true)) report(["dns", "record"], invalid(dns.record, DNS_NAME));
  if (dns.zone === undefined && dns.zoneId === undefined) {
    report(["dns", "zone"], required("zone or zoneId is required"));
  }
  if (dns.zone !== undefined) {
    const zone = normalize(dns.zone);
    if (!isDnsName(zone, true)) report(["dns", "zone"], invalid(dns.zone, DNS_NAME));
    else if (record !== zone && !record.endsWith(`.${zone}`)) {
      report(["dns", "record"], invalid(dns.record, `must be inside zone ${JSON.stringify(dns.zone)}`));
    } else if (record === zone && dns.type === "CNAME") {
      report(["dns", "type"], invalid(dns.type, "a CNAME record cannot be at the zone apex"));
    }
  }
  if (dns.target !== undefined && isIP(dns.target) === 0 && !isDnsName(normalize(dns.target))) {
    report(["dns", "target"], invalid(dns.target, "must be an IP address or a host name"));
  }
  if (dns.weights !== undefined) {
    checkIncreasing(dns.weights, (i) => ["dns", "weights", i], report);
  }
  checkDuration(dns.soak, ["dns", "soak"], report);
}

/** Weights move one way and end with everything on the target; ranges are the schema's. */
function checkIncreasing(weights: number[], pathOf: (i: number) => PathSegment[], report: Report): void {
  weights.forEach((weight, i) => {
    const previous = weights[i - 1];
    if (previous !== undefined && weight <= previous) {
      report(pathOf(i), invalid(weight, `must be greater than the previous weight ${previous}`));
    }
  });
  const last = weights.length - 1;
  if (weights[last] !== undefined && weights[last] !== 100) {
    report(pathOf(last), invalid(weights[last], "the last weight must be 100"));
  }
}

function checkGateway(gateway: string | undefined, path: PathSegment[], report: Report): void {
  if (gateway !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[^/\s]+$/.test(gateway)) {
    report(path, invalid(gateway, "must be namespace/name"));
  }
}

function checkDuration(text: string | undefined, path: PathSegment[], report: Report): void {
  if (text !== undefined && durationMs(text) <= 0) report(path, invalid(text, "must be greater than zero"));
}

const CONDITION = 'must be an operator (>=, >, <=, <, ==, !=) and a number, such as ">= 0.99"';
const DNS_NAME = "must be a DNS name such as shop.example.com";

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_ANY_CASE = /^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$/i;

/**
 * RFC 1123 names, as Kubernetes and Istio want them. Route 53 records may also use upper case and
 * underscores (`_acme-challenge`), hence `lenient`.
 */
function isDnsName(name: string, lenient = false): boolean {
  const label = lenient ? LABEL_ANY_CASE : LABEL;
  const labels = name.split(".");
  // An all-numeric last label is a mistyped IP address (`203.0.113.300`), not a host.
  return name.length <= 253 && labels.every((part) => label.test(part)) && !/^\d+$/.test(labels.at(-1) ?? "");
}

/** `Shop.Example.com.` and `shop.example.com` name the same record. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}
