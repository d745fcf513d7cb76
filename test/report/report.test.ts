import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runSandbox } from "../../src/cli/commands/sandbox.js";
import { SandboxDnsClient } from "../../src/providers/sandbox-dns/client.js";
import { runCli } from "../support/cli.js";
import { tempDir, useTempDir } from "../support/temp.js";
import { requireTool } from "../support/tools.js";
import { eventually } from "../support/wait.js";
import { CHROMIUM_FOUND, CHROMIUM_HOW_TO_GET, dumpDom, screenshot } from "./chromium.js";
import { rows, section, text } from "./page.js";
import { colourStats, decodePng } from "./png.js";

const PLAYBOOK = "playbooks/bookinfo-sandbox.yaml";
const STEPS = [
  "provision-cluster",
  "install-ingress-gateway",
  "mirror-workloads",
  "expose-target",
  "shift-traffic[1]",
  "shift-traffic[2]",
  "shift-traffic[3]",
  "lower-dns-ttl",
  "cutover-dns",
];
const WIDTH = 1280;
const HEIGHT = 2000;

/**
 * The README's rehearsal (`sandbox --seed bookinfo`, the shipped playbook), run to completion by the built CLI,
 * then `clustershift report` opened in a real headless Chromium. Sandbox only: the report reads nothing but the
 * journal, whose records are the same on either substrate; the Kubernetes side of this very run is judged on a real
 * kube-apiserver by the e2e Bookinfo suite.
 */
async function withSeededSandbox<T>(dir: string, body: (kubeconfig: string) => Promise<T>): Promise<T> {
  const kubeconfig = join(dir, "sandbox.kubeconfig");
  const lines: string[] = [];
  const stop = new AbortController();
  const running = runSandbox(
    { kubeconfig, clusters: ["source"], istio: false, seed: "bookinfo", signal: stop.signal },
    (line) => lines.push(line),
  );
  try {
    await eventually(() => (lines.some((l) => l.startsWith("Press Ctrl-C")) ? true : undefined), 60_000, {
      message: () => `the sandbox did not start: ${lines.join("\n")}`,
    });
    return await body(kubeconfig);
  } finally {
    stop.abort();
    await running;
  }
}

/** Every credential the kubeconfig holds: none may reach the page. */
async function credentials(kubeconfig: string): Promise<string[]> {
  const config = parse(await readFile(kubeconfig, "utf8")) as {
    users?: { user?: Record<string, unknown> }[];
  };
  return (config.users ?? [])
    .flatMap((u) => Object.values(u.user ?? {}))
    .filter((v): v is string => typeof v === "string" && v.length >= 16);
}

