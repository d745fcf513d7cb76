import { isIP } from "node:net";
import { KNOWN_AFTER_APPLY } from "../../engine/types.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";
import {
  headerRouteMatches,
  needsRouteHeader,
  ROUTE_HEADER,
  routeHeaderValue,
} from "../shift-traffic/route-header.js";
import { targetRoute } from "../shift-traffic/route-table.js";
import type { HttpRoute, VirtualService } from "../shift-traffic/weights.js";

/**
 * Names of what expose-target creates:
 * - on the source, ServiceEntry `clustershift-<service>-remote` (in `traffic.namespace`): the target cluster as seen
 *   from the source mesh; and, when the source mesh would send it mutual TLS, DestinationRule
 *   `clustershift-<service>-remote` in the source gateway's namespace;
 * - on the target, for each VirtualService of the app on the source gateway, `clustershift-<its name>` beside it:
 *   the same route table on the target gateway; when the app has none, `clustershift-<service>-ingress`.
 */
export function exposeNames(service: string): {
  serviceEntry: string;
  destinationRule: string;
  virtualService: string;
} {
  return {
    serviceEntry: `clustershift-${service}-remote`,
    destinationRule: `clustershift-${service}-remote`,
    virtualService: `clustershift-${service}-ingress`,
  };
}

/** The target copy of the source gateway VirtualService `name`. */
export function targetRouteTableName(name: string): string {
  return `clustershift-${name}`;
}

/** The ServiceEntry's one port: what the shifted routes name as the remote destination's port. */
export const REMOTE_PORT_NAME = "http";

export interface ServiceEntryInput {
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  remoteHost: string;
  /** `traffic.port`: the port the source's routes send the remote share to. */
  port: number;
  /**
   * The target ingress Service port behind the target Gateway's HTTP server, where the source gateway dials;
   * KNOWN_AFTER_APPLY while the target gateway is yet to be made.
   */
  endpointPort: number | string;
  /** The target ingress gateway's external IP or host name; KNOWN_AFTER_APPLY while it has none. */
  address: string;
}

/**
 * Google's canary-cluster ServiceEntry: `remoteHost` is MESH_EXTERNAL, served at the target ingress address —
 * STATIC with the IP as endpoint, or DNS for a load balancer that has a host name (AWS ELB) — at the port of the
 * target ingress Service that reaches the target Gateway's HTTP server (the endpoint's port for the port's name:
 * the service port, 9080 say, is only what the source's routes call it). Visible to every namespace, so that the
 * source gateway's proxies, in their own namespace, have it whatever the mesh's default `exportTo`.
 */
export function buildServiceEntry(input: ServiceEntryInput): KubeObject {
  const resolution =
    input.address === KNOWN_AFTER_APPLY ? KNOWN_AFTER_APPLY : isIP(input.address) ? "STATIC" : "DNS";
  return {
    apiVersion: input.apiVersion,
    kind: "ServiceEntry",
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
    spec: {
      hosts: [input.remoteHost],
      exportTo: ["*"],
      location: "MESH_EXTERNAL",
      ports: [{ number: input.port, name: REMOTE_PORT_NAME, protocol: "HTTP" }],
      resolution,
      endpoints: [{ address: input.address, ports: { [REMOTE_PORT_NAME]: input.endpointPort } }],
    },
  };
}

export interface DestinationRuleInput {
  apiVersion: string;
  name: string;
  /** The source gateway's namespace. */
  namespace: string;
  labels: Record<string, string>;
  remoteHost: string;
}

/**
 * Plain HTTP to the remote host, over a mesh-wide ISTIO_MUTUAL rule: private to the gateway's namespace, where
 * Istio looks first and where a host beats a wildcard (in the root namespace only private rules are looked at
 * first, so private it is in both cases).
 */
export function buildRemoteDestinationRule(input: DestinationRuleInput): KubeObject {
  return {
    apiVersion: input.apiVersion,
    kind: "DestinationRule",
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
    spec: {
      host: input.remoteHost,
      exportTo: ["."],
      trafficPolicy: { tls: { mode: "DISABLE" } },
    },
  };
}

export interface TargetRouteTableInput {
  apiVersion: string;
  labels: Record<string, string>;
  /** `namespace/name` of the target ingress Gateway. */
  gateway: string;
  /** `traffic.hosts`: replaces the source VirtualService's hosts when given. */
  hosts: string[] | undefined;
  /** The source gateway VirtualService as the app had it (see `unshifted`). */
  source: VirtualService;
}

