import { describe, expect, it } from "vitest";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import { lowerDnsTtlStep } from "../../src/steps/lower-dns-ttl/index.js";
import { RunHarness } from "../support/harness.js";
import { playbookDocument } from "../support/step-harness.js";
import { aRecord, useDnsSandbox } from "./harness.js";

const world = useDnsSandbox("engine");

/** The DNS steps on the sandbox DNS, driven by the engine's own plan, apply and rollback. */
function dnsHarness(zone: string, record: string, dns: Record<string, unknown> = {}): RunHarness {
  return new RunHarness(
    [lowerDnsTtlStep, cutoverDnsStep],
    playbookDocument("dns-engine", {
      source: { context: "source" },
      target: { context: "target" },
      dns: { provider: "sandbox", zone, record, lowTtl: 5, target: "203.0.113.7", ...dns },
    }),
    { kubeconfig: world.kubeconfig() },
  );
}

describe("the DNS steps through the real executor, on the sandbox DNS", () => {
  it("Given a record cut over by apply, When rollback runs twice (the second from the same journal, as after a crash), Then the original record is back, and each journal entry alone says where: provider, zone id, record, before-image", async () => {
    const { id, zone, record } = world.seedZone(5);
    const run = dnsHarness(zone, record);

    const applied = await run.apply();

    expect(applied.outcome.outcome).toBe("completed");
    expect(world.dns.recordSets(id)).toEqual([aRecord(record, 5, "203.0.113.7")]);
    const entries = await run.entries();
    expect(entries.map((e) => [e.step, e.action, e.target, e.before])).toEqual([
      [
        "cutover-dns",
        "update",
        {
          type: "dns.recordset",
          provider: "sandbox-dns",
          zone: { id, name: zone, private: false },
          name: record,
          recordType: "A",
          context: "source",
        },
        [aRecord(record, 5)],
      ],
    ]);

    await run.rollbackTwice();

    expect(world.dns.recordSets(id)).toEqual([aRecord(record, 5)]);
  });

  it("Given a record cut over by apply, When spec.dns is removed from the playbook and rollback runs, Then the journal alone finds the sandbox DNS, the zone and the record, and the original is back", async () => {
    const { id, zone, record } = world.seedZone(5);
    const run = dnsHarness(zone, record);
    await run.apply();
    expect(world.dns.recordSets(id)).toEqual([aRecord(record, 5, "203.0.113.7")]);
    const withoutDns = new RunHarness(
      [lowerDnsTtlStep, cutoverDnsStep],
      playbookDocument("dns-engine", { source: { context: "source" }, target: { context: "target" } }),
      { kubeconfig: world.kubeconfig(), store: run.store },
    );

    await withoutDns.rollback();

    expect(world.dns.recordSets(id)).toEqual([aRecord(record, 5)]);
  });

  it("Given a completed cutover, When planned again, Then the DNS steps propose nothing", async () => {
    const { zone, record } = world.seedZone(5);
    const run = dnsHarness(zone, record);
    await run.apply();

    const plans = await run.plan();

    expect(plans.flatMap((p) => p.changes).filter((c) => c.action === "update")).toEqual([]);
  });
});
