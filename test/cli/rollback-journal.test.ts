import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import type { RecordSet } from "../../src/providers/route53/port.js";
import { ROOT, runCli } from "../support/cli.js";
import { SUBSTRATES } from "../support/clusters.js";
import { bookinfoSource, RECORD, startE2eWorld, type E2eWorld } from "../e2e/worlds.js";

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

describe.each(SUBSTRATES)(
  "the Bookinfo migration planned from its journal and rolled back from it alone on %s",
  (substrate) => {
    const slow = substrate === "sandbox" ? 180_000 : 600_000;
    let world: E2eWorld;
    let stateDir: string;
    let originalVs: KubeObject | undefined;
    let originalRecord: RecordSet;
    const cli = (args: string[], playbook = world.playbook) =>
      runCli([...args, "-f", playbook, "--state-dir", stateDir], {
        env: { KUBECONFIG: world.kubeconfigPath, ...world.cliEnv },
      });

    beforeAll(async () => {
      world = await startE2eWorld(substrate);
      stateDir = join(world.dir, "state");
      await world.seed("source", bookinfoSource());
      const ip = await world
        .client("source")
        .waitFor(SOURCE_INGRESS, loadBalancerIp, slow / 2, () => undefined);
      originalRecord = { name: RECORD, type: "A", ttl: 6, values: [ip] };
      await world.addZone(originalRecord);
      originalVs = await world.client("source").get(VS);
    }, 300_000);
    afterAll(async () => {
      await world?.stop();
    }, 60_000);

    it(
      "Given the completed migration, When planning and applying again, Then both say No changes (text and JSON) and nothing is proposed",
      async () => {
        const applied = await cli(["apply", "--yes", "--non-interactive"]);
        expect(applied.code, applied.stderr).toBe(0);
        expect(applied.stdout).toContain("Migration complete.");

        const plan = await cli(["plan"]);
        expect(plan.code, plan.stderr).toBe(0);
        expect(plan.stdout).toContain("No changes. The migration is complete.");
        expect(plan.stdout).not.toMatch(/^ {2}[+~-] /m);
        const json = JSON.parse((await cli(["plan", "-o", "json"])).stdout) as { complete: boolean };
        expect(json.complete).toBe(true);
        const again = await cli(["apply", "--yes", "--non-interactive"]);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain("No changes. The migration is complete.");
      },
      slow,
    );

    it(
      "Given spec.dns and spec.traffic removed from the playbook after the migration, When rolling back, Then it shows what it undoes by step and cluster and restores the VirtualService and the DNS record exactly",
      async () => {
        const text = await readFile(resolve(ROOT, world.playbook), "utf8");
        const trimmed = parseYaml(text) as { spec: Record<string, unknown> };
        delete trimmed.spec.dns;
        delete trimmed.spec.traffic;
        const playbook = join(world.dir, "bookinfo-without-dns-and-traffic.yaml");
        await writeFile(playbook, stringifyYaml(trimmed));

        const result = await cli(["rollback", "--yes"], playbook);
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/^cutover-dns\n {2}(route53|sandbox-dns) zone example\.com\.\n {4}~ /m);
        expect(result.stdout).toMatch(
          /^shift-traffic\[3\]\n {2}cluster source\n {4}~ VirtualService bookinfo\/bookinfo/m,
        );
        // A target the run provisioned is kept (no --destroy-provisioned): the last lines say so and how to delete it.
        if (world.provisions) {
          expect(result.stdout).toContain(
            "the DNS and the clusters' objects are as they were, but 1 cluster",
          );
          expect(result.stdout).toContain(
            `  sandbox cluster ${world.targetContext}: it lives in the sandbox's memory, so stopping the sandbox deletes it`,
          );
        } else {
          expect(result.stdout).toContain("the clusters and DNS are as they were");
        }

        const source = world.client("source");
        expect((await source.get(VS))?.spec).toEqual(originalVs?.spec);
        expect(await source.get(SERVICE_ENTRY)).toBeUndefined();
        expect(await world.records(RECORD)).toEqual([originalRecord]);
        expect((await cli(["status"], playbook)).stdout).toContain("rolled back; the journal is closed");
      },
      slow,
    );
  },
);
