import { stringify } from "yaml";

export interface KubeconfigOptions {
  /**
   * `https` (default) works for kubectl, which sends bearer tokens only over TLS. `http` serves client-node
   * only, but is several times cheaper per request: client-node opens a new connection (and TLS handshake)
   * for every request.
   */
  scheme?: "https" | "http";
}

export interface KubeconfigEntry {
  name: string;
  server: string;
  token: string;
}

/** One context per cluster, named after it, with its bearer token; the first is current. */
export function renderKubeconfig(entries: readonly KubeconfigEntry[]): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: { server: e.server, "insecure-skip-tls-verify": true },
    })),
    users: entries.map((e) => ({ name: e.name, user: { token: e.token } })),
    contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name } })),
    "current-context": entries[0]?.name ?? "",
  });
}
