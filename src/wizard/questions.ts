import type {
  ContextInfo,
  DnsProvider,
  DnsRecordInfo,
  ExposedService,
  GatewayInfo,
  HostedZoneInfo,
  IngressService,
  ServiceDestination,
  VirtualServiceInfo,
} from "./deps.js";
import { gatewayMatches, isSystemNamespace } from "./discover.js";
import * as check from "./validate.js";

/**
 * The configuration of every question the wizard asks, built from live data. Kept apart from the flow so each
 * screen can be rendered and tested on its own with the exact config the wizard uses.
 */

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  checked?: boolean;
}

export interface SelectQuestion<T> {
  message: string;
  choices: Choice<T>[];
  default?: T;
  pageSize?: number;
}

export interface InputQuestion {
  message: string;
  default?: string;
  validate?: check.Validator;
}

export interface ConfirmQuestion {
  message: string;
  default: boolean;
}

export interface CheckboxQuestion<T> {
  message: string;
  choices: Choice<T>[];
  pageSize?: number;
  validate: (selected: readonly { value: T }[]) => true | string;
}

export type TargetChoice = { kind: "context"; context: string } | { kind: "gke" } | { kind: "sandbox" };

/** Where a route goes: an existing destination, or a service named by hand when no VirtualService routes to it. */
export type SplitChoice =
  { kind: "destination"; destination: ServiceDestination; virtualService: string } | { kind: "other" };

export type TargetIngressChoice = { kind: "existing"; service: IngressService } | { kind: "install" };

export type ZoneChoice = { kind: "zone"; zone: HostedZoneInfo } | { kind: "other" };

export type RecordChoice = { kind: "record"; record: DnsRecordInfo } | { kind: "other" };

export type OnFailure = "rollback" | "pause";

export const DEFAULT_WEIGHTS = "10,50,100";
export const DEFAULT_PAUSE = "2m";
export const DEFAULT_MACHINE_TYPE = "e2-standard-4";
export const DEFAULT_NODE_COUNT = "2";
export const DEFAULT_TTL = "60";
export const DEFAULT_EXPECT_STATUS = "200";
/** The managed mesh's revision label value, which an installed gateway's namespace gets. */
export const MANAGED_REVISION = "asm-managed";
/** The ingress gateway Google's migration guide installs on the target. */
export const INSTALLED_INGRESS = {
  namespace: "asm-ingress",
  service: "asm-ingressgateway",
  gateway: "asm-ingress/asm-ingressgateway",
} as const;

export const NAMESPACES_REQUIRED = "choose at least one namespace (space selects, enter confirms)";

const PAGE_SIZE = 12;

export function sourceContextQuestion(contexts: readonly ContextInfo[]): SelectQuestion<string> {
  const current = contexts.find((context) => context.current);
  return {
    message: "Source cluster: the kubeconfig context the application runs on now",
    choices: contexts.map((context) => ({
      name: context.name,
      value: context.name,
      description: context.server,
    })),
    ...(current ? { default: current.name } : {}),
    pageSize: PAGE_SIZE,
  };
}

export function targetQuestion(
  contexts: readonly ContextInfo[],
  source: ContextInfo,
): SelectQuestion<TargetChoice> {
  const others = contexts.filter((context) => context.name !== source.name);
  const choices: Choice<TargetChoice>[] = others.map((context) => ({
    name: context.name,
    value: { kind: "context", context: context.name },
    description: context.server,
  }));
  choices.push({
    name: "Provision a new GKE cluster",
    value: { kind: "gke" },
    description: "with managed Cloud Service Mesh",
  });
  if (source.sandbox) {
    choices.push({
      name: "A new sandbox cluster",
      value: { kind: "sandbox" },
      description: "added to the running sandbox",
    });
  }
  return { message: "Target cluster: where the application moves to", choices, pageSize: PAGE_SIZE };
}

export const gkeProjectQuestion = (): InputQuestion => ({
  message: "GCP project id",
  validate: check.gcpProject,
});

export const gkeLocationQuestion = (): InputQuestion => ({
  message: "Location (zone or region)",
  default: "us-central1-a",
  validate: check.gcpLocation,
});

