import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import type { RecordSet } from "../../src/providers/route53/port.js";
import { runCli } from "../support/cli.js";
import { SUBSTRATES } from "../support/clusters.js";
import { bookinfoSource, RECORD, startE2eWorld, type E2eWorld } from "./worlds.js";
import { changedEntries, objectVersions, settledVersions } from "./versions.js";
import { isWrite } from "../cli/request-log.js";

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
const SOURCE_INGRESS = {
  apiVersion: "v1",
  kind: "Service",
  namespace: "istio-system",
  name: "istio-ingressgateway",
};

const loadBalancerIp = (service: KubeObject | undefined): string | undefined =>
  (service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
    ?.ingress?.[0]?.ip;

/** Starts the sandbox's request log of `context` afresh; the returned function reads it. */
function sandboxRequests(
  world: E2eWorld,
  context: string,
): () => readonly { method: string; path: string }[] {
  const cluster = sandboxOf(world).cluster(context);
  cluster.resetRequests();
  return () => cluster.requests;
}

function sandboxHasCluster(world: E2eWorld, name: string): boolean {
  return sandboxOf(world).sandbox.clusters.has(name);
}

function sandboxOf(world: E2eWorld) {
  if (!world.sandbox) throw new Error(`${world.substrate} is not the sandbox: this is a bug in the test`);
  return world.sandbox;
}

describe.each(SUBSTRATES)("clustershift apply of the Bookinfo playbook on %s, then rollback", (substrate) => {
  // Every step of a migration, rollouts and namespace deletions included, through child processes.
  const slow = substrate === "sandbox" ? 120_000 : 600_000;
  let world: E2eWorld;
  let stateDir: string;
  let originalVs: KubeObject | undefined;
  let originalRecord: RecordSet;
  const cli = (args: string[]) =>
    runCli([...args, "-f", world.playbook, "--state-dir", stateDir], {
      env: { KUBECONFIG: world.kubeconfigPath, ...world.cliEnv },
    });

  beforeAll(async () => {
    world = await startE2eWorld(substrate);
    stateDir = join(world.dir, "state");
    await world.seed("source", bookinfoSource());
    const ingressIp = await world
      .client("source")
      .waitFor(SOURCE_INGRESS, loadBalancerIp, slow / 2, () => undefined);
    originalRecord = { name: RECORD, type: "A", ttl: 6, values: [ingressIp] };
    await world.addZone(originalRecord);
    originalVs = await world.client("source").get(VS);
  }, 300_000);

  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it(
    "Given the seeded source, when planning, then no object changes on any cluster and every step is shown",
    async () => {
      const contexts = world.provisions ? ["source"] : ["source", world.targetContext];
      const before = await Promise.all(
        contexts.map((c) => settledVersions(world.kubeConfig(c), world.client(c), slow / 2)),
      );
      const requests = substrate === "sandbox" ? sandboxRequests(world, "source") : undefined;

      const result = await cli(["plan", "-o", "json"]);
      expect(result.code, result.stderr).toBe(0);
      if (world.provisions) {
        expect(result.stderr).toContain(`context "${world.targetContext}" is not in the kubeconfig yet`);
      }
      const plan = JSON.parse(result.stdout) as { steps: { id: string }[] };
      expect(plan.steps.map((s) => s.id)).toEqual([
        ...(world.provisions ? ["provision-cluster"] : []),
        "install-ingress-gateway",
        "mirror-workloads",
        "expose-target",
        "shift-traffic[1]",
        "shift-traffic[2]",
        "shift-traffic[3]",
        "lower-dns-ttl",
        "cutover-dns",
      ]);
      const after = await Promise.all(
        contexts.map((c) => objectVersions(world.kubeConfig(c), world.client(c))),
      );
      contexts.forEach((context, i) => {
        expect(changedEntries(before[i]!, after[i]!), `objects changed on ${context}`).toEqual([]);
      });
      // The sandbox also logs each request: a plan sends only reads (and access reviews, which store nothing),
      // and provisions nothing.
      if (requests) {
        expect(requests().filter(isWrite)).toEqual([]);
        expect(requests().some((r) => r.method === "GET")).toBe(true);
        expect(sandboxHasCluster(world, world.targetContext)).toBe(false);
      }
    },
    slow,
  );

  it(
    "Given the seeded source, when applying every step, then the target runs Bookinfo, traffic and DNS point at it",
    async () => {
      const result = await cli(["apply", "--yes", "--non-interactive"]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Migration complete.");
      for (const step of [
        ...(world.provisions ? ["provision-cluster"] : []),
        "install-ingress-gateway",
        "mirror-workloads",
        "expose-target",
        "shift-traffic[3]",
        "lower-dns-ttl",
        "cutover-dns",
      ]) {
        expect(result.stdout).toContain(`${step}: done in`);
      }

      const target = world.client(world.targetContext);
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

      const source = world.client("source");
      const vs = await source.get(VS);
      const route = (vs?.spec as { http: { route: { destination: { host: string }; weight?: number }[] }[] })
        .http[0]?.route;
      expect(route?.map((d) => [d.destination.host, d.weight])).toEqual([
        ["productpage", 0],
        ["productpage.target.clustershift.internal", 100],
      ]);
      // issue 12: productpage's port 9080 is only what the routes call it; the source gateway dials the target
      // ingress Service's port 80, behind the installed Gateway's HTTP server.
      const serviceEntry = await source.get(SERVICE_ENTRY);
      expect(
        (serviceEntry?.spec as { endpoints: { ports?: unknown }[] }).endpoints.map((e) => e.ports),
      ).toEqual([{ http: 80 }]);
      // The target gateway serves Bookinfo's own route table (five URI matches), not a catch-all.
      const targetRoutes = await world
        .client(world.targetContext)
        .get({ ...VS, name: "clustershift-bookinfo" });
      expect(
        (targetRoutes?.spec as { http: { match?: unknown[] }[] } | undefined)?.http.map(
          (r) => r.match?.length,
        ),
      ).toEqual([5]);

      const gateway = await target.get({
        apiVersion: "v1",
        kind: "Service",
        namespace: "asm-ingress",
        name: "asm-ingressgateway",
      });
      expect(await world.records(RECORD)).toEqual([
        { name: RECORD, type: "A", ttl: 5, values: [loadBalancerIp(gateway)] },
      ]);

      const status = await cli(["status"]);
      expect(status.stdout).toContain("bookinfo-sandbox: completed");
      const again = await cli(["plan"]);
      expect(again.code).toBe(0);
    },
    slow,
  );

  it(
    "Given the finished migration, when rolling back, then the source VirtualService and the DNS record are exactly as before and the target holds no Bookinfo",
    async () => {
      const result = await cli(["rollback", "--yes"]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);

      const source = world.client("source");
      const vs = await source.get(VS);
      expect(vs?.spec).toEqual(originalVs?.spec);
      expect(vs?.metadata.labels).toEqual(originalVs?.metadata.labels);
      expect(await source.get(SERVICE_ENTRY)).toBeUndefined();
      expect(await world.records(RECORD)).toEqual([originalRecord]);

      // A provisioned cluster stays (no --destroy-provisioned), without anything of ours in it.
      if (world.provisions) {
        expect(sandboxHasCluster(world, world.targetContext)).toBe(true);
        // Rollback took its context out of the kubeconfig; put it back to look inside.
        await sandboxOf(world).refreshKubeconfig();
      }
      const target = world.client(world.targetContext);
      expect(await target.list("apps/v1", "Deployment", { namespace: "bookinfo" })).toEqual([]);
      // A deleted namespace is Terminating for a while, until its content is gone.
      const gone = (o: KubeObject | undefined) => (o === undefined ? true : undefined);
      await expect(
        target.waitFor(
          { apiVersion: "v1", kind: "Namespace", name: "asm-ingress" },
          gone,
          slow / 2,
          () => undefined,
        ),
      ).resolves.toBe(true);
    },
    slow,
  );
});
