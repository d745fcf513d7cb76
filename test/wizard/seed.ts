import { afterAll, beforeAll } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { createSandboxDns, type SandboxDns } from "../../src/sandbox/dns/index.js";
import type { Sandbox } from "../../src/sandbox/index.js";
import { startMoto, type Moto } from "../dns/moto.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { namespaceObject, seed, withSandbox } from "../support/sandbox.js";

export interface SeededSandbox {
  sandbox: Sandbox;
  /** The sandbox DNS: zone example.com. with shop.example.com. A and www.example.com. CNAME. */
  dns: SandboxDns;
  /** A directory of the test's own, with the sandbox's kubeconfig in it. */
  dir: string;
  kubeconfig: string;
  stop(): Promise<void>;
}

/** What `istioctl install` leaves in istio-system that the wizard looks for: the LoadBalancer in front of the gateway. */
export const ISTIO_INGRESS: KubeObject = {
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

/**
 * Source: Online Boutique in `onlineboutique` behind Istio's ingress gateway, with its Gateway and VirtualServices
 * (Google's istio-manifests). Target: the ASM ingress gateway of Google's migration guide in `asm-ingress`.
 * DNS: the sandbox's, with the zone example.com.
 */
export async function seededSandbox(): Promise<SeededSandbox> {
  const dns = createSandboxDns({
    pendingMs: 10,
    zones: [
      {
        name: "example.com.",
        records: [
          { name: "shop.example.com.", type: "A", ttl: 300, values: ["198.51.100.10"] },
          { name: "www.example.com.", type: "CNAME", ttl: 300, values: ["shop.example.com."] },
        ],
      },
    ],
  });
  const env = await withSandbox({
    clusters: ["source", "target"],
    istio: { crdYaml: istioCrdYaml() },
    loadBalancerDelayMs: 10,
    readyDelayMs: 10,
    // The sandbox DNS, for playbooks that cut `shop.example.com` over with `provider: sandbox`.
    extensions: [dns],
  });
  try {
    const shop = "onlineboutique";
    seed(env.cluster("source"), [
      namespaceObject(shop, { "istio-injection": "enabled" }),
      namespaceObject("istio-system"),
      ISTIO_INGRESS,
      ...fixtureObjects("online-boutique/kubernetes-manifests.yaml", shop),
      ...fixtureObjects("online-boutique/frontend-gateway.yaml", shop),
      ...fixtureObjects("online-boutique/frontend.yaml", shop),
    ]);
    const asm = fixtureObjects(
      "asm/shared__asm-ingress-gateway__asm-gateway-deployment-svc.yaml",
      "asm-ingress",
    );
    seed(env.cluster("target"), [
      namespaceObject("asm-ingress"),
      ...asm.filter((object) => object.kind === "Service"),
      ...fixtureObjects("asm/shared__asm-ingress-gateway__gateway.yaml"),
    ]);
    return {
      sandbox: env.sandbox,
      dns,
      dir: env.dir,
      kubeconfig: env.kubeconfigPath,
      stop: () => env.stop(),
    };
  } catch (error) {
    await env.stop();
    throw error;
  }
}

export interface WizardWorld {
  /** The seeded sandbox. */
  world: SeededSandbox;
  moto: Moto;
}

/**
 * The seeded sandbox and moto for the file's tests, with the AWS SDK pointed at moto through the environment;
 * the environment is put back after them. The fields are set once the file's first hook ran.
 */
export function useWizardWorld(): WizardWorld {
  const env = {} as WizardWorld;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    // moto's own SDK client would print the SDK's Node 20 deprecation warning into the test output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    [env.world, env.moto] = await Promise.all([seededSandbox(), startMoto()]);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_ROUTE_53: env.moto.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([env.world?.stop(), env.moto?.stop()]);
  });
  return env;
}
