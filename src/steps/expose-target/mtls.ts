import type { KubeObject } from "../../providers/kubernetes/port.js";
import { addressOf } from "./istio.js";

/**
 * The mesh's root namespace (meshConfig.rootNamespace), Istio's default: a DestinationRule there applies to the
 * whole mesh.
 */
export const ROOT_NAMESPACE = "istio-system";

interface TlsSettings {
  mode?: string;
}

interface DestinationRuleSpec {
  host?: string;
  exportTo?: string[];
  workloadSelector?: unknown;
  trafficPolicy?: {
    tls?: TlsSettings;
    portLevelSettings?: { port?: { number?: number }; tls?: TlsSettings }[];
  };
}

export interface RemoteTlsInput {
  remoteHost: string;
  /** The ServiceEntry's port: port-level TLS settings for it win over the rule's own. */
  port: number;
  /** Where the source gateway's proxies run (`source.ingress.namespace`): the client namespace Istio looks from. */
  gatewayNamespace: string;
  /** The ServiceEntry's namespace: Istio looks there second, for rules exported to the client. */
  serviceNamespace: string;
  /** The source's DestinationRules, clustershift's own left out. */
  destinationRules: readonly KubeObject[];
  /** The source's PeerAuthentications. */
  peerAuthentications: readonly KubeObject[];
}

export interface RemoteTlsDecision {
  /** Whether the remote host needs clustershift's DestinationRule with `tls.mode: DISABLE`. */
  disable: boolean;
  /** Which rule decided and why, for the plan. */
  detail: string;
}

/**
 * Whether the source gateway would wrap requests for `remoteHost` in TLS the target ingress's HTTP server cannot
 * read. The DestinationRule Istio applies is found as pilot does (PushContext.destinationRule): the client's own
 * namespace (in the root namespace only its private rules), then rules exported from the service's namespace, then
 * from the root namespace; in each, the most specific host. A PeerAuthentication decides nothing here: it says
 * what workloads accept, and Istio's auto mTLS never applies to a MESH_EXTERNAL host (cluster_tls.go,
 * buildUpstreamTLSSettings), so without a DestinationRule the gateway sends plain HTTP.
 */
export function remoteTls(input: RemoteTlsInput): RemoteTlsDecision {
  const rule = applicableRule(input);
  const mode = rule && tlsMode(rule, input.port);
  if (rule && mode && mode !== "DISABLE") {
    const host = (rule.spec as DestinationRuleSpec).host;
    return {
      disable: true,
      detail:
        `${addressOf(rule)} (host "${host}") would make the source gateway send ${mode} to the target's plain ` +
        `HTTP server; this rule, in the gateway's namespace ${input.gatewayNamespace} (where Istio looks first), wins`,
    };
  }
  const strict = input.peerAuthentications.find(
    (pa) =>
      pa.metadata.namespace === ROOT_NAMESPACE &&
      !(pa.spec as { selector?: unknown } | undefined)?.selector &&
      (pa.spec as { mtls?: { mode?: string } } | undefined)?.mtls?.mode === "STRICT",
  );
  const why = rule
    ? `${addressOf(rule)} sets tls.mode ${mode ?? "none"} for it`
    : "no DestinationRule sets TLS for it";
  return {
    disable: false,
    detail:
      `plain HTTP, no DestinationRule needed: ${why}` +
      (strict
        ? `; ${addressOf(strict)} (mesh-wide STRICT) says what the source's workloads accept, not what the ` +
          "gateway sends to a MESH_EXTERNAL host (Istio's auto mTLS skips those)"
        : ""),
  };
}

function tlsMode(rule: KubeObject, port: number): string | undefined {
  const policy = (rule.spec as DestinationRuleSpec).trafficPolicy;
  const portLevel = policy?.portLevelSettings?.find((s) => s.port?.number === port)?.tls?.mode;
  return portLevel ?? policy?.tls?.mode;
}

function applicableRule(input: RemoteTlsInput): KubeObject | undefined {
  const rules = input.destinationRules.filter((r) => !(r.spec as DestinationRuleSpec).workloadSelector);
  const exportTo = (r: KubeObject) => (r.spec as DestinationRuleSpec).exportTo ?? [];
  const privateOnly = (r: KubeObject) => {
    const to = exportTo(r);
    return to.length === 1 && (to[0] === "." || to[0] === r.metadata.namespace);
  };
  const visibleTo = (r: KubeObject, ns: string) => {
    const to = exportTo(r);
    return to.length === 0 || to.includes("*") || to.includes(ns);
  };
  const client = input.gatewayNamespace;
  const local =
    client === ROOT_NAMESPACE
      ? rules.filter((r) => r.metadata.namespace === ROOT_NAMESPACE && privateOnly(r))
      : rules.filter((r) => r.metadata.namespace === client);
  const exportedFrom = (ns: string) =>
    rules.filter((r) => r.metadata.namespace === ns && !privateOnly(r) && visibleTo(r, client));
  for (const candidates of [local, exportedFrom(input.serviceNamespace), exportedFrom(ROOT_NAMESPACE)]) {
    const found = mostSpecific(candidates, input.remoteHost);
    if (found) return found;
  }
  return undefined;
}

/** The rule whose host names `host` most specifically: itself, else the longest matching wildcard. */
function mostSpecific(rules: readonly KubeObject[], host: string): KubeObject | undefined {
  const hostOf = (r: KubeObject) => qualify((r.spec as DestinationRuleSpec).host ?? "", r);
  const exact = rules.find((r) => hostOf(r) === host);
  if (exact) return exact;
  return rules
    .filter((r) => {
      const h = hostOf(r);
      return h === "*" || (h.startsWith("*.") && host.endsWith(h.slice(1)));
    })
    .sort((a, b) => hostOf(b).length - hostOf(a).length)[0];
}

function qualify(host: string, rule: KubeObject): string {
  return host.includes(".") || host.includes("*")
    ? host
    : `${host}.${rule.metadata.namespace ?? "default"}.svc.cluster.local`;
}
