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

export interface WizardDeps {
  contexts(): Promise<ContextInfo[]>;
  /** Every namespace of the context's cluster, sorted. */
  namespaces(context: string): Promise<string[]>;
  /** LoadBalancer Services that front an Istio ingress gateway. */
  ingressServices(context: string): Promise<IngressService[]>;
  /** `networking.istio.io` Gateways at the served version; none when Istio is not installed. */
  gateways(context: string): Promise<GatewayInfo[]>;
  virtualServices(context: string): Promise<VirtualServiceInfo[]>;
  /** Hosted zones of the AWS account; rejects when there are no usable credentials or Route 53 cannot be reached. */
  hostedZones(): Promise<HostedZoneInfo[]>;
}
