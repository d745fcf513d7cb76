// First: it mocks @inquirer/prompts for the wizard imported below.
import { screen } from "@inquirer/testing/vitest";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parsePlaybook } from "../../src/playbook/load.js";
import { CANCELLED, runWizard, type WizardOptions } from "../../src/wizard/index.js";
import { MESSAGES } from "../../src/wizard/validate.js";
import { createZone, recordsOf } from "../dns/moto.js";
import { useWizardWorld } from "./seed.js";
import { isWrite } from "../cli/request-log.js";

/**
 * The whole wizard, prompt after prompt, against the seeded sandbox and moto through the real clients; the
 * prompts are the real ones, fed keys by @inquirer/testing's shared screen.
 */

const env = useWizardWorld();

/** The Route 53 zone the wizard lists (moto), with the records it offers, and their state before any run. */
let motoZone: { id: string; name: string };
let motoBefore: unknown;
let sandboxDnsBefore: unknown;

beforeAll(async () => {
  motoZone = await createZone(
    env.moto.sdk,
    "unused",
    (zone) => [
      { Name: `shop.${zone}`, Type: "A", TTL: 300, ResourceRecords: [{ Value: "203.0.113.10" }] },
      { Name: `api.${zone}`, Type: "CNAME", TTL: 300, ResourceRecords: [{ Value: `shop.${zone}` }] },
      { Name: `shop.${zone}`, Type: "TXT", TTL: 300, ResourceRecords: [{ Value: '"v=spf1 -all"' }] },
    ],
    { name: "example.com." },
  );
  motoBefore = await recordsOf(env.moto.sdk, motoZone.id);
  sandboxDnsBefore = sandboxDnsState();
});

function sandboxDnsState(): unknown {
  return env.world.dns.zones().map((zone) => ({ zone, records: env.world.dns.recordSets(zone.id) }));
}

/** Every request the wizard sent to the sandbox's clusters since `resetRequests`: reads only, or the culprits. */
function writesToClusters(): string[] {
  return [...env.world.sandbox.clusters.values()].flatMap((cluster) =>
    cluster.requests.filter(isWrite).map((request) => `${cluster.name}: ${request.method} ${request.path}`),
  );
}

type Key = string | { name: string; ctrl?: boolean } | { type: string };

/** Checks the question on screen, answers it, and waits for the next one (unless it was the last). */
async function answer(question: string, keys: Key[], last = false): Promise<void> {
  expect(screen.getScreen()).toContain(question);
  for (const key of keys) {
    if (typeof key === "object" && "type" in key) screen.type(key.type);
    else screen.keypress(key);
  }
  if (!last) await screen.next();
}

interface Run {
  dir: string;
  output: () => string;
  errors: () => string;
  done: ReturnType<typeof runWizard>;
}

let runs = 0;

