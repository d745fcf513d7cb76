/**
 * What may differ between two API servers that behave the same, replaced by placeholders before comparing:
 *
 * - uids, resourceVersions, creation and deletion times, managedFields times, condition times: every server
 *   makes its own (only their presence is compared);
 * - continue tokens: opaque by contract (the real server's hold an etcd key, the sandbox's a store key);
 * - Service clusterIPs and nodePorts: allocated at random from each cluster's own range;
 * - the `kube-root-ca.crt` ConfigMap's certificate: each cluster has its own CA.
 *
 * Everything else (status codes, reasons, messages, causes, defaults, generation, finalizers, warnings) is
 * compared as it is.
 */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function normalizeString(value: string): string {
  return value.replace(UUID, "<uid>").replace(TIME, "<time>");
}

function normalizeKey(key: string, value: unknown): unknown {
  const ip = (v: unknown): unknown => (typeof v === "string" && IPV4.test(v) ? "<cluster-ip>" : v);
  switch (key) {
    case "resourceVersion":
      return typeof value === "string" && value !== "" ? "<rv>" : value;
    case "continue":
      return typeof value === "string" && value !== "" ? "<continue>" : value;
    case "clusterIP":
      return typeof value === "string" && IPV4.test(value) ? "<cluster-ip>" : value;
    case "clusterIPs":
      return Array.isArray(value) ? (value as unknown[]).map(ip) : value;
    case "nodePort":
      return typeof value === "number" ? "<node-port>" : value;
    case "ca.crt":
      return typeof value === "string" ? "<ca>" : value;
    default:
      return normalize(value);
  }
}

export function normalize(value: unknown): unknown {
  if (typeof value === "string") return normalizeString(value);
  if (Array.isArray(value)) return value.map((item) => normalize(item));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    // Views leave absent fields undefined: the same as not there.
    for (const [key, child] of Object.entries(value))
      if (child !== undefined) out[key] = normalizeKey(key, child);
    return out;
  }
  return value;
}
