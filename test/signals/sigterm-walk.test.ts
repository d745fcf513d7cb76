import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { createSandboxDns, type SandboxDns } from "../../src/sandbox/dns/index.js";
import { demoPlaybook } from "../../src/demo/demo.js";
import { sampleShop, SHOP_NAMESPACE } from "../../src/demo/sample-shop.js";
import { mulberry32 } from "../../src/sandbox/faults.js";
import { CONCURRENCY } from "../../src/steps/mirror-workloads/step.js";
import { skipReason, strip } from "../../src/steps/mirror-workloads/strip.js";
import { CLI, ROOT } from "../support/cli.js";
import { faultSeed } from "../support/faults.js";
import { tempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

const TRIALS = 30;
/** Trials run side by side (each in a world of its own). */
const PARALLEL_TRIALS = 3;

const RECORD = "shop.example.com.";

/** The demo's world, as `clustershift demo` builds it, but with the CLI run as a child process against it. */
interface DemoWorld {
  dir: string;
  kubeconfig: string;
  playbook: string;
  state: string;
  sandbox: Sandbox;
  dns: SandboxDns;
  zoneId: string;
  stop(): Promise<void>;
}

async function demoWorld(): Promise<DemoWorld> {
  const dir = await tempDir("sigterm");
  const dns = createSandboxDns({ pendingMs: 400 });
  const sandbox = await startSandbox({
    clusters: ["source"],
    istio: true,
    extensions: [dns],
    readyDelayMs: 150,
    loadBalancerDelayMs: 150,
  });
  const frontend = await startFrontend();
  const kubeconfig = join(dir, "kubeconfig");
  await sandbox.writeKubeconfig(kubeconfig);
  const source = createClusterClient("source", { kubeconfig });
  for (const object of sampleShop()) await source.apply(object);
  const ip = await source.waitFor(
    { apiVersion: "v1", kind: "Service", namespace: "istio-system", name: "istio-ingressgateway" },
    (service) =>
      (service?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer
        ?.ingress?.[0]?.ip,
    60_000,
    () => undefined,
  );
  source.close();
  const zone = dns.addZone({
    name: "example.com.",
    records: [{ name: RECORD, type: "A", ttl: 8, values: [ip] }],
  });
  const playbook = join(dir, "demo-playbook.yaml");
  // The demo's playbook without its decommission step: every kind of step, a provisioned target, pauses, a
  // probe gate and a DNS cutover.
  await writeFile(playbook, demoPlaybook(frontend.url));
  return {
    dir,
    kubeconfig,
    playbook,
    state: join(dir, "state"),
    sandbox,
    dns,
    zoneId: zone.id,
    stop: async () => {
      frontend.close();
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function startFrontend(): Promise<{ url: string; close(): void }> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.headers.host === "shop.example.com" ? 200 : 404).end("target frontend\n");
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () => server.close(),
      }),
    ),
  );
}

const WORLD_KINDS = [
  ["v1", "Namespace"],
  ["v1", "ConfigMap"],
  ["v1", "Secret"],
  ["v1", "Service"],
  ["v1", "ServiceAccount"],
  ["apps/v1", "Deployment"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["networking.istio.io/v1", "Gateway"],
  ["networking.istio.io/v1", "VirtualService"],
  ["networking.istio.io/v1", "ServiceEntry"],
] as const;

/**
 * Everything the migration may touch, as a user wrote it (server-owned parts stripped): the objects of both
 * clusters, `Kind namespace/name` under the cluster's name; the DNS zone's record sets; the kubeconfig.
 */
async function worldOf(world: DemoWorld): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, cluster] of world.sandbox.clusters) {
    for (const [apiVersion, kind] of WORLD_KINDS) {
      for (const object of cluster.list(apiVersion, kind)) {
        const namespace = object.metadata.namespace;
        if (namespace && !["shop", "asm-ingress", "istio-system"].includes(namespace)) continue;
        if (!namespace && kind === "Namespace" && !["shop", "asm-ingress"].includes(object.metadata.name))
          continue;
        if (skipReason(object) !== undefined) continue;
        out[`${name} ${kind} ${namespace ? `${namespace}/` : ""}${object.metadata.name}`] = JSON.stringify(
          strip(object),
        );
      }
    }
  }
  out["dns"] = JSON.stringify(world.dns.recordSets(world.zoneId));
  out["kubeconfig"] = await readFile(world.kubeconfig, "utf8");
  return out;
}

interface Entry {
  seq: number;
  type: string;
  address?: string;
  step?: string;
}

async function journalOf(world: DemoWorld): Promise<Entry[]> {
  let text: string;
  try {
    text = await readFile(join(world.state, "demo-shop", "journal.jsonl"), "utf8");
  } catch {
    return [];
  }
  // A line being written as we read is not yet an entry.
  return text
    .split("\n")
    .filter((line) => line.endsWith("}"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Entry];
      } catch {
        return [];
      }
    });
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cliArgs(world: DemoWorld, command: string[]): string[] {
  return [CLI, ...command, "-f", world.playbook, "--state-dir", world.state];
}

function runTo(world: DemoWorld, command: string[]): Promise<Run> {
  return interrupted(world, command);
}

/**
 * Runs the built CLI against the world. With `stopAfterMs`, sends SIGTERM that long after the plan is shown, and
 * reads the journal when the CLI says it got the signal (its handler has run: from then on no new change may start).
 */
