import type { ShareGate } from "../../engine/gates/share.js";
import type { ObserveSpec, TrafficSpec } from "../../playbook/schema.js";
import { qualifiedHost } from "./route-table.js";
import type { VirtualService } from "./weights.js";

/** `namespace` and `service` of the source ingress gateway: its Deployment reports as `source_workload`. */
export interface GatewayWorkload {
  namespace: string;
  service: string;
}

/**
 * The observed-share gate of a weight step: the rate of the source gateway's requests to the remote host, over
 * the rate of its requests to every host of the shifted routes (the remote and the local destinations). Envoy in
 * an ingress gateway reports as `reporter="source"` with itself as `source_workload`, and `destination_service`
 * is the ServiceEntry host for the remote and the Service's FQDN for a local destination.
 */
export function shareGate(
  observe: ObserveSpec,
  traffic: Pick<TrafficSpec, "remoteHost">,
  weight: number,
  gateway: GatewayWorkload,
  shifted: readonly VirtualService[],
): ShareGate {
  const from = `reporter="source",source_workload="${gateway.service}",source_workload_namespace="${gateway.namespace}"`;
  const hosts = [traffic.remoteHost, ...shiftedHosts(shifted, traffic.remoteHost)];
  const rate = (matcher: string) => `sum(rate(istio_requests_total{${from},${matcher}}[${observe.window}]))`;
  return {
    type: "share",
    weight,
    prometheus: observe.prometheus,
    tolerance: observe.tolerance,
    interval: observe.interval,
    timeout: observe.timeout,
    remoteQuery: observe.remoteQuery ?? rate(`destination_service="${traffic.remoteHost}"`),
    totalQuery: observe.totalQuery ?? rate(`destination_service=~"${hosts.map(escapeRegex).join("|")}"`),
  };
}

/** FQDNs of the local destinations of the routes that send (or will send) a share to `remoteHost`, sorted. */
export function shiftedHosts(virtualServices: readonly VirtualService[], remoteHost: string): string[] {
  const hosts = new Set<string>();
  for (const vs of virtualServices) {
    const namespace = vs.metadata.namespace ?? "default";
    for (const route of vs.spec?.http ?? []) {
      const destinations = route.route ?? [];
      if (!destinations.some((d) => d.destination.host === remoteHost)) continue;
      for (const { destination } of destinations) {
        if (destination.host !== remoteHost) hosts.add(qualifiedHost(destination.host, namespace));
      }
    }
  }
  return [...hosts].sort();
}

/**
 * RE2 (PromQL's regex) metacharacters escaped, host names hold dots; then each backslash doubled, for the
 * double-quoted PromQL string the regex is written in (`"a\\.b"`).
 */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("\\", "\\\\");
}
