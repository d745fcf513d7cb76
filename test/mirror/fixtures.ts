import type { KubeObject } from "../../src/providers/kubernetes/port.js";

/** A Secret whose value tests look for in every output. */
export const SECRET_VALUE = "s3cr3t-Pa55w0rd-do-not-print";

export function secret(name: string, ns: string, value = SECRET_VALUE): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    type: "Opaque",
    data: { password: Buffer.from(value).toString("base64"), user: Buffer.from("shop").toString("base64") },
  };
}

/** `+ Deployment shop/web`, `~ … (spec.replicas)`, `= …`: the plan as the renderer shows it. */
export function planLines(
  changes: readonly { action: string; address: string; detail?: string }[],
): string[] {
  const symbol: Record<string, string> = { create: "+", update: "~", delete: "-", wait: "=", "no-op": "=" };
  return changes.map((c) => `${symbol[c.action] ?? "?"} ${c.address}${c.detail ? ` (${c.detail})` : ""}`);
}
