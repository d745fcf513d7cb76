import { UsageError } from "../../engine/errors.js";
import type { TrafficSpec } from "../../playbook/schema.js";
import type { ClusterPort } from "../../providers/kubernetes/port.js";

/**
 * `traffic.service` must be a Service of the source with `traffic.port`: it names clustershift's objects, its port
 * is the ServiceEntry's, and a typo must not become a new `clustershift-<typo>-split` VirtualService routing to
 * nothing. Checked while planning, before any write.
 */
export async function requireSourceService(
  source: ClusterPort,
  traffic: Pick<TrafficSpec, "namespace" | "service" | "port">,
): Promise<void> {
  const { namespace, service, port } = traffic;
  const found = await source.get({ apiVersion: "v1", kind: "Service", namespace, name: service });
  if (!found) {
    const line = `spec.traffic.service: Service "${service}" not found in namespace "${namespace}" on context "${source.context}"`;
    throw new UsageError(line, [line]);
  }
  const ports = ((found.spec as { ports?: { port: number }[] } | undefined)?.ports ?? []).map((p) => p.port);
  if (!ports.includes(port)) {
    const line =
      `spec.traffic.port: Service "${service}" in namespace "${namespace}" on context "${source.context}" ` +
      `has no port ${port} (its ports: ${ports.join(", ") || "none"})`;
    throw new UsageError(line, [line]);
  }
}
