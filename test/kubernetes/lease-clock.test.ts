import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LockedError } from "../../src/engine/errors.js";
import { KubernetesJournalStore } from "../../src/engine/journal/kubernetes-store.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import { ROOT } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { eventually, sleep } from "../support/wait.js";

const HOLDER = resolve(ROOT, "test/kubernetes/fixtures/lease-holder.mjs");
const holder = (host: string) => ({ pid: process.pid, host, since: "2026-11-28T00:00:00.000Z" });

/** A lease-holder process and what it said, line by line. */
function startHolder(
  kubeconfig: string,
  playbook: string,
): { child: ChildProcessWithoutNullStreams; lines: string[] } {
  // A 3 s lease renewed every second: the 60 s lease and 65 s stop of the issue, scaled down.
  const child = spawn("node", [HOLDER, kubeconfig, playbook, "3", "1000"]);
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

const said = (lines: string[], prefix: string) => () => lines.find((l) => l.startsWith(prefix));

describe.each(SUBSTRATES)(
  "the Lease of the kubernetes state backend against clocks and stops on %s",
  (substrate) => {
    const clusters = useClusters(substrate, { clusters: ["source"], istio: false });
    const store = (playbook: string, options: ConstructorParameters<typeof KubernetesJournalStore>[3] = {}) =>
      new KubernetesJournalStore(
        createClusterClient("source", { kubeconfig: clusters().kubeconfigPath }),
        playbook,
        "clustershift",
        options,
      );

    it(`Given a live Lease on ${substrate}, When a runner whose clock is 120 s ahead locks, Then it is refused: the Lease's times are judged on the server's clock`, async () => {
      const live = await store("ahead", { leaseDurationSeconds: 60 }).lock(holder("runner-a"), () => {});
      const ahead = store("ahead", { now: () => new Date(Date.now() + 120_000) });
      await expect(ahead.lock(holder("runner-b"), () => {})).rejects.toThrow(LockedError);
      await expect(ahead.lock(holder("runner-b"), () => {})).rejects.toThrow(
        /^locked by pid \d+ on runner-a/,
      );
      await live.release();
    });

    it(`Given a process holding the Lease on ${substrate}, When it is SIGSTOPped for longer than the lease and nobody wanted the lock, Then after SIGCONT it renews by compare-and-swap and goes on appending`, async () => {
      const { child, lines } = startHolder(clusters().kubeconfigPath, "stopped-alone");
      try {
        await eventually(said(lines, "locked"), 60_000, { message: () => lines.join("\n") });
        child.stdin.write("append 1\n");
        await eventually(said(lines, "appended 1"), 30_000, { message: () => lines.join("\n") });
        child.kill("SIGSTOP");
        await sleep(5000);
        child.kill("SIGCONT");
        child.stdin.write("append 2\n");
        const answer = await eventually(
          () => lines.find((l) => l.startsWith("appended 2") || l.startsWith("refused")),
          30_000,
          { message: () => lines.join("\n") },
        );
        expect(answer).toBe("appended 2");
        expect((await store("stopped-alone").read()).map((e) => e.seq)).toEqual([1, 2]);
      } finally {
        child.kill("SIGKILL");
      }
    }, 120_000);

    it(`Given a process holding the Lease on ${substrate}, When it is SIGSTOPped for longer than the lease and another runner takes the lock meanwhile, Then after SIGCONT it stops without writing and says why`, async () => {
      const { child, lines } = startHolder(clusters().kubeconfigPath, "stopped-taken");
      try {
        await eventually(said(lines, "locked"), 60_000, { message: () => lines.join("\n") });
        child.stdin.write("append 1\n");
        await eventually(said(lines, "appended 1"), 30_000, { message: () => lines.join("\n") });
        child.kill("SIGSTOP");
        const warnings: string[] = [];
        // Refused while the stopped holder's lease runs (on the server's clock), taken once it ran out.
        const other = store("stopped-taken", { leaseDurationSeconds: 60 });
        const taken = await eventually(
          () => other.lock(holder("runner-b"), (w) => warnings.push(w)).catch(() => undefined),
          30_000,
          { intervalMs: 250 },
        );
        expect(warnings).toEqual([
          expect.stringMatching(/^taking over the lock of pid \d+ on .*: its lease expired at /),
        ]);
        child.kill("SIGCONT");
        child.stdin.write("append 2\n");
        const answer = await eventually(
          () => lines.find((l) => l.startsWith("appended 2") || l.startsWith("refused")),
          30_000,
          { message: () => lines.join("\n") },
        );
        console.log(`${substrate}: the stopped holder, resumed, said: ${answer}`);
        expect(answer).toMatch(/^refused: .*the lock was taken over by another process/);
        expect((await store("stopped-taken").read()).map((e) => e.seq)).toEqual([1]);
        await other.append({ type: "note", seq: 2, time: "", step: "s", note: "by the new holder" });
        await taken.release();
      } finally {
        child.kill("SIGKILL");
      }
    }, 120_000);
  },
);