async function start(options: Omit<WizardOptions, "kubeconfig" | "cwd"> = {}): Promise<Run> {
  const dir = join(env.world.dir, `run-${++runs}`);
  await mkdir(dir, { recursive: true });
  let stdout = "";
  let stderr = "";
  const done = runWizard(
    { ...options, kubeconfig: env.world.kubeconfig, cwd: dir },
    {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
  );
  // The first question comes once the kubeconfig is read.
  await screen.next();
  return { dir, done, output: () => stdout, errors: () => stderr };
}

describe("the wizard, prompt after prompt", () => {
  it("Given Online Boutique on the source, When every question is answered, Then a valid playbook with hosts, exclusions, a probe, onFailure and a listed Route 53 record is written, and only reads reached the clusters", async () => {
    for (const cluster of env.world.sandbox.clusters.values()) cluster.resetRequests();
    const run = await start();
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror from source", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", ["enter"]);
    await answer("Ingress gateway Service on source", ["enter"]);
    await answer("Istio Gateway served by istio-system/istio-ingressgateway", ["enter"]);
    await answer("Service to split", ["enter"]);
    // Online Boutique's VirtualService answers `*`: no host to suggest, and a wrong one is refused on the spot.
    await answer("Public hosts that move to the target", [
      { type: "shop.example.com, www..example.com" },
      "enter",
    ]);
    expect(screen.getScreen()).toContain(`> ${MESSAGES.hosts}`);
    for (let i = 0; i < ", www..example.com".length; i++) screen.keypress("backspace");
    await answer("Public hosts that move to the target", ["enter"]);
    await answer("Host name the source mesh uses", ["enter"]);
    await answer("Ingress gateway on the target target", ["enter"]);
    await answer("Istio Gateway served by asm-ingress/asm-ingressgateway", ["enter"]);
    await answer("Weights to shift", [{ type: "5,25,50" }, "enter"]);
    // A wrong answer stays on the same question, with the reason under it.
    expect(screen.getScreen()).toContain("> the last weight must be 100");
    await answer("Weights to shift", [{ type: ",100" }, "enter"]);
    await answer("Pause after each weight", [{ type: "1m" }, "enter"]);
    await answer("Wait for your approval before going to 100%?", ["enter"]);
    await answer("Prometheus URL", [{ type: "http://127.0.0.1:9090" }, "enter"]);
    // A sandbox target's load balancer answers nothing: no probe by default.
    await answer("Probe URL: HTTP GETs that must pass before going to 100% (empty: no probe)", [
      { type: "http://203.0.113.20/" },
      "enter",
    ]);
    await answer("Host header of the probe (empty: the URL's host) (shop.example.com)", ["enter"]);
    await answer("HTTP status the probe expects (200)", ["enter"]);
    expect(screen.getScreen()).toContain("❯ rollback");
    await answer("When a gate fails", ["down", "enter"]);
    // frontend-external: a second public LoadBalancer of the namespace, offered ticked to be left out.
    expect(screen.getScreen()).toContain("◉ onlineboutique/frontend-external");
    await answer("Leave these public Services out of the mirror?", ["enter"]);
    await answer("Cut a DNS record over", ["enter"]);
    await answer("DNS provider", ["up", "enter"]);
    await answer("Hosted zone", ["enter"]);
    // Listed from moto through the product's Route 53 client; the public host's record is the default.
    const records = screen.getScreen();
    expect(records).toContain("❯ shop.example.com A");
    expect(records).toContain("  api.example.com CNAME");
    expect(records).not.toContain("TXT");
    await answer("DNS record to cut over", ["enter"]);
    // No record type question: the listed record has one.
    await answer("TTL in seconds", [{ type: "30" }, "enter"]);
    await answer("New address for the record", ["enter"]);
    await answer("Name of this playbook (frontend-to-target)", ["enter"], true);

    const result = await run.done;
    expect(result?.file).toBe("playbook.yaml");
    const written = await readFile(join(run.dir, "playbook.yaml"), "utf8");
    expect(written).toBe(result?.playbook);
    const parsed = parsePlaybook(written, "playbook.yaml");
    expect(parsed.ok ? [] : parsed.diagnostics).toEqual([]);
    await expect(written).toMatchFileSnapshot(resolve(import.meta.dirname, "__golden__/flow-sandbox.yaml"));
    expect(run.output()).toBe("Wrote playbook.yaml: playbook frontend-to-target.\n");
    expect(await readdir(run.dir)).toEqual(["playbook.yaml"]);

    // Then every question read the clusters with GETs only, and both DNS services are as they were.
    expect(env.world.sandbox.clusters.get("source")?.requests.length).toBeGreaterThan(0);
    expect(writesToClusters()).toEqual([]);
    expect(await recordsOf(env.moto.sdk, motoZone.id)).toEqual(motoBefore);
    expect(sandboxDnsState()).toEqual(sandboxDnsBefore);
  });

  it("Given the sandbox DNS, When it is the provider, Then its zones and records are listed and chosen, and nothing is written to it", async () => {
    for (const cluster of env.world.sandbox.clusters.values()) cluster.resetRequests();
    const run = await start({ out: "sandbox-dns.yaml" });
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror from source", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", [{ type: "n" }, "enter"]);
    // Without a shift, every public Service of the namespaces is offered; unticking keeps it mirrored.
    await answer("Leave these public Services out of the mirror?", ["space", "enter"]);
    await answer("Cut a DNS record over", ["enter"]);
    await answer("DNS provider", ["enter"]);
    expect(screen.getScreen()).toContain("❯ example.com.");
    await answer("Hosted zone (sandbox DNS)", ["enter"]);
    const records = screen.getScreen();
    expect(records).toContain("shop.example.com A");
    expect(records).toContain("www.example.com CNAME");
    expect(records).toContain("198.51.100.10, TTL 300");
    await answer("DNS record to cut over", ["down", "enter"]);
    await answer("TTL in seconds", ["enter"]);
    await answer("New address for the record", [{ type: "lb.target.example.net" }, "enter"]);
    await answer("Name of this playbook", [{ type: "www-cutover" }, "enter"], true);

    const parsed = parsePlaybook((await run.done)?.playbook ?? "", "sandbox-dns.yaml");
    expect(parsed.ok ? [] : parsed.diagnostics).toEqual([]);
    expect(parsed.ok && parsed.playbook.spec.dns).toMatchObject({
      provider: "sandbox",
      zone: "example.com.",
      record: "www.example.com",
      type: "CNAME",
      lowTtl: 60,
      target: "lb.target.example.net",
    });
    expect(parsed.ok && parsed.playbook.spec.workloads?.exclude).toEqual([]);
    expect(writesToClusters()).toEqual([]);
    expect(sandboxDnsState()).toEqual(sandboxDnsBefore);
  });

  it("Given a new GKE target, When the provisioning questions are answered, Then the playbook provisions it and installs the ingress gateway", async () => {
    const run = await start({ out: "gke.yaml" });
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["down", "enter"]);
    await answer("GCP project id", [{ type: "shop-prod-1" }, "enter"]);
    await answer("Location", ["enter"]);
    await answer("Name of the new cluster", [{ type: "cluster-with-csm" }, "enter"]);
    await answer("Machine type (e2-standard-4)", ["enter"]);
    await answer("Number of nodes (2)", [{ type: "3" }, "enter"]);
    await answer("Namespaces to mirror", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", ["enter"]);
    await answer("Ingress gateway Service on source", ["enter"]);
    await answer("Istio Gateway", ["enter"]);
    await answer("Service to split", ["enter"]);
    await answer("Public hosts that move to the target", ["enter"]);
    await answer("Host name the source mesh uses", ["enter"]);
    // No question about the target's ingress: a new cluster gets one installed.
    await answer("Weights to shift", ["enter"]);
    await answer("Pause after each weight", ["enter"]);
    await answer("Wait for your approval", ["enter"]);
    await answer("Prometheus URL", ["enter"]);
    // The installed ingress has no address yet: no probe unless one is typed.
    await answer("Probe URL", ["enter"]);
    await answer("When a gate fails", ["enter"]);
    await answer("Leave these public Services out of the mirror?", ["enter"]);
    await answer("Cut a DNS record over", [{ type: "n" }, "enter"]);
    await answer("Name of this playbook (frontend-to-cluster-with-csm)", ["enter"], true);

    const result = await run.done;
    const parsed = parsePlaybook(result?.playbook ?? "", "gke.yaml");
    expect(parsed.ok ? [] : parsed.diagnostics).toEqual([]);
    await expect(result?.playbook).toMatchFileSnapshot(
      resolve(import.meta.dirname, "__golden__/flow-gke.yaml"),
    );
    expect(run.output()).toContain(
      "The new cluster gets the ingress gateway asm-ingress/asm-ingressgateway.",
    );
  });

  it("Given Route 53 unreachable, When a new sandbox cluster is the target, Then the zone is asked as text and the playbook adds the cluster", async () => {
    process.env.AWS_ENDPOINT_URL_ROUTE_53 = "http://127.0.0.1:9";
    try {
      const run = await start({ out: "sandbox.yaml" });
      await answer("Source cluster", ["enter"]);
      await answer("Target cluster", ["down", "down", "enter"]);
      await answer("Name of the new cluster (also its kubeconfig context) (target-2)", ["enter"]);
      await answer("Namespaces to mirror", ["down", "space", "enter"]);
      await answer("Shift traffic gradually", [{ type: "n" }, "enter"]);
      await answer("Leave these public Services out of the mirror?", ["enter"]);
      await answer("Cut a DNS record over", ["enter"]);
      await answer("DNS provider", ["up", "enter"]);
      await answer("Hosted zone (e.g. example.com)", [{ type: "example.com" }, "enter"]);
      await answer("DNS record to cut over", [{ type: "shop.example.com" }, "enter"]);
      await answer("Record type", ["down", "down", "enter"]);
      await answer("TTL in seconds", ["enter"]);
      await answer("New address for the record", [{ type: "lb.target.example.net" }, "enter"]);
      await answer("Name of this playbook (onlineboutique-to-target-2)", ["enter"], true);

      const parsed = parsePlaybook((await run.done)?.playbook ?? "", "sandbox.yaml");
      expect(parsed.ok ? [] : parsed.diagnostics).toEqual([]);
      expect(parsed.ok && parsed.playbook.spec.target).toEqual({
        context: "target-2",
        provision: { provider: "sandbox", name: "target-2", machineType: "e2-standard-4", nodeCount: 2 },
      });
      expect(parsed.ok && parsed.playbook.spec.dns).toMatchObject({
        provider: "route53",
        zone: "example.com",
        type: "CNAME",
        lowTtl: 60,
        target: "lb.target.example.net",
      });
      expect(run.output()).toMatch(/^cannot list Route 53 hosted zones: .+; type the zone's name\.$/m);
    } finally {
      process.env.AWS_ENDPOINT_URL_ROUTE_53 = env.moto.endpoint;
    }
  });

  it("Given an existing playbook.yaml, When overwriting is declined, Then the wizard writes to another file and leaves it alone", async () => {
    const run = await start();
    await writeFile(join(run.dir, "playbook.yaml"), "# mine\n");
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", [{ type: "n" }, "enter"]);
    await answer("Leave these public Services out of the mirror?", ["enter"]);
    await answer("Cut a DNS record over", [{ type: "n" }, "enter"]);
    await answer("Name of this playbook", [{ type: "mirror-only" }, "enter"]);
    await answer("playbook.yaml exists. Overwrite it? (y/N)", ["enter"]);
    await answer("Write the playbook to (playbook-2.yaml)", ["enter"], true);

    expect((await run.done)?.file).toBe("playbook-2.yaml");
    expect(await readFile(join(run.dir, "playbook.yaml"), "utf8")).toBe("# mine\n");
    const written = await readFile(join(run.dir, "playbook-2.yaml"), "utf8");
    expect(parsePlaybook(written, "playbook-2.yaml").ok).toBe(true);
    expect(written).toContain("namespaces:\n      - onlineboutique\n");
  });
});

