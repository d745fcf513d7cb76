import { isIP } from "node:net";
import { parseCondition } from "../engine/gates/conditions.js";
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
  });
  checkDuration(spec.workloads?.rolloutTimeout, ["workloads", "rolloutTimeout"], report);

  if (spec.traffic) checkTraffic(spec.traffic, playbook, report);
  if (spec.dns) checkDns(spec.dns, report);
  return issues;
}

type Report = (path: PathSegment[], message: string) => void;

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
