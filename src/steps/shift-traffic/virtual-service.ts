import { gatewayVirtualService } from "../expose-target/manifests.js";
import type { VirtualService } from "./weights.js";

/**
 * The host names under which a VirtualService in `vsNamespace` reaches `service` in `namespace`: Istio resolves
 * a short name relative to the VirtualService's own namespace, so `frontend` counts only there.
 */
export function serviceHosts(service: string, namespace: string, vsNamespace: string | undefined): string[] {
  const qualified = [
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
  return vsNamespace === namespace ? [service, ...qualified] : qualified;
}

/** `namespace/name` of a gateway reference as Istio reads it: `name`, `ns/name`, or the old `name.ns.svc.cluster.local`. */
export function resolveGateway(ref: string, vsNamespace: string | undefined): string {
  if (ref.includes("/")) return ref;
  const [name, namespace] = ref.split(".");
  if (namespace) return `${namespace}/${name}`;
  return `${vsNamespace ?? "default"}/${ref}`;
}

export function boundToGateway(vs: VirtualService, gateway: string): boolean {
  return (vs.spec?.gateways ?? []).some((ref) => resolveGateway(ref, vs.metadata.namespace) === gateway);
}

export interface SplitVirtualServiceInput {
  apiVersion: string;
  namespace: string;
  service: string;
  port: number;
  /** `namespace/name` of the source ingress Gateway. */
  gateway: string;
  /** `traffic.hosts`, else `*`. */
  hosts: string[] | undefined;
  labels: Record<string, string>;
}

/**
 * The VirtualService shift-traffic creates when none bound to the source gateway routes to the service:
 * `clustershift-<service>-split`, all of the service's traffic local before the first weight is set.
 */
export function newSplitVirtualService(input: SplitVirtualServiceInput): VirtualService {
  return gatewayVirtualService({
    ...input,
    name: `clustershift-${input.service}-split`,
    hosts: input.hosts?.length ? input.hosts : ["*"],
  });
}