/**
 * The source gateway VirtualService's route table on the target gateway: first one header route per source route
 * whose shifted share must not pass the route twice (see `needsRouteHeader`): it matches the source's
 * `x-clustershift-route` naming that route (and the route's matches as the shifted request satisfies them) and
 * sends to the same destinations with no rewrite, fault, mirror or retries, which the source already applied;
 * then every HTTP route as it is, with its matches, rewrites, redirects, headers, retries, timeouts, fault and
 * mirror, destinations resolved to the mirrored Services' FQDNs. Requests shifted through other routes arrive with
 * their public Host header and path (Envoy keeps both for a weighted destination), and after the DNS cutover the
 * public reaches this gateway directly with no such header: either way each path goes where it went on the source.
 */
export function buildTargetRouteTable(input: TargetRouteTableInput): KubeObject {
  const { source } = input;
  const namespace = source.metadata.namespace ?? "default";
  const spec = source.spec ?? {};
  return {
    apiVersion: input.apiVersion,
    kind: "VirtualService",
    metadata: { name: targetRouteTableName(source.metadata.name), namespace, labels: input.labels },
    spec: {
      hosts: input.hosts?.length ? input.hosts : (spec.hosts ?? ["*"]),
      gateways: [input.gateway],
      http: [
        ...(spec.http ?? []).flatMap((route, index) =>
          needsRouteHeader(route) ? [headerRoute(route, routeHeaderValue(source, index), namespace)] : [],
        ),
        ...(spec.http ?? []).map((route) => targetRoute(route, namespace)),
      ],
    },
  };
}

/**
 * The target's route for the shifted share of source route `route`: its destinations (with their own headers,
 * which the source did not apply to the remote share) and timeout; `retries.attempts: 0`, since the source gateway
 * already retried by the route's policy (with no `retries`, Istio's default would retry again); the header removed
 * before the app sees it.
 */
function headerRoute(route: HttpRoute, value: string, namespace: string): HttpRoute {
  const copied = targetRoute(route, namespace);
  return {
    name: `clustershift.${value}`,
    match: headerRouteMatches(route, value),
    route: copied.route ?? [],
    ...(route.timeout === undefined ? {} : { timeout: route.timeout }),
    retries: { attempts: 0 },
    headers: { request: { remove: [ROUTE_HEADER] } },
  };
}

export interface TargetVirtualServiceInput {
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** `namespace/name` of the target Gateway. */
  gateway: string;
  /** `traffic.hosts`: the public hosts. */
  hosts: string[] | undefined;
  service: string;
  port: number;
}

/**
 * When the app has no VirtualService on the source gateway (shift-traffic then creates its split): the target
 * gateway's route to the service, for `traffic.hosts` or `*`. The source forwards requests with their original
 * Host header, so `remoteHost` is not a host here (nothing would match it).
 */
export function buildTargetVirtualService(input: TargetVirtualServiceInput): KubeObject {
  return gatewayVirtualService({ ...input, hosts: input.hosts?.length ? input.hosts : ["*"] });
}

export interface GatewayVirtualServiceInput {
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** `namespace/name` of the ingress Gateway. */
  gateway: string;
  hosts: string[];
  /** A Service in `namespace`, which gets all the traffic. */
  service: string;
  port: number;
}

/** A VirtualService on one gateway that routes all HTTP requests for `hosts` to one Service of its namespace. */
export function gatewayVirtualService(input: GatewayVirtualServiceInput) {
  return {
    apiVersion: input.apiVersion,
    kind: "VirtualService",
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
    spec: {
      hosts: input.hosts,
      gateways: [input.gateway],
      http: [
        {
          route: [
            {
              destination: {
                host: `${input.service}.${input.namespace}.svc.cluster.local`,
                port: { number: input.port },
              },
            },
          ],
        },
      ],
    },
  };
}

/** How long to wait for the target ingress gateway's load balancer to get an external address. */
export const INGRESS_ADDRESS_TIMEOUT_MS = 10 * 60_000;

/** The external address of a LoadBalancer Service: its first ingress IP, else host name. */
export function ingressAddress(service: KubeObject | undefined): string | undefined {
  const status = service?.status as
    { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined;
  for (const ingress of status?.loadBalancer?.ingress ?? []) {
    if (ingress.ip) return ingress.ip;
    if (ingress.hostname) return ingress.hostname;
  }
  return undefined;
}
