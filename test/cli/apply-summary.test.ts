import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { bookinfoSource, RECORD, startE2eWorld, type E2eWorld } from "../e2e/worlds.js";
import { runCli } from "../support/cli.js";
import { SUBSTRATES } from "../support/clusters.js";

const SOURCE_INGRESS = {
  apiVersion: "v1",
  kind: "Service",
  namespace: "istio-system",
  name: "istio-ingressgateway",
};
const TARGET_INGRESS = {
  apiVersion: "v1",
  kind: "Service",
  namespace: "asm-ingress",
  name: "asm-ingressgateway",
};
const VS = {
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  namespace: "bookinfo",
  name: "bookinfo",
};

const loadBalancerIp = (service: KubeObject | undefined): string | undefined =>
  (service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
    ?.ingress?.[0]?.ip;

describe.each(SUBSTRATES)("apply's closing summary of the Bookinfo migration on %s", (substrate) => {
  const slow = substrate === "sandbox" ? 300_000 : 900_000;
  let world: E2eWorld;
  let sourceIp: string;

  beforeAll(async () => {
    world = await startE2eWorld(substrate);
    await world.seed("source", bookinfoSource());
    sourceIp = await world
      .client("source")
      .waitFor(SOURCE_INGRESS, loadBalancerIp, slow / 2, () => undefined);
    await world.addZone({ name: RECORD, type: "A", ttl: 6, values: [sourceIp] });
  }, 300_000);

  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it(
    "Given the seeded source, When apply runs to the end, Then the summary after the progress says what moved, the weights, the record and waiting against working, as the clusters and DNS show them",
    async () => {
      const result = await runCli(
        [
          "apply",
          "-f",
          world.playbook,
          "--state-dir",
          join(world.dir, "state"),
          "--yes",
          "--non-interactive",
        ],
        { env: { KUBECONFIG: world.kubeconfigPath, ...world.cliEnv } },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const [progress = "", summary = ""] = result.stdout.split("\nSummary:\n");
      // The summary comes after the last progress line, which says the migration is complete.
      expect(progress.trimEnd().split("\n").at(-1)).toMatch(/ Migration complete\.$/);

      // What the summary says is what the live clusters and the DNS service say.
      const target = world.targetContext;
      const targetIp = loadBalancerIp(await world.client(target).get(TARGET_INGRESS));
      const vs = await world.client("source").get(VS);
      const route = (vs?.spec as { http: { route: { destination: { host: string }; weight: number }[] }[] })
        .http[0]!.route;
      const weightOf = (remote: boolean) =>
        route.filter((d) => d.destination.host.endsWith(".clustershift.internal") === remote)[0]?.weight;
      const [record] = await world.records(RECORD);
      expect(record?.values).toEqual([targetIp]);

      const lines = summary.trimEnd().split("\n");
      const time = lines.pop();
      expect(lines).toEqual([
        `  moved    1 namespace (bookinfo), 14 objects mirrored to ${target}: 6 Deployments, 4 Services, 4 ServiceAccounts`,
        ...(world.provisions
          ? [
              `  built    provision-cluster: 1 change on sandbox cluster ${target}, 1 on kubeconfig ${world.kubeconfigPath}`,
            ]
          : []),
        `  built    install-ingress-gateway: 7 changes on ${target}`,
        `  built    expose-target: 1 change on ${target}, 1 on source`,
        `  traffic  VirtualService bookinfo/bookinfo http[0] on source: source ${weightOf(false)}%, target ${weightOf(true)}%`,
        `  dns      ${RECORD} A → ${targetIp}, TTL ${record?.ttl}s (was ${sourceIp}, TTL 6s)`,
      ]);
      expect(weightOf(true)).toBe(100);
      // The old TTL (6 s) is waited out in full: it is there, whatever the machine's speed.
      expect(time).toMatch(
        /^ {2}time {5}\S+ in all: \S+ waiting \(TTL (\d+m)?\d+s, pauses \S+(, rollouts and sync \S+)?\), \S+ working$/,
      );
    },
    slow,
  );
});
