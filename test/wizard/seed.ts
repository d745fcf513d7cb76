import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { createSandboxDns } from "../../src/sandbox/dns/index.js";
import { startSandbox, type Sandbox, type SandboxCluster } from "../../src/sandbox/index.js";

export const ROOT = resolve(import.meta.dirname, "../..");
import { FIXTURES } from "../support/fixtures.js";

export interface SeededSandbox {
  sandbox: Sandbox;
  /** A directory of the test's own, with the sandbox's kubeconfig in it. */
  dir: string;
  kubeconfig: string;
  stop(): Promise<void>;
}

async function manifests(file: string): Promise<KubeObject[]> {
  const text = await readFile(resolve(FIXTURES, file), "utf8");
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

function into(namespace: string, objects: KubeObject[]): KubeObject[] {
  return objects.map((object) => ({ ...object, metadata: { ...object.metadata, namespace } }));
}

function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

/** What `istioctl install` leaves in istio-system that the wizard looks for: the LoadBalancer in front of the gateway. */
const ISTIO_INGRESS: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: "istio-ingressgateway",
    namespace: "istio-system",
    labels: { app: "istio-ingressgateway", istio: "ingressgateway" },
  },
  spec: {
    type: "LoadBalancer",
    selector: { app: "istio-ingressgateway", istio: "ingressgateway" },
    ports: [
      { name: "http2", port: 80, targetPort: 8080 },
      { name: "https", port: 443, targetPort: 8443 },
    ],
  },
};

function applyAll(cluster: SandboxCluster, objects: KubeObject[]): void {
  for (const object of objects) cluster.apply(object);
}

/**
 * Source: Online Boutique in `onlineboutique` behind Istio's ingress gateway, with its Gateway and VirtualServices
 * (Google's istio-manifests). Target: the ASM ingress gateway of Google's migration guide in `asm-ingress`.
 * DNS: the sandbox's, with the zone example.com.
 */
export async function seededSandbox(): Promise<SeededSandbox> {
  const sandbox = await startSandbox({
    clusters: ["source", "target"],
    istio: { crdYaml: await readFile(resolve(FIXTURES, "istio/crd-all.gen.yaml"), "utf8") },
    loadBalancerDelayMs: 10,
    readyDelayMs: 10,
    // The sandbox DNS, for playbooks that cut `shop.example.com` over with `provider: sandbox`.
    extensions: [
      createSandboxDns({
        pendingMs: 10,
        zones: [
          {
            name: "example.com.",
            records: [{ name: "shop.example.com.", type: "A", ttl: 300, values: ["198.51.100.10"] }],
          },
        ],
      }),
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "clustershift-wizard-"));
  try {
    const source = sandbox.clusters.get("source") as SandboxCluster;
    const target = sandbox.clusters.get("target") as SandboxCluster;
    applyAll(source, [
      namespace("onlineboutique", { "istio-injection": "enabled" }),
      namespace("istio-system"),
      ISTIO_INGRESS,
    ]);
    applyAll(source, into("onlineboutique", await manifests("online-boutique/kubernetes-manifests.yaml")));
    applyAll(source, into("onlineboutique", await manifests("online-boutique/frontend-gateway.yaml")));
    applyAll(source, into("onlineboutique", await manifests("online-boutique/frontend.yaml")));

    const asm = (await manifests("asm/shared__asm-ingress-gateway__asm-gateway-deployment-svc.yaml")).filter(
      (object) => object.kind === "Service",
    );
    applyAll(target, [namespace("asm-ingress"), ...into("asm-ingress", asm)]);
    applyAll(target, await manifests("asm/shared__asm-ingress-gateway__gateway.yaml"));

    const kubeconfig = join(dir, "kubeconfig");
    await sandbox.writeKubeconfig(kubeconfig);
    return {
      sandbox,
      dir,
      kubeconfig,
      async stop() {
        await sandbox.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
