import type { KubeObject } from "../providers/kubernetes/port.js";
import { resolveGateway } from "../steps/shift-traffic/virtual-service.js";
import type { RecordSet } from "../providers/route53/port.js";
import type {
  DnsRecordInfo,
  ExposedService,
  GatewayInfo,
  IngressService,
  ServiceDestination,
  VirtualServiceInfo,
} from "./deps.js";

/**
 * Labels that mark an Istio ingress gateway: the `istio` Helm chart and istioctl's default profile put
 * `istio=ingressgateway` and `app=istio-ingressgateway` on it; Google's ASM samples select `asm=ingressgateway`
 * and leave the Service itself unlabelled, hence the selector counts too.
 */
const INGRESS_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["istio", "ingressgateway"],
  ["app", "istio-ingressgateway"],
  ["asm", "ingressgateway"],
];

/** Namespaces of the platform rather than of an application: never offered for mirroring. */
const SYSTEM_NAMESPACES = new Set([
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "istio-system",
  "asm-system",
]);
const SYSTEM_PREFIXES = ["kube-", "istio-", "gke-", "gmp-", "asm-", "config-management-", "cert-manager"];

export function isSystemNamespace(name: string): boolean {
  return SYSTEM_NAMESPACES.has(name) || SYSTEM_PREFIXES.some((prefix) => name.startsWith(prefix));
}

type Spec = Record<string, unknown>;

function specOf(object: KubeObject): Spec {
  return (object.spec ?? {}) as Spec;
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function namespaceOf(object: KubeObject): string {
  return object.metadata.namespace ?? "default";
}

const byPlace = <T extends { namespace: string; name: string }>(a: T, b: T) =>
  a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

export function ingressServicesOf(services: readonly KubeObject[]): IngressService[] {
  return services
    .filter((service) => {
      const spec = specOf(service);
      if (spec.type !== "LoadBalancer") return false;
      const labels = { ...stringMap(spec.selector), ...(service.metadata.labels ?? {}) };
      return INGRESS_LABELS.some(([key, value]) => labels[key] === value);
    })
    .map((service) => {
      const spec = specOf(service);
      const status = (service.status ?? {}) as {
        loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> };
      };
      const first = status.loadBalancer?.ingress?.[0];
      const address = first?.ip ?? first?.hostname;
      const ports = Array.isArray(spec.ports)
        ? spec.ports
            .map((p) => (p as { port?: unknown }).port)
            .filter((p): p is number => typeof p === "number")
        : [];
      return {
        namespace: namespaceOf(service),
        name: service.metadata.name,
        ...(address ? { address } : {}),
        selector: stringMap(spec.selector),
        ports,
      };
    })
    .sort(byPlace);
}

function loadBalancerAddress(service: KubeObject): string | undefined {
  const status = (service.status ?? {}) as {
    loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> };
  };
  const first = status.loadBalancer?.ingress?.[0];
  return first?.ip ?? first?.hostname;
}

function portsOf(spec: Spec): number[] {
  return Array.isArray(spec.ports)
    ? spec.ports.map((p) => (p as { port?: unknown }).port).filter((p): p is number => typeof p === "number")
    : [];
}

/** The LoadBalancer and NodePort Services of `namespaces`: each would be a public entry point on the target too. */
export function exposedServicesOf(
  services: readonly KubeObject[],
  namespaces: readonly string[],
): ExposedService[] {
  return services
    .filter((service) => namespaces.includes(namespaceOf(service)))
    .flatMap((service): ExposedService[] => {
      const spec = specOf(service);
      if (spec.type !== "LoadBalancer" && spec.type !== "NodePort") return [];
      const address = spec.type === "LoadBalancer" ? loadBalancerAddress(service) : undefined;
      return [
        {
          namespace: namespaceOf(service),
          name: service.metadata.name,
          type: spec.type,
          ...(address ? { address } : {}),
          ports: portsOf(spec),
        },
      ];
    })
    .sort(byPlace);
}

const MOVABLE_TYPES = new Set(["A", "AAAA", "CNAME"]);

/**
 * Records the cutover can move: A, AAAA and CNAME of a simple routing policy. Weighted, latency and other
 * policies (a set identifier) are left out: `dns.record` names one record set.
 */
export function movableRecordsOf(records: readonly RecordSet[]): DnsRecordInfo[] {
  return records
    .filter((record) => MOVABLE_TYPES.has(record.type) && record.setIdentifier === undefined)
    .map((record) => ({
      name: record.name,
      type: record.type as DnsRecordInfo["type"],
      ...(record.ttl === undefined ? {} : { ttl: record.ttl }),
      values: record.alias ? [record.alias.dnsName] : (record.values ?? []),
      alias: record.alias !== undefined,
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
}

export function gatewaysOf(gateways: readonly KubeObject[]): GatewayInfo[] {
  return gateways
    .map((gateway) => {
      const spec = specOf(gateway);
      const servers = Array.isArray(spec.servers) ? (spec.servers as Array<{ hosts?: unknown }>) : [];
      return {
        namespace: namespaceOf(gateway),
        name: gateway.metadata.name,
        selector: stringMap(spec.selector),
        hosts: [...new Set(servers.flatMap((server) => strings(server.hosts)))],
      };
    })
    .sort(byPlace);
}

/**
 * The Service a destination host names, as Istio resolves it from the VirtualService's namespace: `frontend`,
 * `frontend.shop`, `frontend.shop.svc[.cluster.local]`. Hosts outside the cluster (ServiceEntries) are not
 * Services to migrate.
 */
export function serviceOfHost(
  host: string,
  vsNamespace: string,
): { namespace: string; service: string } | undefined {
  const parts = host.split(".");
  const [service, namespace, svc, ...rest] = parts;
  if (!service) return undefined;
  if (parts.length === 1) return { namespace: vsNamespace, service };
  if (!namespace) return undefined;
  if (parts.length === 2) return { namespace, service };
  if (svc !== "svc") return undefined;
  if (rest.length === 0 || rest.join(".") === "cluster.local") return { namespace, service };
  return undefined;
}

export function virtualServicesOf(virtualServices: readonly KubeObject[]): VirtualServiceInfo[] {
  return virtualServices
    .map((vs) => {
      const namespace = namespaceOf(vs);
      const spec = specOf(vs);
      const routes = Array.isArray(spec.http) ? (spec.http as Array<{ route?: unknown }>) : [];
      const destinations = new Map<string, ServiceDestination>();
      for (const route of routes) {
        for (const entry of Array.isArray(route.route)
          ? (route.route as Array<{ destination?: unknown }>)
          : []) {
          const destination = (entry.destination ?? {}) as { host?: unknown; port?: { number?: unknown } };
          if (typeof destination.host !== "string") continue;
          const target = serviceOfHost(destination.host, namespace);
          if (!target) continue;
          const port = typeof destination.port?.number === "number" ? destination.port.number : undefined;
          const found: ServiceDestination = { ...target, ...(port === undefined ? {} : { port }) };
          destinations.set(`${found.namespace}/${found.service}:${found.port ?? ""}`, found);
        }
      }
      return {
        namespace,
        name: vs.metadata.name,
        gateways: strings(spec.gateways).map((ref) => resolveGateway(ref, namespace)),
        hosts: strings(spec.hosts),
        destinations: [...destinations.values()],
      };
    })
    .sort(byPlace);
}

/** Whether a Gateway runs on the pods an ingress Service sends to. */
export function gatewayMatches(gateway: GatewayInfo, service: IngressService): boolean {
  const entries = Object.entries(gateway.selector);
  return entries.length > 0 && entries.every(([key, value]) => service.selector[key] === value);
}
