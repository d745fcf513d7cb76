import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import type { ClusterPort, KubeObject } from "../../src/providers/kubernetes/port.js";
import type { RecordSet } from "../../src/providers/route53/port.js";
import { createSandboxDns } from "../../src/sandbox/dns/index.js";
import { createZone, recordsOf, startMoto } from "../dns/moto.js";
import { startClusters, type Substrate } from "../support/clusters.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { seed, withSandbox, type TestSandbox } from "../support/sandbox.js";
import { REPO_ROOT } from "../support/fixtures.js";

/** The shipped playbook: Bookinfo to a target that the sandbox provisioner makes, DNS in the sandbox DNS. */
export const SHIPPED_PLAYBOOK = "playbooks/bookinfo-sandbox.yaml";
export const ZONE = "example.com.";
export const RECORD = "bookinfo.example.com.";

/**
 * Where an end-to-end run happens: clusters, the playbook the CLI runs against them, and the DNS service its
 * record lives in. On the sandbox: the shipped playbook, which provisions its target in the sandbox and keeps
 * the record in the sandbox DNS. On a real kube-apiserver: the same playbook with the second real cluster as its
 * target (nothing to provision) and the record in Route 53 (moto_server), since the sandbox DNS is served by
 * the sandbox's own API port.
 */
export interface E2eWorld {
  readonly substrate: Substrate;
  /** The sandbox itself, on that substrate: its request log and the clusters it provisioned. */
  readonly sandbox?: TestSandbox;
  readonly kubeconfigPath: string;
  readonly dir: string;
  /** The playbook file the CLI is given. */
  readonly playbook: string;
  readonly targetContext: string;
  /** Whether the playbook provisions its target (and so the plan starts with provision-cluster). */
  readonly provisions: boolean;
  /** What the CLI needs besides KUBECONFIG (the DNS service's endpoint and credentials). */
  readonly cliEnv: NodeJS.ProcessEnv;
  /** The product's client for a context, read from the kubeconfig as it is now (a provisioning run adds one). */
  client(context: string): ClusterPort;
  kubeConfig(context: string): KubeConfig;
  /** Server-side apply as `kubectl`, as a user's seed would. */
  seed(context: string, objects: KubeObject[]): Promise<void>;
  /** Creates the zone holding `record`. */
  addZone(record: RecordSet): Promise<void>;
  /** The zone's record sets named `name`, as plain values. */
  records(name: string): Promise<RecordSet[]>;
  stop(): Promise<void>;
}

export async function startE2eWorld(substrate: Substrate): Promise<E2eWorld> {
  return substrate === "sandbox" ? sandboxWorld() : realWorld();
}

/** The source's own ingress gateway (Istio's default one) and Bookinfo with its Istio routing. */
export function bookinfoSource(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bookinfo", labels: { "istio-injection": "enabled" } },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "istio-ingressgateway",
        namespace: "istio-system",
        labels: { istio: "ingressgateway" },
      },
      spec: {
        type: "LoadBalancer",
        selector: { istio: "ingressgateway" },
        ports: [{ name: "http2", port: 80, targetPort: 8080 }],
      },
    },
    ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
    ...fixtureObjects("bookinfo/bookinfo-gateway.yaml", "bookinfo"),
  ];
}

async function sandboxWorld(): Promise<E2eWorld> {
  const dns = createSandboxDns({ pendingMs: 200 });
  const env = await withSandbox({
    clusters: ["source"],
    istio: { crdYaml: istioCrdYaml() },
    extensions: [dns],
  });
  let zoneId: string | undefined;
  return {
    substrate: "sandbox",
    sandbox: env,
    kubeconfigPath: env.kubeconfigPath,
    dir: env.dir,
    playbook: SHIPPED_PLAYBOOK,
    targetContext: "bookinfo-target",
    provisions: true,
    cliEnv: {},
    client: (context) => createClusterClient(context, { kubeconfig: env.kubeconfigPath }),
    kubeConfig: (context) => env.kubeConfig(context),
    seed(context, objects) {
      seed(env.cluster(context), objects, "kubectl");
      return Promise.resolve();
    },
    addZone(record) {
      zoneId = dns.addZone({ name: ZONE, records: [record] }).id;
      return Promise.resolve();
    },
    records(name) {
      if (!zoneId) throw new Error("no zone yet");
      return Promise.resolve(dns.recordSets(zoneId).filter((r) => r.name === name));
    },
    stop: () => env.stop(),
  };
}

async function realWorld(): Promise<E2eWorld> {
  const clusters = await startClusters("real kube-apiserver");
  const moto = await startMoto().catch(async (error: unknown) => {
    await clusters.stop();
    throw error;
  });
  const playbook = join(clusters.dir, "bookinfo-real.yaml");
  await writeFile(playbook, await realVariant());
  let zoneId: string | undefined;
  return {
    substrate: "real kube-apiserver",
    kubeconfigPath: clusters.kubeconfigPath,
    dir: clusters.dir,
    playbook,
    targetContext: "target",
    provisions: false,
    cliEnv: {
      AWS_ENDPOINT_URL_ROUTE_53: moto.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
    },
    client: (context) => createClusterClient(context, { kubeconfig: clusters.kubeconfigPath }),
    kubeConfig: (context) => clusters.kubeConfig(context),
    async seed(context, objects) {
      await clusters.seed(context, objects);
    },
    async addZone(record) {
      // A private zone: its answers come from the Route 53 API alone, so the run never asks name servers on the
      // internet about a test record (the cutover's verification says so: not supported).
      const zone = await createZone(
        moto.sdk,
        "bookinfo",
        () => [
          {
            Name: record.name,
            Type: record.type as "A",
            TTL: record.ttl,
            ResourceRecords: (record.values ?? []).map((value) => ({ Value: value })),
          },
        ],
        { name: ZONE, vpc: { VPCRegion: "us-east-1", VPCId: "vpc-0e2e0e2e" } },
      );
      zoneId = zone.id;
    },
    async records(name) {
      if (!zoneId) throw new Error("no zone yet");
      return (await recordsOf(moto.sdk, zoneId))
        .filter((set) => set.Name === name)
        .map((set) => ({
          name: set.Name ?? "",
          type: set.Type ?? "",
          ...(set.TTL === undefined ? {} : { ttl: set.TTL }),
          values: (set.ResourceRecords ?? []).map((r) => r.Value ?? ""),
        }));
    },
    async stop() {
      await moto.stop();
      await clusters.stop();
    },
  };
}

/**
 * The shipped playbook with only what the real substrate cannot do changed: its target is the second real
 * cluster (context `target`, already there: no `provision`), and its record is in Route 53. Everything else
 * (ingress, workloads, traffic steps, DNS record and TTL) is the shipped playbook's, read from it.
 */
async function realVariant(): Promise<string> {
  const document = parse(await readFile(join(REPO_ROOT, SHIPPED_PLAYBOOK), "utf8")) as {
    metadata: { name: string };
    spec: { target: Record<string, unknown>; dns: Record<string, unknown> };
  };
  const { provision: _provision, ...target } = document.spec.target;
  document.spec.target = { ...target, context: "target" };
  document.spec.dns = { ...document.spec.dns, provider: "route53" };
  return stringify(document);
}
