/** What the wizard reads from the kubeconfig, the clusters and Route 53 to offer its choices. Plain data. */

export interface ContextInfo {
  name: string;
  /** The API server URL of the context's cluster. */
  server: string;
  current: boolean;
  /** Served by the local sandbox (`clustershift sandbox`), which can add clusters of its own. */
  sandbox: boolean;
}

export interface IngressService {
  namespace: string;
  name: string;
  /** External IP or host name of the load balancer, once it has one. */
  address?: string;
  /** The pods it sends to; an Istio Gateway selecting the same labels runs on them. */
  selector: Record<string, string>;
  ports: number[];
}

export interface GatewayInfo {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  hosts: string[];
}

/** A route destination that is a Service of the cluster. */
export interface ServiceDestination {
  namespace: string;
  service: string;
  port?: number;
}

export interface VirtualServiceInfo {
  namespace: string;
  name: string;
  /** Gateways it is bound to, as `namespace/name`. */
  gateways: string[];
  hosts: string[];
  destinations: ServiceDestination[];
}

export interface HostedZoneInfo {
  id: string;
  /** With the trailing dot, as Route 53 names it. */
  name: string;
  private: boolean;
}

/** A Service reachable from outside the cluster: a second public entry point once mirrored. */
export interface ExposedService {
  namespace: string;
  name: string;
  type: "LoadBalancer" | "NodePort";
  /** External IP or host name of the load balancer, once it has one. */
  address?: string;
  ports: number[];
}

/** A record set the cutover can move: A, AAAA or CNAME with a simple routing policy. */
export interface DnsRecordInfo {
  /** With the trailing dot. */
  name: string;
  type: "A" | "AAAA" | "CNAME";
  ttl?: number;
  /** The values, or the alias target's name. */
  values: string[];
  alias: boolean;
}

export type DnsProvider = "route53" | "sandbox";

export interface WizardDeps {
  contexts(): Promise<ContextInfo[]>;
  /** Every namespace of the context's cluster, sorted. */
  namespaces(context: string): Promise<string[]>;
  /** LoadBalancer Services that front an Istio ingress gateway. */
  ingressServices(context: string): Promise<IngressService[]>;
  /** `networking.istio.io` Gateways at the served version; none when Istio is not installed. */
  gateways(context: string): Promise<GatewayInfo[]>;
  virtualServices(context: string): Promise<VirtualServiceInfo[]>;
  /** The labels of a namespace; undefined when there is no such namespace. */
  namespaceLabels(context: string, name: string): Promise<Record<string, string> | undefined>;
  /** LoadBalancer and NodePort Services of the namespaces, sorted. */
  exposedServices(context: string, namespaces: readonly string[]): Promise<ExposedService[]>;
  /**
   * Zones of the DNS provider: Route 53's of the AWS account, or the sandbox DNS served next to `context`'s API.
   * Rejects, saying why, when there are no usable credentials or the service cannot be reached.
   */
  dnsZones(provider: DnsProvider, context: string): Promise<HostedZoneInfo[]>;
  /** The zone's records that a cutover can move, sorted by name then type. */
  dnsRecords(provider: DnsProvider, context: string, zone: HostedZoneInfo): Promise<DnsRecordInfo[]>;
}
