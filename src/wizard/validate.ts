import { isIP } from "node:net";
import { durationMs } from "../playbook/duration.js";
import { DURATION_PATTERN } from "../playbook/schema.js";
import { recordInZone } from "../providers/route53/names.js";

/**
 * Validators for the wizard's questions, in the shape `@inquirer/prompts` wants: `true` when the answer is
 * acceptable, else the message shown under the prompt. They check what the playbook schema and rules would
 * reject, so a wrong answer is caught while the user is still at that question.
 */
export type Validator = (value: string) => true | string;

export const MESSAGES = {
  dnsLabel:
    "must be a DNS label: lower case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
  dnsName: "must be a DNS name such as shop.example.com",
  duration: "must be a duration such as 30s, 2m or 1h",
  durationZero: "must be longer than zero",
  weightsFormat: "must be whole percentages separated by commas, such as 10,50,100",
  weightsRange: "each weight must be between 1 and 100",
  weightsLast: "the last weight must be 100",
  ttl: "must be a whole number of seconds between 5 and 86400",
  port: "must be a port number between 1 and 65535",
  nodeCount: "must be a whole number between 1 and 1000",
  gcpProject:
    "must be a GCP project id: 6 to 30 lower case letters, digits and '-', starting with a letter, not ending with '-'",
  gcpLocation: "must be a GCP region or zone such as us-central1 or us-central1-a",
  machineType: "must be a Compute Engine machine type such as e2-standard-4",
  url: "must be an http:// or https:// URL such as http://prometheus.monitoring:9090",
  gateway: "must be namespace/name",
  ipv4: "must be an IPv4 address for an A record",
  ipv6: "must be an IPv6 address for an AAAA record",
  cname: "must be a host name for a CNAME record",
  required: "an answer is required",
  hosts:
    "must be host names separated by commas, such as shop.example.com, www.example.com (a leading *. is allowed)",
  httpStatus: "must be an HTTP status code between 100 and 599",
} as const;

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_ANY_CASE = /^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$/i;

/** RFC 1123 names as Kubernetes and Istio want them; `lenient` admits Route 53's `_acme-challenge` and upper case. */
export function isDnsName(name: string, lenient = false): boolean {
  const label = lenient ? LABEL_ANY_CASE : LABEL;
  const labels = name.replace(/\.$/, "").split(".");
  // An all-numeric last label is a mistyped IP address (`203.0.113.300`), not a host.
  return name.length <= 253 && labels.every((part) => label.test(part)) && !/^\d+$/.test(labels.at(-1) ?? "");
}

export const dnsLabel: Validator = (value) => LABEL.test(value.trim()) || MESSAGES.dnsLabel;

export const dnsName: Validator = (value) => isDnsName(value.trim()) || MESSAGES.dnsName;

/** The new value of a record of `type`. */
export function addressFor(type: "A" | "AAAA" | "CNAME"): Validator {
  return (value) => {
    const text = value.trim();
    switch (type) {
      case "A":
        return isIP(text) === 4 || MESSAGES.ipv4;
      case "AAAA":
        return isIP(text) === 6 || MESSAGES.ipv6;
      case "CNAME":
        return (isIP(text) === 0 && isDnsName(text)) || MESSAGES.cname;
    }
  };
}

/** Empty means "none" for the optional questions. */
export function optional(validator: Validator): Validator {
  return (value) => value.trim() === "" || validator(value);
}

export const duration: Validator = (value) => {
  const text = value.trim();
  if (!DURATION_PATTERN.test(text)) return MESSAGES.duration;
  return durationMs(text) > 0 || MESSAGES.durationZero;
};

/** `10, 50,100` → [10, 50, 100]; undefined when it is not a list of whole numbers. */
export function parseWeights(value: string): number[] | undefined {
  const parts = value.split(",").map((part) => part.trim());
  if (parts.some((part) => !/^\d{1,3}$/.test(part))) return undefined;
  return parts.map(Number);
}

export const weights: Validator = (value) => {
  const list = parseWeights(value);
  if (list === undefined) return MESSAGES.weightsFormat;
  if (list.some((weight) => weight < 1 || weight > 100)) return MESSAGES.weightsRange;
  for (let i = 1; i < list.length; i++) {
    const [previous, current] = [list[i - 1] as number, list[i] as number];
    if (current <= previous) return `weights must increase: ${current} comes after ${previous}`;
  }
  return list.at(-1) === 100 || MESSAGES.weightsLast;
};

/** Numbers are asked with `input`, not `number`: that prompt answers non-numbers with its own message. */
function wholeNumberIn(min: number, max: number, message: string): Validator {
  return (value) => {
    const text = value.trim();
    return (/^\d+$/.test(text) && Number(text) >= min && Number(text) <= max) || message;
  };
}

/** `shop.example.com, *.example.com` → the names; empty → []; undefined when one is not a host name. */
export function parseHosts(value: string): string[] | undefined {
  const parts = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  return parts.every((part) => part === "*" || isDnsName(part.replace(/^\*\./, ""))) ? parts : undefined;
}

export const hosts: Validator = (value) => parseHosts(value) !== undefined || MESSAGES.hosts;

export const httpStatus = wholeNumberIn(100, 599, MESSAGES.httpStatus);

export const ttl = wholeNumberIn(5, 86400, MESSAGES.ttl);
export const port = wholeNumberIn(1, 65535, MESSAGES.port);
export const nodeCount = wholeNumberIn(1, 1000, MESSAGES.nodeCount);

export const gcpProject: Validator = (value) =>
  /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(value.trim()) || MESSAGES.gcpProject;

export const gcpLocation: Validator = (value) =>
  /^[a-z]+-[a-z]+\d+(-[a-z])?$/.test(value.trim()) || MESSAGES.gcpLocation;

export const machineType: Validator = (value) =>
  /^[a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]$/.test(value.trim()) || MESSAGES.machineType;

export const httpUrl: Validator = (value) => {
  try {
    const url = new URL(value.trim());
    return ((url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "") || MESSAGES.url;
  } catch {
    return MESSAGES.url;
  }
};

export const gatewayRef: Validator = (value) => {
  const [namespace, name, extra] = value.trim().split("/");
  return (
    (namespace !== undefined && LABEL.test(namespace) && !!name && extra === undefined) || MESSAGES.gateway
  );
};

export function recordIn(zone: string): Validator {
  return (value) => {
    const text = value.trim();
    if (!isDnsName(text.replace(/^\*\./, ""), true)) return MESSAGES.dnsName;
    return recordInZone(text, zone) || `must be inside the zone ${zone.replace(/\.$/, "")}`;
  };
}

/** A DNS label that is not already taken (a context name for the new cluster). */
export function newName(taken: readonly string[], what: string): Validator {
  return (value) => {
    const valid = dnsLabel(value);
    if (valid !== true) return valid;
    return (
      !taken.includes(value.trim()) ||
      `${what} ${value.trim()} exists already: choose it from the list instead`
    );
  };
}
