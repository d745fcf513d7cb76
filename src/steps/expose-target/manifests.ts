import { isIP } from "node:net";
import { KNOWN_AFTER_APPLY } from "../../engine/types.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";

/**
 * Names of what expose-target creates, in `traffic.namespace`:
 * - on the source, ServiceEntry `clustershift-<service>-remote`: the target cluster as seen from the source mesh;
 * - on the target, VirtualService `clustershift-<service>-ingress`: the target gateway's route to the service.
 */
export function exposeNames(service: string): { serviceEntry: string; virtualService: string } {
  return {
    serviceEntry: `clustershift-${service}-remote`,
    virtualService: `clustershift-${service}-ingress`,
  };
}

export interface ServiceEntryInput {
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  remoteHost: string;
  port: number;
  /** The target ingress gateway's external IP or host name; KNOWN_AFTER_APPLY while it has none. */
  address: string;
}

/**
 * Google's canary-cluster ServiceEntry: `remoteHost` is MESH_EXTERNAL, served at the target ingress address —
 * STATIC with the IP as endpoint, or DNS for a load balancer that has a host name (AWS ELB).
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
      location: "MESH_EXTERNAL",
      ports: [{ number: input.port, name: "http", protocol: "HTTP" }],
      resolution,
      endpoints: [{ address: input.address }],
    },
  };
}

export interface TargetVirtualServiceInput {
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** `namespace/name` of the target ingress Gateway. */
  gateway: string;
  remoteHost: string;
  /** `traffic.hosts`: the public hosts. */
  hosts: string[] | undefined;
  service: string;
  port: number;
}

/**
 * The target gateway's route to the migrated service. The source gateway forwards requests with their original
 * Host header (Envoy does not rewrite it for a weighted destination), so besides `remoteHost` the target must
 * accept the public hosts: `traffic.hosts`, or `*` without them, as in Google's guide.
 */
export function buildTargetVirtualService(input: TargetVirtualServiceInput): KubeObject {
  const hosts = [input.remoteHost, ...(input.hosts?.length ? input.hosts : ["*"])];
  return gatewayVirtualService({ ...input, hosts: [...new Set(hosts)] });
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