describe("cancelling", () => {
  it("Given answers half given, When Ctrl-C is pressed, Then nothing is written and the wizard says so", async () => {
    const run = await start();
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", ["enter"]);
    await answer("Ingress gateway Service on source", [{ name: "c", ctrl: true }], true);

    await expect(run.done).resolves.toBeUndefined();
    expect(run.errors()).toBe(`${CANCELLED}\n`);
    expect(await readdir(run.dir)).toEqual([]);
  });

  it("Given an existing playbook, When Ctrl-C is pressed at the overwrite question, Then the file is unchanged and no temporary file is left", async () => {
    const run = await start();
    await writeFile(join(run.dir, "playbook.yaml"), "# mine\n");
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", [{ type: "n" }, "enter"]);
    await answer("Leave these public Services out of the mirror?", ["enter"]);
    await answer("Cut a DNS record over", [{ type: "n" }, "enter"]);
    await answer("Name of this playbook", ["enter"]);
    await answer("Overwrite it?", [{ name: "c", ctrl: true }], true);

    await expect(run.done).resolves.toBeUndefined();
    expect(await readdir(run.dir)).toEqual(["playbook.yaml"]);
    expect(await readFile(join(run.dir, "playbook.yaml"), "utf8")).toBe("# mine\n");
  });

  it("Given the caller's signal, When it aborts during a question, Then the wizard returns undefined and writes nothing", async () => {
    const controller = new AbortController();
    const run = await start({ signal: controller.signal });
    await answer("Source cluster", ["enter"]);
    controller.abort();
    await expect(run.done).resolves.toBeUndefined();
    expect(run.errors()).toBe(`${CANCELLED}\n`);
    expect(await readdir(run.dir)).toEqual([]);
  });

  it("Given --out in a directory that does not exist, When the wizard starts, Then it fails before the first question", async () => {
    await expect(
      runWizard(
        { out: "missing/playbook.yaml", kubeconfig: env.world.kubeconfig, cwd: env.world.dir },
        { stdout: { write: () => true } },
      ),
    ).rejects.toThrow("--out missing/playbook.yaml: the directory missing does not exist");
  });
});
