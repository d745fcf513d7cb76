import { describe, expect, it } from "vitest";
import { negativeTtl, parseSoa } from "../../src/providers/route53/port.js";
import { registryNames } from "../../src/steps/dns-common/safety.js";

describe("DNS safety rules", () => {
  it("Given Route 53's SOA value, when parsed, then MINIMUM is the last field and negative caching takes the lower of it and the record's TTL (RFC 2308)", () => {
    const value = "ns-2048.awsdns-64.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400";
    const soa = parseSoa(900, value);
    expect(soa).toEqual({ ttl: 900, minimum: 86400, value });
    expect(negativeTtl(soa ?? { ttl: 0, minimum: 0, value })).toBe(900);
    expect(negativeTtl({ ttl: 900, minimum: 60, value })).toBe(60);
  });

  it("Given values that are not an SOA, when parsed, then nothing is made up", () => {
    expect(
      parseSoa(900, "{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400'}"),
    ).toBe(undefined);
    expect(parseSoa(900, "ns. host. 1 2 3 4")).toBe(undefined);
    expect(parseSoa(900, "ns. host. 1 2 3 4 x")).toBe(undefined);
  });

  it("Given a record, when its external-dns registry names are listed, then they are the name itself, the type-prefixed name and both with the external-dns- prefix, inside the zone only", () => {
    expect(registryNames("Shop.Example.com", "A", "example.com.")).toEqual([
      "shop.example.com.",
      "a-shop.example.com.",
      "external-dns-shop.example.com.",
      "external-dns-a-shop.example.com.",
    ]);
    // At the apex, the prefixed names would leave the zone: external-dns cannot keep them there either.
    expect(registryNames("example.com.", "CNAME", "example.com.")).toEqual(["example.com."]);
  });
});
