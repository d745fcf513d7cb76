import { describe, expect, it } from "vitest";
import { KNOWN_AFTER_APPLY } from "../../src/engine/types.js";
import { fqdn, recordInZone } from "../../src/providers/route53/names.js";
import type { RecordSet, Zone } from "../../src/providers/route53/port.js";
import { applyBatch, InvalidChangeBatch } from "../../src/sandbox/dns/index.js";
import { chainStates, SOURCE_ID, TARGET_ID } from "../../src/steps/dns-common/chain.js";
import { dnsPlaybook } from "./harness.js";

const ZONE: Zone = { id: "Z1", name: "example.com.", private: false };
const A = (value: string, ttl = 300): RecordSet => ({
  name: "shop.example.com.",
  type: "A",
  ttl,
  values: [value],
});

function refused(records: RecordSet[], changes: Parameters<typeof applyBatch>[2]): string[] {
  try {
    applyBatch(ZONE, records, changes);
  } catch (error) {
    if (error instanceof InvalidChangeBatch) return error.reasons;
    throw error;
  }
  throw new Error("the batch was accepted");
}

describe("DNS names", () => {
  it("Given names in any case, with or without the trailing dot or Route 53's octal escapes, then they compare as one", () => {
    expect(fqdn("Shop.Example.COM")).toBe("shop.example.com.");
    expect(fqdn("\\052.example.com.")).toBe("*.example.com.");
    expect(recordInZone("shop.example.com", "example.com.")).toBe(true);
    expect(recordInZone("example.com.", "EXAMPLE.com")).toBe(true);
    expect(recordInZone("shop.notexample.com", "example.com")).toBe(false);
    expect(recordInZone("example.org", "example.com")).toBe(false);
  });
});

describe("sandbox DNS change batches (Route 53 semantics)", () => {
  it("Given a record, when a batch deletes it exactly and creates its successor, then both apply at once", () => {
    expect(
      applyBatch(
        ZONE,
        [A("192.0.2.10")],
        [
          { action: "DELETE", record: A("192.0.2.10") },
          { action: "CREATE", record: A("203.0.113.7", 30) },
        ],
      ),
    ).toEqual([A("203.0.113.7", 30)]);
  });

  it("Given a record, when a batch creates it again or deletes it with other values, then the whole batch is refused with Route 53's reasons", () => {
    expect(refused([A("192.0.2.10")], [{ action: "CREATE", record: A("192.0.2.10") }])).toEqual([
      "Tried to create resource record set [name='shop.example.com.', type='A'] but it already exists",
    ]);
    expect(
      refused(
        [A("192.0.2.10")],
        [
          { action: "DELETE", record: A("192.0.2.10", 60) },
          { action: "CREATE", record: A("203.0.113.7", 60) },
        ],
      ),
    ).toEqual([
      "Tried to delete resource record set [name='shop.example.com.', type='A'] but the values provided do not match the current values",
      "Tried to create resource record set [name='shop.example.com.', type='A'] but it already exists",
    ]);
    expect(refused([], [{ action: "DELETE", record: A("192.0.2.10") }])).toEqual([
      "Tried to delete resource record set [name='shop.example.com.', type='A'] but it was not found",
    ]);
  });

  it("Given a record, when a CNAME would join it or a weighted set would mix with it, then the batch is refused", () => {
    const cname: RecordSet = {
      name: "shop.example.com.",
      type: "CNAME",
      ttl: 60,
      values: ["lb.example.net."],
    };
    expect(refused([A("192.0.2.10")], [{ action: "CREATE", record: cname }])).toEqual([
      "RRSet of type CNAME with DNS name shop.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.",
    ]);
    const weighted = { ...A("203.0.113.7"), setIdentifier: "b", weight: 1 };
    expect(refused([A("192.0.2.10")], [{ action: "CREATE", record: weighted }])).toEqual([
      "RRSet with DNS name shop.example.com., type A mixes a simple record set with routing-policy record sets",
    ]);
  });

  it("Given records outside the zone or malformed, then they are refused before anything applies", () => {
    expect(
      refused(
        [],
        [
          {
            action: "UPSERT",
            record: { name: "shop.example.org", type: "A", ttl: 60, values: ["192.0.2.1"] },
          },
        ],
      ),
    ).toEqual(["RRSet with DNS name shop.example.org. is not permitted in zone example.com."]);
    expect(
      refused(
        [],
        [
          {
            action: "UPSERT",
            record: { name: "shop.example.com", type: "A", ttl: -1, values: ["not-an-ip"] },
          },
        ],
      ),
    ).toEqual([
      "shop.example.com.: TTL must be an integer from 0 to 2147483647",
      "ARRDATAIllegalIPv4Address (not-an-ip)",
    ]);
  });
});

describe("the record's way through the DNS stages", () => {
  const dns = (spec: Record<string, unknown>) => {
    const section = dnsPlaybook({ lowTtl: 30, ...spec }).spec.dns;
    if (!section) throw new Error("no dns");
    return section;
  };

  it("Given weights 10/50/100 and a TTL restore, then the record is lowered, split, collapsed into the target and gets its TTL back", () => {
    const states = chainStates(
      A("192.0.2.10"),
      dns({ weights: [10, 50, 100], restoreTtl: true }),
      "203.0.113.7",
    );
    const pair = (source: number, target: number) => [
      { ...A("192.0.2.10", 30), setIdentifier: SOURCE_ID, weight: source },
      { ...A("203.0.113.7", 30), setIdentifier: TARGET_ID, weight: target },
    ];
    expect(states).toEqual([
      [A("192.0.2.10")],
      [A("192.0.2.10", 30)],
      pair(90, 10),
      pair(50, 50),
      [A("203.0.113.7", 30)],
      [A("203.0.113.7", 300)],
    ]);
  });

  it("Given a record that already answers the target, then no stage changes anything", () => {
    const states = chainStates(A("203.0.113.7"), dns({ restoreTtl: true }), "203.0.113.7");
    expect(states.every((state) => JSON.stringify(state) === JSON.stringify([A("203.0.113.7")]))).toBe(true);
  });

  it("Given an IPv6, a host name or an unknown target, then the new record is AAAA, CNAME, or keeps the playbook's type", () => {
    expect(chainStates(A("192.0.2.10"), dns({}), "2001:db8::7").at(-1)).toEqual([
      { name: "shop.example.com.", type: "AAAA", ttl: 30, values: ["2001:db8::7"] },
    ]);
    expect(chainStates(A("192.0.2.10"), dns({}), "lb.example.net").at(-1)).toEqual([
      { name: "shop.example.com.", type: "CNAME", ttl: 30, values: ["lb.example.net."] },
    ]);
    expect(chainStates(A("192.0.2.10"), dns({}), KNOWN_AFTER_APPLY).at(-1)).toEqual([
      A(KNOWN_AFTER_APPLY, 30),
    ]);
  });

  it("Given weights and a host-name target for an A record, then it explains that Route 53 cannot weight different types", () => {
    expect(() => chainStates(A("192.0.2.10"), dns({ weights: [50, 100] }), "lb.example.net")).toThrow(
      /the target address lb\.example\.net\. needs a CNAME record, but shop\.example\.com\. is of type A, and Route 53 weights only record sets of one type/,
    );
  });
});
