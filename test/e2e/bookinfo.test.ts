import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster } from "../../src/providers/kubernetes/index.js";
import type { ClusterPort, KubeObject } from "../../src/providers/kubernetes/port.js";
import type { RecordSet } from "../../src/providers/route53/port.js";
import { createSandboxDns, type SandboxDns } from "../../src/sandbox/dns/index.js";
import { runCli } from "../support/cli.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";

const PLAYBOOK = "playbooks/bookinfo-sandbox.yaml";
const RECORD = "bookinfo.example.com.";
const VS = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  namespace: "bookinfo",
  name: "bookinfo",
};
const SERVICE_ENTRY = {
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  namespace: "bookinfo",
  name: "clustershift-productpage-remote",
};

const sourceIngress: KubeObject[] = [
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
];

describe("clustershift apply of playbooks/bookinfo-sandbox.yaml against the sandbox, then rollback", () => {
  let env: TestSandbox;
  let dns: SandboxDns;
  let zoneId: string;
  let source: ClusterPort;
  let stateDir: string;
  let originalVs: KubeObject | undefined;
  let originalRecord: RecordSet;
  const cli = (args: string[]) =>
    runCli([...args, "-f", PLAYBOOK, "--state-dir", stateDir], { env: { KUBECONFIG: env.kubeconfigPath } });
  const clientsFor = () => ({
    clients: new Map<string, unknown>(),
    options: { kubeconfig: env.kubeconfigPath } as never,
  });

  beforeAll(async () => {
    dns = createSandboxDns({ pendingMs: 200 });
    env = await withSandbox({ clusters: ["source"], istio: { crdYaml: istioCrdYaml() }, extensions: [dns] });
    stateDir = join(env.dir, "state");
    source = cluster(clientsFor(), "source");
    await source.apply({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bookinfo", labels: { "istio-injection": "enabled" } },
    });
    for (const object of [
      ...sourceIngress,
      ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
      ...fixtureObjects("bookinfo/bookinfo-gateway.yaml", "bookinfo"),
    ]) {
      await source.apply(object);
    }
    const ingressIp = await source.waitFor(
      { apiVersion: "v1", kind: "Service", namespace: "istio-system", name: "istio-ingressgateway" },
      (s) =>
        (s?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
          ?.ingress?.[0]?.ip,
      10_000,
      () => undefined,
    );
    originalRecord = { name: RECORD, type: "A", ttl: 6, values: [ingressIp] };
    zoneId = dns.addZone({ name: "example.com.", records: [originalRecord] }).id;
    originalVs = await source.get(VS);
  });

  afterAll(async () => {
    await env?.stop();
  });

  it("Given the seeded source, when planning, then only reads reach the cluster and every step is shown", async () => {
    env.cluster("source").resetRequests();
    const result = await cli(["plan", "-o", "json"]);
    expect(result.stderr).toContain('context "bookinfo-target" is not in the kubeconfig yet');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { steps: { id: string }[] };
    expect(plan.steps.map((s) => s.id)).toEqual([
      "provision-cluster",
      "install-ingress-gateway",
      "mirror-workloads",
      "expose-target",
      "shift-traffic[1]",
      "shift-traffic[2]",
      "shift-traffic[3]",
      "lower-dns-ttl",
      "cutover-dns",
    ]);
    const methods = new Set(env.cluster("source").requests.map((r) => r.method));
    expect([...methods]).toEqual(["GET"]);
    expect(env.sandbox.clusters.has("bookinfo-target")).toBe(false);
  });

  it("Given the seeded source, when applying every step, then the target runs Bookinfo, traffic and DNS point at it", async () => {
    const result = await cli(["apply", "--yes", "--non-interactive"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Migration complete.");
    for (const step of [
      "provision-cluster",
      "install-ingress-gateway",
      "mirror-workloads",
      "expose-target",
      "shift-traffic[3]",
      "lower-dns-ttl",
      "cutover-dns",
    ]) {
      expect(result.stdout).toContain(`${step}: done in`);
    }

    const target = cluster(clientsFor(), "bookinfo-target");
    const deployments = await target.list("apps/v1", "Deployment", { namespace: "bookinfo" });
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      "details-v1",
      "productpage-v1",
      "ratings-v1",
      "reviews-v1",
      "reviews-v2",
      "reviews-v3",
    ]);
    const namespace = await target.get({ apiVersion: "v1", kind: "Namespace", name: "bookinfo" });
    expect(namespace?.metadata.labels).toMatchObject({ "istio.io/rev": "asm-managed" });
    expect(namespace?.metadata.labels).not.toHaveProperty("istio-injection");

    const vs = await source.get(VS);
    const route = (vs?.spec as { http: { route: { destination: { host: string }; weight?: number }[] }[] })
      .http[0]?.route;
    expect(route?.map((d) => [d.destination.host, d.weight])).toEqual([
      ["productpage", 0],
      ["productpage.target.clustershift.internal", 100],
    ]);
    expect(await source.get(SERVICE_ENTRY)).toBeDefined();

    const gateway = await target.get({
      apiVersion: "v1",
      kind: "Service",
      namespace: "asm-ingress",
      name: "asm-ingressgateway",
    });
    const targetIp = (gateway?.status as { loadBalancer: { ingress: { ip: string }[] } }).loadBalancer
      .ingress[0]?.ip;
    expect(dns.recordSets(zoneId).filter((r) => r.name === RECORD)).toEqual([
      { name: RECORD, type: "A", ttl: 5, values: [targetIp] },
    ]);

    const status = await cli(["status"]);
    expect(status.stdout).toContain("bookinfo-sandbox: completed");
    const again = await cli(["plan"]);
    expect(again.code).toBe(0);
  });

  it("Given the finished migration, when rolling back, then the source VirtualService and the DNS record are exactly as before and the target holds no Bookinfo", async () => {
    const result = await cli(["rollback", "--yes"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);

    const vs = await source.get(VS);
    expect(vs?.spec).toEqual(originalVs?.spec);
    expect(vs?.metadata.labels).toEqual(originalVs?.metadata.labels);
    expect(await source.get(SERVICE_ENTRY)).toBeUndefined();
    expect(dns.recordSets(zoneId).filter((r) => r.name === RECORD)).toEqual([originalRecord]);

    // The provisioned cluster stays (no --destroy-provisioned), without anything of ours in it.
    const kept = env.sandbox.clusters.get("bookinfo-target");
    expect(kept).toBeDefined();
    await env.refreshKubeconfig();
    const target = cluster(clientsFor(), "bookinfo-target");
    expect(await target.list("apps/v1", "Deployment", { namespace: "bookinfo" })).toEqual([]);
    // A deleted namespace is Terminating for a moment, as on a real cluster.
    const gone = (o: KubeObject | undefined) => (o === undefined ? true : undefined);
    await expect(
      target.waitFor(
        { apiVersion: "v1", kind: "Namespace", name: "asm-ingress" },
        gone,
        5000,
        () => undefined,
      ),
    ).resolves.toBe(true);
  });
});