export const clusterNameQuestion = (taken: readonly string[], fallback: string): InputQuestion => ({
  message: "Name of the new cluster (also its kubeconfig context)",
  default: fallback,
  validate: check.newName(taken, "kubeconfig context"),
});

export const machineTypeQuestion = (): InputQuestion => ({
  message: "Machine type",
  default: DEFAULT_MACHINE_TYPE,
  validate: check.machineType,
});

export const nodeCountQuestion = (): InputQuestion => ({
  message: "Number of nodes",
  default: DEFAULT_NODE_COUNT,
  validate: check.nodeCount,
});

export function namespacesQuestion(all: readonly string[], context: string): CheckboxQuestion<string> {
  const candidates = all.filter((name) => !isSystemNamespace(name));
  return {
    message: `Namespaces to mirror from ${context}`,
    choices: candidates.map((name) => ({ name, value: name, checked: candidates.length === 1 })),
    pageSize: PAGE_SIZE,
    validate: (selected) => selected.length > 0 || NAMESPACES_REQUIRED,
  };
}

export const shiftTrafficQuestion = (): ConfirmQuestion => ({
  message: "Shift traffic gradually by Istio weights (a canary between the clusters)?",
  default: true,
});

function serviceLabel(service: IngressService): string {
  return `${service.namespace}/${service.name}`;
}

export function ingressServiceQuestion(
  services: readonly IngressService[],
  context: string,
): SelectQuestion<IngressService> {
  return {
    message: `Ingress gateway Service on ${context}`,
    choices: services.map((service) => ({
      name: serviceLabel(service),
      value: service,
      description: `LoadBalancer ${service.address ?? "(no address yet)"}, ports ${service.ports.join(", ") || "(none)"}`,
    })),
    pageSize: PAGE_SIZE,
  };
}

export function gatewayQuestion(
  gateways: readonly GatewayInfo[],
  service: IngressService,
): SelectQuestion<string> {
  const matching = gateways.find((gateway) => gatewayMatches(gateway, service));
  return {
    message: `Istio Gateway served by ${serviceLabel(service)}`,
    choices: gateways.map((gateway) => ({
      name: `${gateway.namespace}/${gateway.name}`,
      value: `${gateway.namespace}/${gateway.name}`,
      description: `hosts ${gateway.hosts.join(", ") || "(none)"}${gatewayMatches(gateway, service) ? "; runs on this Service's pods" : ""}`,
    })),
    ...(matching ? { default: `${matching.namespace}/${matching.name}` } : {}),
    pageSize: PAGE_SIZE,
  };
}

export const gatewayRefQuestion = (fallback: string): InputQuestion => ({
  message: "Istio Gateway (namespace/name)",
  default: fallback,
  validate: check.gatewayRef,
});

export function splitQuestion(
  virtualServices: readonly VirtualServiceInfo[],
  gateway: string,
): SelectQuestion<SplitChoice> {
  const choices: Choice<SplitChoice>[] = virtualServices
    .filter((vs) => vs.gateways.includes(gateway))
    .flatMap((vs) =>
      vs.destinations.map((destination) => ({
        name: `${destination.service}.${destination.namespace}${destination.port === undefined ? "" : `:${destination.port}`}`,
        value: { kind: "destination" as const, destination, virtualService: `${vs.namespace}/${vs.name}` },
        description: `routed by VirtualService ${vs.namespace}/${vs.name} (hosts ${vs.hosts.join(", ")})`,
      })),
    );
  choices.push({
    name: "Another Service",
    value: { kind: "other" },
    description: "clustershift creates a VirtualService on the gateway for it",
  });
  return {
    message: `Service to split between the clusters (routes of ${gateway})`,
    choices,
    pageSize: PAGE_SIZE,
  };
}

export function splitNamespaceQuestion(namespaces: readonly string[]): SelectQuestion<string> {
  return {
    message: "Namespace of the Service",
    choices: namespaces.map((name) => ({ name, value: name })),
    pageSize: PAGE_SIZE,
  };
}

export const serviceNameQuestion = (): InputQuestion => ({
  message: "Service name",
  validate: check.dnsLabel,
});

export const portQuestion = (): InputQuestion => ({
  message: "Service port",
  default: "80",
  validate: check.port,
});

