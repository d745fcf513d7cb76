import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/engine/events.js";
import { apply } from "../../src/engine/executor.js";
import { LocalJournalStore } from "../../src/engine/journal/local-store.js";
import { Registry } from "../../src/engine/registry.js";
import { foldJournal } from "../../src/engine/run-state.js";
import type { JournalEntry, NoteEntry } from "../../src/engine/types.js";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import { lowerDnsTtlStep } from "../../src/steps/lower-dns-ttl/index.js";
import { inProcessEngine } from "../support/engine.js";
import { aRecord, DnsRun, dnsPlaybook, useDnsSandbox } from "./harness.js";

const { dns, kubeconfig, seedZone } = useDnsSandbox("resume");

function dnsSpec(ttl: number) {
  const seeded = seedZone(ttl);
  return {
    seeded,
    spec: { provider: "sandbox", zone: seeded.zone, record: seeded.record, target: "203.0.113.7" },
  };
}

const ttlLine = (record: string) => `wait sandbox-dns ttl ${record} A: waiting out the old TTL:`;
const insyncLine = (record: string) => `wait sandbox-dns change ${record} A: waiting for INSYNC`;
/** The seconds each `waiting out the old TTL: Ns left` line announced. */
const secondsLeft = (details: string[]) =>
  details.flatMap((d) => /waiting out the old TTL: (\d+)s left$/.exec(d)?.[1] ?? []).map(Number);

/** Time passing while the run is stopped: every journaled old-TTL deadline comes `ms` closer. */
function elapse<T extends JournalEntry>(entry: T, ms: number): T {
  if (entry.type !== "note" || entry.note !== "ttl-wait") return entry;
  const data = entry.data as { until: string };
  return { ...entry, data: { ...data, until: new Date(Date.parse(data.until) - ms).toISOString() } };
}

