import type { KubeObject } from "../../providers/kubernetes/port.js";

/** Where the source's gateway must dial the target ingress so that the target Gateway's HTTP server answers. */
export interface TargetIngressPort {
  /** The port of the target ingress Service (what the load balancer exposes): the ServiceEntry endpoint port. */
  servicePort: number;
  /** The port of the target Gateway's HTTP server, as written in the Gateway. */
  gatewayPort: number;
  /** For the plan: which server and which Service port, and Istio's rule that ties them. */
  detail: string;
}

interface GatewayServer {
  port?: { number?: number; name?: string; protocol?: string };
  hosts?: string[];
}

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

/** The first plain-HTTP server of a Gateway (HTTPS and TLS servers expect a TLS client, which the source is not). */
export function httpServer(gateway: KubeObject): GatewayServer | undefined {
  const servers = ((gateway.spec as { servers?: GatewayServer[] } | undefined)?.servers ?? []).filter(
    (server) => server.port?.protocol?.toUpperCase() === "HTTP" && typeof server.port.number === "number",
  );
  return servers[0];
}

/**
 * The target ingress Service port that reaches the Gateway's HTTP server, by Istio's own rule
 * (pilot/pkg/model/gateway.go resolvePorts): a Gateway port equal to a port of the gateway's Service is listened
 * on at that Service port's targetPort, so the load balancer reaches it at that Service port; a Gateway port that
 * is no Service port is listened on as written, so it is reached at the Service port whose targetPort it is.
 */
export function targetIngressPort(gateway: KubeObject, service: KubeObject): TargetIngressPort | string {
  const server = httpServer(gateway);
  const gatewayName = `${gateway.metadata.namespace}/${gateway.metadata.name}`;
  const serviceName = `${service.metadata.namespace}/${service.metadata.name}`;
  if (!server?.port?.number) return `Gateway ${gatewayName} has no HTTP server`;
  const gatewayPort = server.port.number;
  const ports = (service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? [];
  const byPort = ports.find((p) => p.port === gatewayPort);
  if (byPort) {
    return {
      servicePort: byPort.port,
      gatewayPort,
      detail:
        `port ${byPort.port}: Gateway ${gatewayName} serves HTTP on ${gatewayPort}, ` +
        `Service ${serviceName} port ${byPort.port} → ${String(byPort.targetPort ?? byPort.port)}`,
    };
  }
  const byTarget = ports.find((p) => p.targetPort === gatewayPort);
  if (byTarget) {
    return {
      servicePort: byTarget.port,
      gatewayPort,
      detail:
        `port ${byTarget.port}: Gateway ${gatewayName} serves HTTP on ${gatewayPort}, ` +
        `Service ${serviceName} port ${byTarget.port} → ${gatewayPort}`,
    };
  }
  const listed = ports.map((p) => `${p.port}→${String(p.targetPort ?? p.port)}`).join(", ") || "none";
  return (
    `Gateway ${gatewayName} serves HTTP on ${gatewayPort}, but Service ${serviceName} has no port ${gatewayPort} ` +
    `and no port with targetPort ${gatewayPort} (its ports: ${listed})`
  );
}
