import type { ClusterPort, KubeObject } from "../../providers/kubernetes/port.js";
import type { RecordSet } from "../../providers/route53/port.js";
import type { SandboxDns } from "../dns/index.js";
import { bookinfo, BOOKINFO_NAMESPACE } from "./bookinfo.js";
import { SOURCE_INGRESS, sourceIngressGateway } from "./ingress.js";
import { onlineBoutique, BOUTIQUE_NAMESPACE } from "./online-boutique.js";

export { SOURCE_INGRESS, sourceIngressGateway } from "./ingress.js";

/** An app `clustershift sandbox --seed` puts on the source cluster, with the playbook that migrates it. */
export interface SeedApp {
  name: string;
  namespace: string;
  objects(): KubeObject[];
  /** The public host name, a record in {@link SEED_ZONE} that points at the source ingress. */
  host: string;
  /** The shipped playbook (relative to the package root) that migrates it on the sandbox. */
  playbook: string;
}

export const SEED_ZONE = "example.com.";
/**
 * The seeded record's TTL: short, so that a rehearsal waits the old TTL out in half a minute, but long enough to
 * see the wait; a real record says 300 or more.
 */
export const SEED_TTL = 30;

export const SEED_APPS: Record<string, SeedApp> = {
  bookinfo: {
    name: "bookinfo",
    namespace: BOOKINFO_NAMESPACE,
    objects: bookinfo,
    host: "bookinfo.example.com",
    playbook: "playbooks/bookinfo-sandbox.yaml",
  },
  "online-boutique": {
    name: "online-boutique",
    namespace: BOUTIQUE_NAMESPACE,
    objects: onlineBoutique,
    host: "shop.example.com",
    playbook: "playbooks/online-boutique-sandbox.yaml",
  },
};

export interface SeededApp {
  app: SeedApp;
  /** The source ingress gateway's load-balancer address, where the record points. */
  ingressAddress: string;
  zoneId: string;
  record: RecordSet;
  objectCount: number;
}

/** How long the sandbox takes at most to give the source ingress its address (it takes a fraction of a second). */
const ADDRESS_TIMEOUT_MS = 30_000;

/**
 * Puts `app` on the source cluster with Istio's ingress gateway in front of it, then a DNS zone whose record
 * points at that gateway's address: the starting point of a rehearsal, as a real source cluster would be.
 */
export async function seedApp(
  app: SeedApp,
  source: ClusterPort,
  dns: SandboxDns,
  signal: AbortSignal,
): Promise<SeededApp> {
  const objects = [...sourceIngressGateway(), ...app.objects()];
  for (const object of objects) {
    signal.throwIfAborted();
    await source.apply(object);
  }
  const ref = {
    apiVersion: "v1",
    kind: "Service",
    namespace: SOURCE_INGRESS.namespace,
    name: SOURCE_INGRESS.service,
  };
  const ingressAddress = await source.waitFor(ref, loadBalancerIp, ADDRESS_TIMEOUT_MS, () =>
    signal.throwIfAborted(),
  );
  const record: RecordSet = { name: `${app.host}.`, type: "A", ttl: SEED_TTL, values: [ingressAddress] };
  const zone = dns.addZone({ name: SEED_ZONE, records: [record] });
  return { app, ingressAddress, zoneId: zone.id, record, objectCount: objects.length };
}

function loadBalancerIp(service: KubeObject | undefined): string | undefined {
  const status = service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined;
  return status?.loadBalancer?.ingress?.[0]?.ip;
}