describe("clustershift report in headless Chromium", () => {
  requireTool("chromium", CHROMIUM_FOUND, CHROMIUM_HOW_TO_GET);
  const dir = useTempDir("report");

  it("Given Bookinfo migrated to completion on the sandbox, When the report is rendered and opened in Chromium, Then the laid-out page shows every step and gate, the weights 0/10/50/100, the DNS record's values and TTLs and the rollback's own list, with no secret; And after the rollback it shows the way back and nothing left to undo", async () => {
    const artifacts = await tempDir("report-artifacts");
    process.stdout.write(`report artifacts (pages, screenshot): ${artifacts}\n`);
    await withSeededSandbox(dir(), async (kubeconfig) => {
      const env = { KUBECONFIG: kubeconfig };
      const stateDir = join(dir(), "state");
      const args = ["-f", PLAYBOOK, "--state-dir", stateDir];
      const dns = new SandboxDnsClient({ context: "source", kubeconfig });
      const zone = await dns.findZone({ zone: "example.com." });
      const [before] = await dns.listRecordSets(zone, "bookinfo.example.com.");
      const sourceAddress = before?.values?.[0];
      expect(sourceAddress).toBeDefined();

      const apply = await runCli(["apply", ...args, "--yes", "--non-interactive"], { env });
      expect(apply.stderr).not.toContain("error");
      expect(apply.code).toBe(0);
      const [after] = await dns.listRecordSets(zone, "bookinfo.example.com.");
      const targetAddress = after?.values?.[0];
      expect(targetAddress).toBeDefined();
      expect(targetAddress).not.toBe(sourceAddress);

      // When: the default output goes beside the state.
      const report = await runCli(["report", ...args], { env });
      expect(report.stderr).toBe("");
      expect(report.code).toBe(0);
      const page = join(stateDir, "bookinfo-sandbox-report.html");
      expect(report.stdout).toBe(`Report of bookinfo-sandbox written to ${page}\n`);
      const html = await readFile(page, "utf8");
      await copyFile(page, join(artifacts, "report-completed.html"));

      // Self-contained: nothing to fetch, and a policy that would forbid it anyway.
      expect(html).toContain(`http-equiv="Content-Security-Policy" content="default-src 'none';`);
      expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|@import|url\(/i);
      for (const secret of await credentials(kubeconfig)) expect(html).not.toContain(secret);
      expect(html).toMatch(/\(sensitive: \d+ keys?\)/);

      // The rollback's own preview, as `rollback` prints it before asking (it refuses without a terminal).
      const preview = await runCli(["rollback", ...args], { env });
      expect(preview.code).toBe(2);
      expect(preview.stdout).toContain("Rollback of bookinfo-sandbox: ");

      // Then: what Chromium laid out.
      const png = join(artifacts, "report-completed.png");
      await screenshot(page, png, WIDTH, HEIGHT);
      const dom = await dumpDom(page);

      expect(text(section(dom, "timeline").split("<table")[0] ?? "")).toContain("Timeline");
      const timeline = rows(section(dom, "timeline"), "timeline");
      const stepRows = timeline.filter((cells) => STEPS.some((id) => cells[0]?.endsWith(`\n${id}`)));
      expect(stepRows.map((cells) => cells[0]?.split("\n").at(-1))).toEqual(STEPS);
      expect(stepRows.map((cells) => cells[3])).toEqual(STEPS.map(() => "passed"));
      expect(stepRows.map((cells) => cells[0]?.split("\n")[0])).toContain("Shift traffic to 50%");
      const gates = timeline.filter((cells) => cells[0]?.startsWith("? gate"));
      expect(gates.map((cells) => [cells[0], cells[3], cells[4]])).toEqual([
        ["? gate shift-traffic[1]/pause", "passed", "paused 1s"],
        ["? gate shift-traffic[2]/pause", "passed", "paused 1s"],
      ]);
      const waits = timeline.filter((cells) => cells[0] === "= wait").map((cells) => cells[4]);
      expect(waits).toContain("old TTL  runs out of resolvers' caches");

      const traffic = rows(section(dom, "traffic"), "series-table");
      expect(traffic.map((cells) => [cells[0], cells[2], cells[3]])).toEqual([
        ["VirtualService bookinfo/bookinfo", "0%", "before the shift"],
        ["VirtualService bookinfo/bookinfo", "10%", "shift-traffic[1]"],
        ["VirtualService bookinfo/bookinfo", "50%", "shift-traffic[2]"],
        ["VirtualService bookinfo/bookinfo", "100%", "shift-traffic[3]"],
      ]);
      const record = "sandbox-dns record bookinfo.example.com. A";
      const dnsRows = rows(section(dom, "dns"), "series-table");
      expect(dnsRows.map((cells) => [cells[0], cells[2], cells[3], cells[4]])).toEqual([
        [record, sourceAddress, "30s", "before the run"],
        [record, sourceAddress, "5s", "lower-dns-ttl"],
        [record, targetAddress, "5s", "cutover-dns"],
      ]);

      const rollback = section(dom, "rollback");
      const list = /<pre class="preview">([\s\S]*?)<\/pre>/.exec(rollback)?.[1];
      expect(text(list ?? "")).toBe(preview.stdout.trimEnd());
      expect(text(rollback)).not.toContain("Nothing to roll back");

      const image = decodePng(await readFile(png));
      expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
      const colours = colourStats(image);
      // Text, bars, badges and charts: hundreds of colours, and a good part of the page not background.
      expect(colours.distinct).toBeGreaterThan(100);
      expect(colours.notBackground).toBeGreaterThan(0.05);
      process.stdout.write(
        `screenshot ${png}: ${image.width}×${image.height}, ${colours.distinct} colours, ${(colours.notBackground * 100).toFixed(1)}% not background\n`,
      );

      // And: rolled back, the page shows the way back and nothing left to undo; `--out -` prints it.
      const back = await runCli(["rollback", ...args, "--yes"], { env });
      expect(back.code).toBe(0);
      const printed = await runCli(["report", ...args, "--out", "-"], { env });
      expect(printed.code).toBe(0);
      expect(printed.stdout.startsWith("<!doctype html>")).toBe(true);
      const rolledBack = join(artifacts, "report-rolled-back.html");
      const written = await runCli(["report", ...args, "--out", rolledBack], { env });
      expect(written.stdout).toBe(`Report of bookinfo-sandbox written to ${rolledBack}\n`);
      const domBack = await dumpDom(rolledBack);
      expect(text(section(domBack, "rollback"))).toContain("Nothing to roll back");
      expect(rows(section(domBack, "traffic"), "series-table").map((cells) => [cells[2], cells[3]])).toEqual([
        ["0%", "before the shift"],
        ["10%", "shift-traffic[1]"],
        ["50%", "shift-traffic[2]"],
        ["100%", "shift-traffic[3]"],
        ["50%", "rollback of shift-traffic[3]"],
        ["10%", "rollback of shift-traffic[2]"],
        ["0%", "rollback of shift-traffic[1]"],
      ]);
      expect(
        rows(section(domBack, "dns"), "series-table").map((cells) => [cells[2], cells[3], cells[4]]),
      ).toEqual([
        [sourceAddress, "30s", "before the run"],
        [sourceAddress, "5s", "lower-dns-ttl"],
        [targetAddress, "5s", "cutover-dns"],
        [sourceAddress, "5s", "rollback of cutover-dns"],
        [sourceAddress, "30s", "rollback of lower-dns-ttl"],
      ]);
      expect(text(domBack)).toContain("rolled back");
    });
  }, 900_000);
});
