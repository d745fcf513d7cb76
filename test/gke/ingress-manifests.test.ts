import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { ingressGatewayManifests } from "../../src/steps/install-ingress-gateway/index.js";

import { FIXTURES as SHARED } from "../support/fixtures.js";

const FIXTURES = path.resolve(SHARED, "asm");

const generated = ingressGatewayManifests({
  namespace: "asm-ingress",
  service: "asm-ingressgateway",
  gateway: { namespace: "asm-ingress", name: "asm-ingressgateway" },
  revision: "asm-managed",
  istioApiVersion: "networking.istio.io/v1",
  labels: { "app.kubernetes.io/managed-by": "clustershift", "clustershift.dev/playbook": "to-csm" },
});

async function fixture(name: string): Promise<KubeObject[]> {
  const text = await readFile(path.join(FIXTURES, name), "utf8");
  return parseAllDocuments(text).map((doc) => doc.toJSON() as KubeObject);
}

/** The value at a dotted path of the object of `kind` (`[0]` for list items). */
function at(objects: KubeObject[], kind: string, dotted: string): unknown {
  let value: unknown = objects.find((o) => o.kind === kind);
  for (const key of dotted.split(".")) {
    const index = /^\[(\d+)\]$/.exec(key);
    value = index ? (value as unknown[])[Number(index[1])] : (value as Record<string, unknown>)[key];
  }
  return value;
}

describe("ingress gateway manifests", () => {
  it("Given the guide's names, When generated, Then they match the golden file", async () => {
    await expect(generated.map((o) => stringify(o)).join("---\n")).toMatchFileSnapshot(
      "__golden__/asm-ingress-gateway.yaml",
    );
  });

  it("Given Google's asm-ingress-gateway manifests, When compared, Then the Deployment is injected the same way and the Gateway serves the same", async () => {
    const google = await fixture("shared__asm-ingress-gateway__asm-gateway-deployment-svc.yaml");
    const gateway = await fixture("shared__asm-ingress-gateway__gateway.yaml");
    const pod = "spec.template";

    expect(at(generated, "Deployment", `${pod}.metadata.annotations`)).toEqual(
      at(google, "Deployment", `${pod}.metadata.annotations`),
    );
    expect(at(generated, "Deployment", `${pod}.spec.containers.[0]`)).toMatchObject(
      at(google, "Deployment", `${pod}.spec.containers.[0]`) as object,
    );
    expect(at(generated, "Deployment", `${pod}.spec.serviceAccountName`)).toBe(
      at(google, "Deployment", `${pod}.spec.serviceAccountName`),
    );
    expect(at(generated, "Deployment", "spec.replicas")).toBe(at(google, "Deployment", "spec.replicas"));
    expect(at(generated, "Service", "spec.type")).toBe("LoadBalancer");
    expect(at(generated, "Service", "spec.ports")).toContainEqual(
      expect.objectContaining({ port: 80, targetPort: 8080 }),
    );
    expect(at(generated, "Gateway", "spec.servers")).toEqual(at(gateway, "Gateway", "spec.servers"));
  });

  it("Given a revision, When generated, Then the namespace carries istio.io/rev and selectors agree", () => {
    const selector = at(generated, "Deployment", "spec.selector.matchLabels");

    expect(at(generated, "Namespace", "metadata.labels")).toMatchObject({ "istio.io/rev": "asm-managed" });
    expect(at(generated, "Service", "spec.selector")).toEqual(selector);
    expect(at(generated, "Gateway", "spec.selector")).toEqual(selector);
    expect(at(generated, "Deployment", "spec.template.metadata.labels")).toMatchObject(selector as object);
  });

  it("Given Google's asm-ingress sample, When generated, Then the pods carry the sample's own asm label and not Istio's default istio: ingressgateway, which the apps' source Gateways select", async () => {
    const google = await fixture("shared__asm-ingress-gateway__asm-gateway-deployment-svc.yaml");
    const podLabels = at(generated, "Deployment", "spec.template.metadata.labels") as Record<string, string>;

    expect(podLabels).toMatchObject(at(google, "Deployment", "spec.template.metadata.labels") as object);
    expect(podLabels.istio).toBeUndefined();
    expect(at(generated, "Gateway", "spec.selector")).toEqual({
      app: "asm-ingressgateway",
      asm: "ingressgateway",
    });
  });
});
