import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  InvalidChangeBatch,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DriftError, RuntimeError } from "../../src/engine/errors.js";
import { Route53Dns } from "../../src/providers/route53/client.js";
import { DnsRun, dnsPlaybook } from "./harness.js";

// moto answers INSYNC at once; Route 53's PENDING → INSYNC timing is played here.
const route53 = mockClient(Route53Client);

beforeEach(() => route53.reset());
afterAll(() => route53.restore());

const ZONE = {
  Id: "/hostedzone/Z0EXAMPLE",
  Name: "example.com.",
  CallerReference: "x",
  Config: { PrivateZone: false },
};
const OLD: ResourceRecordSet = {
  Name: "shop.example.com.",
  Type: "A",
  TTL: 5,
  ResourceRecords: [{ Value: "192.0.2.10" }],
};
const NEW: ResourceRecordSet = {
  Name: "shop.example.com.",
  Type: "A",
  TTL: 5,
  ResourceRecords: [{ Value: "203.0.113.7" }],
};

/** A poll's report while PENDING: the seconds waited so far are measured, so a busy machine may show more. */
const INSYNC_REPORT = /^waiting for INSYNC \(\d+s\)$/;

function pending(id = "/change/C1") {
  return { ChangeInfo: { Id: id, Status: "PENDING" as const, SubmittedAt: new Date() } };
}
function insync(id = "/change/C1") {
  return { ChangeInfo: { Id: id, Status: "INSYNC" as const, SubmittedAt: new Date() } };
}

/** The zone holds `records.current`; a change batch runs `onChange`, as Route 53 would apply it. */
function zoneWith(
  records: { current: ResourceRecordSet[] },
  onChange: () => ReturnType<typeof pending>,
): void {
  route53
    .on(ListHostedZonesByNameCommand)
    .resolves({ HostedZones: [ZONE], IsTruncated: false, MaxItems: 100 });
  route53.on(GetHostedZoneCommand).resolves({ HostedZone: ZONE, DelegationSet: { NameServers: [] } });
  route53
    .on(ListResourceRecordSetsCommand)
    .callsFake(() => ({ ResourceRecordSets: records.current, IsTruncated: false, MaxItems: 300 }));
  route53.on(ChangeResourceRecordSetsCommand).callsFake(onChange);
}

describe("waiting for a Route 53 change", () => {
  it("Given a change PENDING for two polls, when waited for, then it reports the wait and returns once INSYNC", async () => {
    route53.on(GetChangeCommand).resolvesOnce(pending()).resolvesOnce(pending()).resolves(insync());
    const lines: string[] = [];
    await new Route53Dns({ pollIntervalMs: 20 }).waitForChange(
      { id: "C1", status: "PENDING" },
      { onProgress: (d) => lines.push(d) },
    );
    // One report per poll, each with the time waited so far: a measured time, so only its form is pinned.
    expect(lines).toEqual(Array.from({ length: 3 }, () => expect.stringMatching(INSYNC_REPORT) as unknown));
    expect(route53.commandCalls(GetChangeCommand).map((c) => c.args[0].input)).toEqual([
      { Id: "C1" },
      { Id: "C1" },
      { Id: "C1" },
    ]);
  });

  it("Given a change that stays PENDING, when the wait times out, then the error says apply resumes", async () => {
    route53.on(GetChangeCommand).resolves(pending());
    const wait = new Route53Dns({ pollIntervalMs: 20, syncTimeoutMs: 100 }).waitForChange(
      { id: "C1", status: "PENDING" },
      { onProgress: () => undefined },
    );
    await expect(wait).rejects.toThrow(RuntimeError);
    await expect(wait).rejects.toThrow(
      /DNS change C1 is still PENDING after \d+ms; .* run `clustershift apply` again to wait on/,
    );
  });

  it("Given a cutover whose change is PENDING, when applied, then the step waits for INSYNC before it verifies", async () => {
    const records = { current: [OLD] };
    zoneWith(records, () => {
      records.current = [NEW];
      return pending();
    });
    route53.on(GetChangeCommand).resolvesOnce(pending()).resolvesOnce(pending()).resolves(insync());
    const run = new DnsRun(
      dnsPlaybook({ target: "203.0.113.7" }),
      new Route53Dns({ pollIntervalMs: 20, verifyServers: [] }),
    );

    const [, cutover] = await run.applyAll();

    expect(cutover?.id).toBe("cutover-dns");
    expect(run.progress.lines.filter((l) => l.includes("INSYNC"))).toEqual(
      Array.from(
        { length: 3 },
        () =>
          expect.stringMatching(
            /^wait route53 change shop\.example\.com\. A: waiting for INSYNC \(\d+s\)$/,
          ) as unknown,
      ),
    );
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(3);
    const [batch] = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch?.Changes);
    expect(batch).toEqual([
      { Action: "DELETE", ResourceRecordSet: OLD },
      { Action: "CREATE", ResourceRecordSet: NEW },
    ]);
  });

  it("Given the record changes between the last read and the batch, when Route 53 refuses the DELETE, then apply reports drift and journals the attempt only", async () => {
    const changed = { ...OLD, ResourceRecords: [{ Value: "192.0.2.99" }] };
    const records = { current: [OLD] };
    zoneWith(records, () => {
      // Someone else's change lands first; Route 53 then refuses our DELETE of the old value.
      records.current = [changed];
      throw new InvalidChangeBatch({
        message:
          "[Tried to delete resource record set [name='shop.example.com.', type='A'] but the values provided do not match the current values]",
        $metadata: {},
      });
    });
    const run = new DnsRun(dnsPlaybook({ target: "203.0.113.7" }), new Route53Dns({ pollIntervalMs: 20 }));

    const apply = run.applyAll();

    await expect(apply).rejects.toThrow(DriftError);
    await expect(apply).rejects.toThrow(
      "the record shop.example.com. A changed since the plan: values 192.0.2.10 → 192.0.2.99 (expected A 192.0.2.10 ttl 5, found A 192.0.2.99 ttl 5); nothing was changed",
    );
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(0);
    expect(run.entries.map((e) => e.step)).toEqual(["cutover-dns"]);
  });
});