describe("resuming the DNS steps after a stop", () => {
  it("Given a journal with notes of two steps and a rollback of one step's kind, when folded, then a resumed step sees only the notes of steps not rolled back", () => {
    let seq = 0;
    const at = <E extends Record<string, unknown>>(entry: E) => ({ ...entry, seq: ++seq, time: "t" });
    const entries = [
      at({ type: "run-started", playbook: "shop", pid: 1, host: "h" }),
      at({ type: "step-started", step: "shift-traffic[1]", kind: "shift-traffic" }),
      at({ type: "note", step: "shift-traffic[1]", note: "measurement", data: { value: 1 } }),
      at({ type: "step-started", step: "lower-dns-ttl", kind: "lower-dns-ttl" }),
      at({ type: "note", step: "lower-dns-ttl", note: "ttl-wait", data: { until: "2030-01-01T00:00:00Z" } }),
      at({ type: "rollback-started", reason: "gate failed", kinds: ["shift-traffic"] }),
      at({ type: "rollback-finished", kinds: ["shift-traffic"] }),
    ] as JournalEntry[];

    expect(foldJournal(entries).notes.map((n) => [n.step, n.note])).toEqual([["lower-dns-ttl", "ttl-wait"]]);
    expect(foldJournal([...entries, at({ type: "rollback-finished" }) as JournalEntry]).notes).toEqual([]);
  });

  it("Given apply stopped during the old-TTL wait and run again 6s later through the engine's journal, then lower-dns-ttl waits only the last 2s of the 8s TTL, with no new batch and no INSYNC wait", async () => {
    const { seeded, spec } = dnsSpec(8);
    const playbook = dnsPlaybook(spec);
    const stateDir = join(dirname(kubeconfig()), "state");
    const store = new LocalJournalStore(stateDir, playbook.metadata.name);
    const engine = (stopWhen?: (event: RunEvent) => boolean) =>
      inProcessEngine({
        registry: new Registry().step(lowerDnsTtlStep).step(cutoverDnsStep),
        playbook,
        stateDir,
        playbookFile: "shop.yaml",
        kubeconfig: kubeconfig(),
        store,
        ...(stopWhen ? { stopWhen } : {}),
      });
    const ttlWaits = (events: RunEvent[]) =>
      events.flatMap((e) => (e.type === "wait-progress" && e.address.includes(" ttl ") ? [e.detail] : []));

    const first = engine((e) => e.type === "wait-progress" && e.address.includes(" ttl "));
    const started = Date.now();
    const stopped = apply(first.engine, () => Promise.resolve(true));
    await expect(stopped).rejects.toThrow("stopped by the test");
    // The seconds left are measured when the wait reports (a busy machine reports later, with fewer left): the
    // report is one, of the TTL at most plus the Date header's rounding up; that the whole TTL is waited is what
    // the journaled deadline below says.
    expect(ttlWaits(first.events)).toEqual([expect.stringMatching(/^waiting out the old TTL: \d+s left$/)]);
    expect(secondsLeft(ttlWaits(first.events))[0]).toBeLessThanOrEqual(9);
    const journal = join(stateDir, playbook.metadata.name, "journal.jsonl");
    const entries = (await readFile(journal, "utf8"))
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as JournalEntry);
    const notes = entries.filter((e): e is NoteEntry => e.type === "note");
    expect(notes.map((n) => [n.step, n.note, Object.keys(n.data as object)])).toEqual([
      ["lower-dns-ttl", "dns-change", ["address", "change"]],
      ["lower-dns-ttl", "dns-insync", ["change"]],
      ["lower-dns-ttl", "ttl-wait", ["until", "clock"]],
      // The engine journals why the step stopped (here the test's stop) for status and the report.
      ["lower-dns-ttl", "step-failed", ["error"]],
    ]);
    const [changed, insync, ttlWait] = notes.map((n) => n.data as { change?: string; until?: string });
    expect(insync?.change).toBe(changed?.change);
    expect(Date.parse(ttlWait?.until ?? "") - started).toBeGreaterThanOrEqual(8000);
    await writeFile(journal, entries.map((e) => JSON.stringify(elapse(e, 6000)) + "\n").join(""));

    const resumed = engine();
    const outcome = await apply(resumed.engine, () => Promise.resolve(true));

    expect(outcome.outcome).toBe("completed");
    const left = secondsLeft(ttlWaits(resumed.events));
    expect(left.length).toBeGreaterThan(0);
    // What remains (2 s) and at most 2 s more: the server's Date header counts whole seconds, rounded the safe way
    // (engine/clock.ts); never less.
    expect(Math.max(...left)).toBeLessThanOrEqual(4);
    expect(
      resumed.events.filter(
        (e) => e.type === "wait-progress" && e.step === "lower-dns-ttl" && !e.address.includes(" ttl "),
      ),
    ).toEqual([]);
    const state = foldJournal(await store.read());
    expect(state.pending.map((c) => c.step)).toEqual(["lower-dns-ttl", "cutover-dns"]);
    expect(dns.recordSets(seeded.id)).toEqual([aRecord(seeded.record, 5, "203.0.113.7")]);
  });

  it("Given a run stopped during the old-TTL wait and resumed after the TTL ran out, then lower-dns-ttl says so and does not wait", async () => {
    const { seeded, spec } = dnsSpec(8);
    const run = new DnsRun(dnsPlaybook(spec), undefined, { kubeconfig: kubeconfig() });
    run.stopAt((line) => line.startsWith(ttlLine(seeded.record)));
    await expect(run.applyAll(undefined, "lower-dns-ttl")).rejects.toThrow("stopped by the test");
    run.notes.splice(0, run.notes.length, ...run.notes.map((note) => elapse(note, 9000)));
    const mark = run.progress.lines.length;

    const [lowered] = await run.applyAll(undefined, "lower-dns-ttl");

    expect(lowered?.verification.outcome).toBe("passed");
    expect(run.progress.lines.slice(mark)).toEqual([
      `wait sandbox-dns ttl ${seeded.record} A: the old TTL ran out while the run was stopped`,
    ]);
    expect(run.entries).toHaveLength(1);
  });

  it("Given a run stopped while its TTL batch was PENDING, when resumed, then it waits for INSYNC of the journaled change rather than sending another, then the whole old TTL", async () => {
    const { seeded, spec } = dnsSpec(6);
    const run = new DnsRun(dnsPlaybook(spec), undefined, { kubeconfig: kubeconfig() });
    run.stopAt((line) => line.startsWith(insyncLine(seeded.record)));
    await expect(run.applyAll(undefined, "lower-dns-ttl")).rejects.toThrow("stopped by the test");
    expect(run.notes.map((n) => n.note)).toEqual(["dns-change"]);
    expect(dns.recordSets(seeded.id)).toEqual([aRecord(seeded.record, 5)]);
    const mark = run.progress.lines.length;

    // The rest of the 6s TTL is not what this test is about: stop again once the countdown starts.
    run.stopAt((line) => line.startsWith(ttlLine(seeded.record)));
    const started = Date.now();
    await expect(run.applyAll(undefined, "lower-dns-ttl")).rejects.toThrow("stopped by the test");

    const lines = run.progress.lines.slice(mark);
    // Both lines carry measured seconds (waited so far, left): their form is pinned, and the deadline below says
    // that the whole TTL is waited.
    expect(lines[0]).toMatch(new RegExp(`^${insyncLine(seeded.record)} \\(\\d+s\\)$`));
    expect(lines.at(-1)).toMatch(new RegExp(`^${ttlLine(seeded.record)} \\d+s left$`));
    expect(secondsLeft(lines.slice(-1))[0]).toBeLessThanOrEqual(7);
    expect(run.entries).toHaveLength(1);
    const [changed, insync, ttl] = run.notes;
    expect(run.notes.map((n) => n.note)).toEqual(["dns-change", "dns-insync", "ttl-wait"]);
    expect((insync?.data as { change: string }).change).toBe((changed?.data as { change: string }).change);
    const until = Date.parse((ttl?.data as { until: string }).until);
    expect(until - started).toBeGreaterThanOrEqual(6000);
    // The start as the server's Date header told it, rounded up to its next whole second (engine/clock.ts).
    expect(until - Date.now()).toBeLessThanOrEqual(7000);
  });
});
