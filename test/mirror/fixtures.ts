import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { readFixture } from "../support/sandbox.js";

/** The objects of a multi-document manifest, placed in `namespace` (as `kubectl apply -n` would). */
export function manifests(path: string, namespace: string): KubeObject[] {
  return parseAllDocuments(readFixture(path))
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter(
      (object): object is KubeObject => object !== null && typeof object === "object" && "kind" in object,
    )
    .map((object) => ({ ...object, metadata: { ...object.metadata, namespace } }));
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

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
