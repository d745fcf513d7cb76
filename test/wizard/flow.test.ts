// First: it mocks @inquirer/prompts for the wizard imported below.
import { screen } from "@inquirer/testing/vitest";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parsePlaybook } from "../../src/playbook/load.js";
import { CANCELLED, runWizard, type WizardOptions } from "../../src/wizard/index.js";
import { createZone } from "../dns/moto.js";
import { useWizardWorld } from "./seed.js";

/**
 * The whole wizard, prompt after prompt, against the seeded sandbox and moto through the real clients; the
 * prompts are the real ones, fed keys by @inquirer/testing's shared screen.
 */

const env = useWizardWorld();

beforeAll(async () => {
  await createZone(env.moto.sdk, "unused", () => [], { name: "example.com." });
});

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
  it("Given Online Boutique on the source, When every question is answered, Then a valid playbook with traffic and DNS is written", async () => {
    const run = await start();
    await answer("Source cluster", ["enter"]);
    await answer("Target cluster", ["enter"]);
    await answer("Namespaces to mirror from source", ["down", "space", "enter"]);
    await answer("Shift traffic gradually", ["enter"]);
    await answer("Ingress gateway Service on source", ["enter"]);
    await answer("Istio Gateway served by istio-system/istio-ingressgateway", ["enter"]);
    await answer("Service to split", ["enter"]);
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
    await answer("Cut a DNS record over", ["enter"]);
    await answer("DNS provider", ["up", "enter"]);
    await answer("Hosted zone", ["enter"]);
    await answer("DNS record to cut over", [{ type: "shop.example.com" }, "enter"]);
    await answer("Record type", ["enter"]);
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
    await answer("Host name the source mesh uses", ["enter"]);
    // No question about the target's ingress: a new cluster gets one installed.
    await answer("Weights to shift", ["enter"]);
    await answer("Pause after each weight", ["enter"]);
    await answer("Wait for your approval", ["enter"]);
    await answer("Prometheus URL", ["enter"]);
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