export const remoteHostQuestion = (service: string): InputQuestion => ({
  message: "Host name the source mesh uses for the target's ingress",
  default: `${service}.target.clustershift.internal`,
  validate: check.dnsName,
});

export function targetIngressQuestion(
  services: readonly IngressService[],
  context: string,
): SelectQuestion<TargetIngressChoice> {
  const install: Choice<TargetIngressChoice> = {
    name: `Install one: ${INSTALLED_INGRESS.namespace}/${INSTALLED_INGRESS.service}`,
    value: { kind: "install" },
    description: `with the Gateway ${INSTALLED_INGRESS.gateway}`,
  };
  return {
    message: `Ingress gateway on the target ${context}`,
    choices: [
      ...services.map((service) => ({
        name: serviceLabel(service),
        value: { kind: "existing" as const, service },
        description: `LoadBalancer ${service.address ?? "(no address yet)"}`,
      })),
      install,
    ],
    pageSize: PAGE_SIZE,
  };
}

/** The hosts users reach the application at; suggested from the gateway's VirtualServices (wildcards left out). */
export const hostsQuestion = (suggested: readonly string[]): InputQuestion => ({
  message:
    "Public hosts that move to the target, comma-separated (empty: every VirtualService on the gateway, with its own hosts)",
  ...(suggested.length > 0 ? { default: suggested.join(", ") } : {}),
  validate: check.hosts,
});

function exposedLabel(service: ExposedService): string {
  const where = service.type === "LoadBalancer" ? ` ${service.address ?? "(no address yet)"}` : "";
  return `${service.type}${where}, ports ${service.ports.join(", ") || "(none)"}`;
}

/**
 * Other public entry points of the mirrored namespaces (Online Boutique's `frontend-external`): mirrored, each
 * would get a second public load balancer on the target, outside the shifted route. Left out unless unticked.
 */
export function exclusionsQuestion(services: readonly ExposedService[]): CheckboxQuestion<ExposedService> {
  return {
    message:
      "Leave these public Services out of the mirror? (each would be a second public entry point on the target)",
    choices: services.map((service) => ({
      name: `${service.namespace}/${service.name}`,
      value: service,
      description: exposedLabel(service),
      checked: true,
    })),
    pageSize: PAGE_SIZE,
    validate: () => true,
  };
}

export const probeUrlQuestion = (fallback: string, beforeWeight: string): InputQuestion => ({
  message: `Probe URL: HTTP GETs that must pass ${beforeWeight} (empty: no probe)`,
  default: fallback,
  validate: check.optional(check.httpUrl),
});

export const probeHostQuestion = (fallback: string | undefined): InputQuestion => ({
  message: "Host header of the probe (empty: the URL's host)",
  ...(fallback ? { default: fallback } : {}),
  validate: check.optional(check.hosts),
});

export const expectStatusQuestion = (): InputQuestion => ({
  message: "HTTP status the probe expects",
  default: DEFAULT_EXPECT_STATUS,
  validate: check.httpStatus,
});

export function onFailureQuestion(): SelectQuestion<OnFailure> {
  return {
    message: "When a gate fails (probe, analysis) or a shift step errs",
    choices: [
      {
        name: "rollback",
        value: "rollback",
        description: "send all traffic back to the source and undo what was applied",
      },
      {
        name: "pause",
        value: "pause",
        description: "stop where it is; you decide: fix and apply again, or roll back",
      },
    ],
    default: "rollback",
  };
}

export const weightsQuestion = (): InputQuestion => ({
  message: "Weights to shift, in percent to the target (comma-separated, ending in 100)",
  default: DEFAULT_WEIGHTS,
  validate: check.weights,
});

export const pauseQuestion = (): InputQuestion => ({
  message: "Pause after each weight before the last",
  default: DEFAULT_PAUSE,
  validate: check.duration,
});

export const prometheusQuestion = (service: string): InputQuestion => ({
  message: `Prometheus URL for a success-rate analysis of ${service} before the last weight (empty: none)`,
  default: "",
  validate: check.optional(check.httpUrl),
});

/** With a single weight the gate runs after it, before DNS moves. */
export const approvalQuestion = (weights: readonly number[]): ConfirmQuestion => ({
  message:
    weights.length > 1
      ? `Wait for your approval before going to ${weights.at(-1)}%?`
      : "Wait for your approval after the shift, before anything else moves?",
  default: true,
});

