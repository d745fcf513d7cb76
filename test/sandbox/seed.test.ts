import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRecord, runSandbox } from "../../src/cli/commands/sandbox.js";
import { UsageError } from "../../src/engine/errors.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { SandboxDnsClient } from "../../src/providers/sandbox-dns/client.js";
import { runCli } from "../support/cli.js";
import { useTempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

/**
 * The README's rehearsal: `clustershift sandbox --seed APP` in one terminal, the shipped playbook planned and
 * applied from another. The sandbox runs here in-process; the CLI is the built one, as a child process.
 */
async function withSeededSandbox<T>(
  dir: string,
  options: { seed?: string; zones?: string[]; records?: string[] },
  body: (kubeconfig: string, lines: string[]) => Promise<T>,
): Promise<T> {
  const kubeconfig = join(dir, `sandbox-${options.seed ?? "plain"}.kubeconfig`);
  const lines: string[] = [];
  const stop = new AbortController();
  const running = runSandbox(
    { kubeconfig, clusters: ["source"], istio: false, ...options, signal: stop.signal },
    (line) => lines.push(line),
  );
  try {
    await eventually(() => (lines.some((l) => l.startsWith("Press Ctrl-C")) ? true : undefined), 60_000, {
      message: () => `the sandbox did not start: ${lines.join("\n")}`,
    });
    return await body(kubeconfig, lines);
  } finally {
    stop.abort();
    await running;
  }
}

describe("clustershift sandbox --seed", () => {
  const dir = useTempDir("sandbox-seed");

  it("Given --seed bookinfo, When the sandbox runs, Then Bookinfo, the source ingress and its DNS record are there and the shipped playbook plans, applies and rolls back", async () => {
    await withSeededSandbox(dir(), { seed: "bookinfo" }, async (kubeconfig, lines) => {
      const output = lines.join("\n");
      expect(output).toContain("Rehearse the migration in another terminal:");
      expect(output).toContain("  clustershift plan -f playbooks/bookinfo-sandbox.yaml");
      const source = createClusterClient("source", { kubeconfig });
      const ingress = await source.get({
        apiVersion: "v1",
        kind: "Service",
        namespace: "istio-system",
        name: "istio-ingressgateway",
      });
      const address = (ingress?.status as { loadBalancer: { ingress: { ip: string }[] } }).loadBalancer
        .ingress[0]?.ip;
      const dns = new SandboxDnsClient({ context: "source", kubeconfig });
      const zone = await dns.findZone({ zone: "example.com." });
      const records = await dns.listRecordSets(zone, "bookinfo.example.com.");
      expect(records).toEqual([{ name: "bookinfo.example.com.", type: "A", ttl: 30, values: [address] }]);

      const env = { KUBECONFIG: kubeconfig };
      const state = ["--state-dir", join(dir(), "state")];
      const playbook = ["-f", "playbooks/bookinfo-sandbox.yaml"];
      const plan = await runCli(["plan", ...playbook, ...state], { env });
      expect(plan.stderr).not.toContain("error");
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain("mirror-workloads");

      const apply = await runCli(["apply", ...playbook, ...state, "--yes", "--non-interactive"], { env });
      expect(apply.stderr).not.toContain("error");
      expect(apply.code).toBe(0);
      expect(await dns.listRecordSets(zone, "bookinfo.example.com.")).not.toEqual(records);

      const rollback = await runCli(["rollback", ...playbook, ...state, "--yes"], { env });
      expect(rollback.code).toBe(0);
      expect(await dns.listRecordSets(zone, "bookinfo.example.com.")).toEqual(records);
    });
  }, 600_000);

  it("Given --seed online-boutique, When the shipped sandbox playbook is planned, Then it plans without an error", async () => {
    await withSeededSandbox(dir(), { seed: "online-boutique" }, async (kubeconfig) => {
      const plan = await runCli(
        ["plan", "-f", "playbooks/online-boutique-sandbox.yaml", "--state-dir", join(dir(), "ob")],
        { env: { KUBECONFIG: kubeconfig } },
      );
      expect(plan.stderr).not.toContain("error");
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain("onlineboutique");
    });
  }, 600_000);

  it("Given --zone and --record, When the sandbox runs, Then the zone holds the record and the banner lists it", async () => {
    await withSeededSandbox(
      dir(),
      { zones: ["example.org"], records: ["www.example.org A 127.0.0.9,127.0.0.10 120"] },
      async (kubeconfig, lines) => {
        expect(lines).toContain("    www.example.org. A 127.0.0.9,127.0.0.10 (TTL 120)");
        const dns = new SandboxDnsClient({ context: "source", kubeconfig });
        const zone = await dns.findZone({ zone: "example.org." });
        expect(await dns.listRecordSets(zone, "www.example.org.")).toEqual([
          { name: "www.example.org.", type: "A", ttl: 120, values: ["127.0.0.9", "127.0.0.10"] },
        ]);
      },
    );
  });

  it("Given a record outside every zone or a malformed one, When the sandbox starts, Then it refuses before starting anything", async () => {
    await expect(
      runSandbox(
        {
          kubeconfig: join(dir(), "never"),
          clusters: ["source"],
          istio: false,
          records: ["a.example.net A 1.2.3.4"],
        },
        () => undefined,
      ),
    ).rejects.toThrow("--record a.example.net.: no zone contains it; add one with --zone (zones: none)");
    expect(() => parseRecord("shop.example.com A")).toThrow(UsageError);
    expect(() => parseRecord("shop.example.com MX 10 mail 300")).toThrow(
      '--record "shop.example.com MX 10 mail 300": expected NAME TYPE VALUE[,VALUE…] [TTL], e.g. --record "shop.example.com A 127.0.0.1 300"',
    );
    expect(parseRecord("shop.example.com cname lb.example.net")).toEqual({
      name: "shop.example.com.",
      type: "CNAME",
      ttl: 300,
      values: ["lb.example.net"],
    });
  });
});
