import type { VirtualService } from "./weights.js";

/**
 * The host names under which a VirtualService in `vsNamespace` reaches `service` in `namespace`: Istio resolves
 * a short name relative to the VirtualService's own namespace, so `frontend` counts only there.
 */
export function serviceHosts(service: string, namespace: string, vsNamespace: string | undefined): string[] {
  const qualified = [`${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
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

export function routesToService(vs: VirtualService, hosts: string[]): boolean {
  const set = new Set(hosts);
  return (vs.spec?.http ?? []).some((route) => (route.route ?? []).some((d) => set.has(d.destination.host)));
}
