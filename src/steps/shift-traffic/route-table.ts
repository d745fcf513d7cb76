import { isDeepStrictEqual } from "node:util";
import type { ChangeEntry } from "../../engine/types.js";
import type { KubeObject } from "../../providers/kubernetes/port.js";
import { addressOf, imageOf } from "../expose-target/istio.js";
import { boundToGateway } from "./virtual-service.js";
import { apportion, type HttpRoute, type VirtualService } from "./weights.js";

/** clustershift's own objects carry this label; the app's route table is never read from them. */
const MANAGED_BY = "app.kubernetes.io/managed-by";

export function isClustershifts(object: KubeObject): boolean {
  return object.metadata.labels?.[MANAGED_BY] === "clustershift";
}

/** Whether a VirtualService host (exact, `*`, or `*.suffix`) and a public host can name the same request. */
function hostsOverlap(a: string, b: string): boolean {
  const covers = (pattern: string, host: string) =>
    pattern === "*" || pattern === host || (pattern.startsWith("*.") && host.endsWith(pattern.slice(1)));
  return covers(a, b) || covers(b, a);
}

/** A VirtualService serves the public hosts when one of its hosts overlaps one of them; any, without them. */
export function servesHosts(vs: VirtualService, hosts: readonly string[] | undefined): boolean {
  if (!hosts?.length) return true;
  return (vs.spec?.hosts ?? []).some((h) => hosts.some((p) => hostsOverlap(h, p)));
}

/**
 * The app's own VirtualServices on the source gateway for the public hosts, by address: the route table that
 * moves. clustershift's own (the split it creates when there is none) are left out.
 */
export function appVirtualServices(
  all: readonly KubeObject[],
  gateway: string,
  hosts: readonly string[] | undefined,
): VirtualService[] {
  return (all as VirtualService[])
    .filter((vs) => !isClustershifts(vs) && boundToGateway(vs, gateway) && servesHosts(vs, hosts))
    .sort((a, b) => addressOf(a).localeCompare(addressOf(b)));
}

/**
 * A source VirtualService as the app had it before shift-traffic changed it: the first before-image this run
 * journaled for it, else the live one with the remote destinations taken out (each route's local weights then
 * made whole again in proportion, evenly where they were all 0, as at weight 100).
 */
export function unshifted(
  vs: VirtualService,
  remoteHost: string,
  journaled: readonly ChangeEntry[] = [],
): VirtualService {
  const image = imageOf(vs) as VirtualService;
  const entry = journaled.find((e) => {
    const target = e.target;
    return (
      e.kind === "shift-traffic" &&
      e.action === "update" &&
      target?.type === "kube.object" &&
      target.kind === "VirtualService" &&
      target.namespace === vs.metadata.namespace &&
      target.name === vs.metadata.name
    );
  });
  if (entry?.before) return imageOf(entry.before as KubeObject);
  const next = structuredClone(image);
  for (const route of next.spec?.http ?? []) {
    const destinations = route.route ?? [];
    const kept = destinations.filter((d) => d.destination.host !== remoteHost);
    if (kept.length === destinations.length) continue;
    route.route = kept;
    if (kept.length === 1) delete (kept[0] as { weight?: number }).weight;
    else if (kept.length > 1) {
      const weights = apportion(
        100,
        kept.map((d) => d.weight ?? 0),
      );
      kept.forEach((d, i) => (d.weight = weights[i] ?? 0));
    }
  }
  return isDeepStrictEqual(next, image) ? image : next;
}

/** `name` → `name.<namespace>.svc.cluster.local`, as Istio reads a short host; names with a dot are left as they are. */
export function qualifiedHost(host: string, namespace: string): string {
  return host.includes(".") || host.includes("*") ? host : `${host}.${namespace}.svc.cluster.local`;
}

/**
 * An HTTP route of the source gateway as the target gateway serves it: the same matches, rewrites, redirects,
 * headers, retries, timeouts, fault and mirror settings; every destination (and mirror) host resolved to the
 * FQDN of the mirrored Service, since the target VirtualService may not live where a short name meant it.
 */
export function targetRoute(route: HttpRoute, namespace: string): HttpRoute {
  const next = structuredClone(route) as HttpRoute & {
    mirror?: { host: string };
    mirrors?: { destination: { host: string } }[];
  };
  for (const d of next.route ?? []) d.destination.host = qualifiedHost(d.destination.host, namespace);
  if (next.mirror) next.mirror.host = qualifiedHost(next.mirror.host, namespace);
  for (const m of next.mirrors ?? []) m.destination.host = qualifiedHost(m.destination.host, namespace);
  return next;
}