export const dnsQuestion = (): ConfirmQuestion => ({
  message: "Cut a DNS record over to the target at the end?",
  default: true,
});

export function dnsProviderQuestion(): SelectQuestion<"route53" | "sandbox"> {
  return {
    message: "DNS provider",
    choices: [
      { name: "Amazon Route 53", value: "route53" },
      { name: "The sandbox DNS", value: "sandbox" },
    ],
    default: "sandbox",
  };
}

export function zoneQuestion(
  zones: readonly HostedZoneInfo[],
  provider: DnsProvider = "route53",
): SelectQuestion<ZoneChoice> {
  return {
    message: provider === "route53" ? "Hosted zone" : "Hosted zone (sandbox DNS)",
    choices: [
      ...zones.map((zone) => ({
        name: zone.name,
        value: { kind: "zone" as const, zone },
        description: `${zone.private ? "private" : "public"} zone ${zone.id}`,
      })),
      { name: "Another zone", value: { kind: "other" } },
    ],
    pageSize: PAGE_SIZE,
  };
}

export const zoneNameQuestion = (): InputQuestion => ({
  message: "Hosted zone (e.g. example.com)",
  validate: check.dnsName,
});

/** The record to cut over, chosen from the zone's; the one of the public hosts first. */
export function recordChoiceQuestion(
  records: readonly DnsRecordInfo[],
  suggestion: string | undefined,
): SelectQuestion<RecordChoice> {
  const wanted = suggestion?.replace(/\.$/, "").toLowerCase();
  const choices: Choice<RecordChoice>[] = records.map((record) => ({
    name: `${record.name.replace(/\.$/, "")} ${record.type}`,
    value: { kind: "record", record },
    description: `${record.alias ? "alias to " : ""}${record.values.join(", ")}${record.ttl === undefined ? "" : `, TTL ${record.ttl}`}`,
  }));
  // select finds its default by identity: the choice's own value.
  const match = choices.find(
    ({ value }) => value.kind === "record" && value.record.name.replace(/\.$/, "").toLowerCase() === wanted,
  );
  choices.push({ name: "Another record", value: { kind: "other" } });
  return {
    message: "DNS record to cut over",
    choices,
    ...(match ? { default: match.value } : {}),
    pageSize: PAGE_SIZE,
  };
}

export const recordQuestion = (zone: string, suggestion: string | undefined): InputQuestion => ({
  message: "DNS record to cut over",
  ...(suggestion ? { default: suggestion } : {}),
  validate: check.recordIn(zone),
});

export function recordTypeQuestion(): SelectQuestion<"A" | "AAAA" | "CNAME"> {
  return {
    message: "Record type",
    choices: [
      { name: "A (IPv4 address)", value: "A" },
      { name: "AAAA (IPv6 address)", value: "AAAA" },
      { name: "CNAME (host name)", value: "CNAME" },
    ],
    default: "A",
  };
}

/**
 * A record whose TTL is already at or under the default keeps its own (the sandbox's seeded records have 30 s):
 * lowering "to 60" would raise it, which the plan refuses as a no-op.
 */
export const ttlQuestion = (current?: number): InputQuestion => ({
  message: "TTL in seconds to lower the record to before the cutover",
  default:
    current !== undefined && current >= 5 && current < Number(DEFAULT_TTL) ? String(current) : DEFAULT_TTL,
  validate: check.ttl,
});

export const dnsTargetQuestion = (type: "A" | "AAAA" | "CNAME"): InputQuestion => ({
  message: "New address for the record (empty: the target ingress gateway's, found at apply time)",
  default: "",
  validate: check.optional(check.addressFor(type)),
});

export const nameQuestion = (fallback: string): InputQuestion => ({
  message: "Name of this playbook",
  default: fallback,
  validate: check.dnsLabel,
});

export const overwriteQuestion = (file: string): ConfirmQuestion => ({
  message: `${file} exists. Overwrite it?`,
  default: false,
});

export const outFileQuestion = (fallback: string): InputQuestion => ({
  message: "Write the playbook to",
  default: fallback,
  validate: (value) => value.trim() !== "" || check.MESSAGES.required,
});