function interrupted(
  world: DemoWorld,
  command: string[],
  stopAfterMs?: number,
  onAcknowledged?: () => void,
): Promise<Run & { planShownAt?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(world, command), {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", KUBECONFIG: world.kubeconfig },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let planShownAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (planShownAt === undefined && /^Plan: /m.test(stdout)) {
        planShownAt = Date.now();
        if (stopAfterMs !== undefined) timer = setTimeout(() => child.kill("SIGTERM"), stopAfterMs);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const before = stderr;
      stderr += chunk.toString();
      if (!before.includes("SIGTERM: stopping") && stderr.includes("SIGTERM: stopping")) onAcknowledged?.();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ...(planShownAt === undefined ? {} : { planShownAt }) });
    });
  });
}

describe("signals stop apply at the next safe point (built CLI, the demo playbook on the sandbox)", () => {
  it(`Given ${TRIALS} SIGTERMs at seeded random moments of apply, then no change starts after the signal, the exit is 143 with the journal matching the clusters, apply resumes to completion and rollback restores the world exactly`, async () => {
    const seed = faultSeed("SIGTERM moment seed");
    const random = mulberry32(seed);

    // One uninterrupted run: how long apply works after showing its plan.
    const reference = await demoWorld();
    let workMs: number;
    try {
      const started = await interrupted(reference, ["apply", "--yes", "--non-interactive"]);
      expect(started.code, started.stderr).toBe(0);
      workMs = Date.now() - (started.planShownAt ?? Date.now());
    } finally {
      await reference.stop();
    }
    console.log(`uninterrupted apply works ${workMs} ms after showing its plan`);

    // Up to 70% of the way (a busy machine runs slower than the reference, never much faster), more often
    // early, where the writes are dense (provision, gateway, mirror) rather than in pauses and TTL waits. Drawn
    // before any trial runs, so that the seed alone decides every moment whatever order the trials finish in.
    const moments = Array.from({ length: TRIALS }, () => Math.floor(random() ** 2 * workMs * 0.7));
    const report: string[] = new Array<string>(TRIALS);
    const runTrial = async (trial: number, after: number): Promise<void> => {
      const world = await demoWorld();
      try {
        const initial = await worldOf(world);
        let atAcknowledgement: Entry[] | undefined;
        let reading: Promise<void> | undefined;
        const run = await interrupted(world, ["apply", "--yes", "--non-interactive"], after, () => {
          reading = journalOf(world).then((entries) => void (atAcknowledgement = entries));
        });
        await reading;
        const label = `trial ${trial} (seed ${seed}, SIGTERM ${after} ms after the plan)`;
        expect(run.code, `${label}: ${run.stderr}`).toBe(143);
        expect(run.stderr, label).toContain("interrupted by SIGTERM");
        expect(run.stderr, label).not.toContain("This is a bug");

        // No change starts once the signal is handled: only those already under way may still be journaled,
        // at most one per concurrent writer (the mirror step's workers; every other step writes one at a time).
        const end = await journalOf(world);
        const changesAt = (atAcknowledgement ?? []).filter((e) => e.type === "change").length;
        const changes = end.filter((e) => e.type === "change");
        const late = changes.length - changesAt;
        expect(late, `${label}: changes journaled after the signal was handled`).toBeLessThanOrEqual(
          CONCURRENCY,
        );
        expect(
          end.some((e) => e.type === "run-finished"),
          label,
        ).toBe(false);

        // The journal accounts for every object that differs from before: nothing was written unjournaled.
        const now = await worldOf(world);
        const addresses = changes.map((e) => e.address ?? "");
        for (const key of new Set([...Object.keys(initial), ...Object.keys(now)])) {
          if (key === "dns" || key === "kubeconfig" || initial[key] === now[key]) continue;
          const object = key.split(" ").slice(1).join(" ");
          expect(
            addresses.some((address) => address.includes(object)),
            `${label}: ${key} changed without a journaled change (journal: ${addresses.join("; ")})`,
          ).toBe(true);
        }
        if (now.dns !== initial.dns) {
          expect(
            addresses.some((a) => a.includes("shop.example.com")),
            `${label}: DNS changed unjournaled`,
          ).toBe(true);
        }
        const last = changes.at(-1);
        report[trial - 1] =
          `${label}: ${changes.length} changes journaled (last ${last?.step ?? "none"}: ${last?.address ?? "-"}), ${late} after the signal was handled`;

        const resumed = await runTo(world, ["apply", "--yes", "--non-interactive"]);
        expect(resumed.code, `${label}: resume: ${resumed.stderr}`).toBe(0);
        expect(resumed.stdout, label).toMatch(/Migration complete\.|No changes/);
        const done = await worldOf(world);
        expect(done.dns, label).not.toBe(initial.dns);
        const vs = JSON.parse(done[`source VirtualService ${SHOP_NAMESPACE}/frontend-ingress`] ?? "{}") as {
          spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] };
        };
        const remote = (vs.spec?.http ?? []).flatMap((http) =>
          (http.route ?? []).filter((r) => r.destination?.host === "frontend.target.clustershift.internal"),
        );
        expect(remote.length, label).toBeGreaterThan(0);
        expect(
          remote.map((r) => r.weight),
          `${label}: weights to the target after resume`,
        ).toEqual(remote.map(() => 100));

        const back = await runTo(world, ["rollback", "--yes", "--destroy-provisioned"]);
        expect(back.code, `${label}: rollback: ${back.stderr}`).toBe(0);
        await eventually(async () => ((await worldOf(world)).dns === initial.dns ? true : undefined), 10_000);
        expect(await worldOf(world), `${label}: world after rollback`).toEqual(initial);
      } finally {
        await world.stop();
      }
    };
    // Each trial has a world of its own and spends most of its time in pauses and TTL waits, so a few run side
    // by side; the machine being busier only moves where the seeded moments fall, which is what they are for.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TRIALS) {
        const index = next++;
        await runTrial(index + 1, moments[index] ?? 0);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_TRIALS }, worker));
    console.log(report.join("\n"));
  }, 3_600_000);
});
