import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { withoutServerMetadata } from "../../src/providers/kubernetes/metadata.js";
import { ROOT } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { tempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

const RUNNER = resolve(ROOT, "test/kubernetes/fixtures/lease-race-runner.mjs");
const RUNNERS = 8;
const ROUNDS = 50;

/** Holders in log order: a `+` while another holds the lock is two holders at once. */
function overlaps(log: string): string[] {
  let holder: string | undefined;
  const found: string[] = [];
  for (const line of log.split("\n").filter(Boolean)) {
    const pid = line.slice(1);
    if (line.startsWith("+")) {
      if (holder) found.push(`${pid} took the lock while ${holder} held it`);
      holder = pid;
    } else if (holder === pid) {
      holder = undefined;
    }
  }
  return found;
}

interface Runner {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
}

function startRunner(kubeconfig: string, log: string): Runner {
  const child = spawn("node", [RUNNER, kubeconfig, log]);
  const lines: string[] = [];
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString("utf8")).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.on("data", (chunk: Buffer) => lines.push(`stderr: ${chunk.toString("utf8")}`));
  return { child, lines };
}

describe.each(SUBSTRATES)("the Lease of the kubernetes state backend, raced on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source"], istio: false });

  it(`Given an expired Lease and ${RUNNERS} runners on ${substrate}, When all take it at the same instant (${ROUNDS} times), Then never two hold it at once`, async () => {
    const dir = await tempDir("lease-race");
    const log = join(dir, "holders.log");
    await writeFile(log, "");
    const runners = Array.from({ length: RUNNERS }, () => startRunner(clusters().kubeconfigPath, log));
    try {
      await eventually(() => (runners.every((r) => r.lines.includes("ready")) ? true : undefined), 60_000, {
        message: () => runners.map((r) => r.lines.join(" | ")).join("\n"),
      });
      await clusters().seed("source", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "clustershift" } },
      ]);
      const counts: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const playbook = `race-${round}`;
        // A holder that crashed long ago, on another machine: every runner sees an expired Lease to take over.
        await clusters().seed(
          "source",
          [
            withoutServerMetadata({
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: `clustershift-${playbook}`, namespace: "clustershift" },
              spec: {
                holderIdentity: "4242@crashed-runner",
                leaseDurationSeconds: 15,
                acquireTime: "2025-01-01T00:00:00.000000Z",
                renewTime: "2025-01-01T00:00:10.000000Z",
              },
            }),
          ],
          "kubectl",
        );
        await writeFile(log, "");
        const startAt = Date.now() + 1000;
        for (const runner of runners) runner.child.stdin.write(`${round} ${playbook} ${startAt}\n`);
        const answers = await eventually(
          () => {
            const mine = runners.map((r) => r.lines.find((l) => l.startsWith(`${round} `)));
            return mine.every((a) => a !== undefined) ? mine : undefined;
          },
          60_000,
          { message: () => runners.map((r) => r.lines.join(" | ")).join("\n") },
        );
        expect(overlaps(await readFile(log, "utf8")), `round ${round}: ${answers.join(" | ")}`).toEqual([]);
        const acquired = answers.filter((a) => a === `${round} acquired`).length;
        expect(acquired).toBeGreaterThanOrEqual(1);
        for (const refused of answers.filter((a) => a !== `${round} acquired`))
          expect(refused).toMatch(new RegExp(`^${round} refused: locked by pid \\d+`));
        counts.push(acquired);
      }
      console.log(
        `${substrate}: ${ROUNDS} rounds of ${RUNNERS} runners, never two holders at once; ` +
          `holders one after another per round: ${JSON.stringify(tally(counts))} (holders: rounds)`,
      );
    } finally {
      for (const runner of runners) runner.child.kill("SIGKILL");
    }
  }, 900_000);
});

function tally(counts: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const c of counts) out[c] = (out[c] ?? 0) + 1;
  return out;
}
