import { describe, expect, it } from "vitest";
import {
  apportion,
  formatMoves,
  shiftWeights,
  type HttpRoute,
  type VirtualService,
} from "../../src/steps/shift-traffic/weights.js";
import { serviceHosts } from "../../src/steps/shift-traffic/virtual-service.js";

const REMOTE = "frontend.target.clustershift.internal";
const HOSTS = serviceHosts("frontend", "shop", "shop");

function vs(http: HttpRoute[]): VirtualService {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "frontend-ingress", namespace: "shop" },
    spec: { hosts: ["*"], gateways: ["frontend-gateway"], http },
  };
}

const local = (weight?: number, extra: Record<string, unknown> = {}) => ({
  destination: { host: "frontend", port: { number: 80 }, ...extra },
  ...(weight === undefined ? {} : { weight }),
});
const remote = (weight: number) => ({ destination: { host: REMOTE, port: { number: 80 } }, weight });
const shift = (input: VirtualService, weight: number) =>
  shiftWeights(input, { serviceHosts: HOSTS, remoteHost: REMOTE, port: 80, weight });

describe("shiftWeights", () => {
  it.each([
    {
      name: "a single destination without weight, to 10",
      http: [{ route: [local()] }],
      weight: 10,
      route: [local(90), remote(10)],
      detail: "frontend 100→90, target 0→10",
    },
    {
      name: "a single destination without weight, to 0 (nothing moves)",
      http: [{ route: [local()] }],
      weight: 0,
      route: [local()],
      detail: "",
    },
    {
      name: "a single destination, to 100 (the local one stays, at weight 0)",
      http: [{ route: [local()] }],
      weight: 100,
      route: [local(0), remote(100)],
      detail: "frontend 100→0, target 0→100",
    },
    {
      name: "weights already in place",
      http: [{ route: [local(50), remote(50)] }],
      weight: 50,
      route: [local(50), remote(50)],
      detail: "",
    },
    {
      name: "back from 100 to 0",
      http: [{ route: [local(0), remote(100)] }],
      weight: 0,
      route: [local(100), remote(0)],
      detail: "frontend 0→100, target 100→0",
    },
    {
      name: "subsets keep their ratio",
      http: [{ route: [local(80, { subset: "v1" }), local(20, { subset: "v2" })] }],
      weight: 10,
      route: [local(72, { subset: "v1" }), local(18, { subset: "v2" }), remote(10)],
      detail: "frontend/v1 80→72, frontend/v2 20→18, target 0→10",
    },
    {
      name: "another service's destination in the route keeps its weight; the service's share is split",
      http: [{ route: [local(80), { destination: { host: "legacy" }, weight: 20 }] }],
      weight: 50,
      route: [local(40), { destination: { host: "legacy" }, weight: 20 }, remote(40)],
      detail: "frontend 80→40, target 0→40",
    },
    {
      name: "a destination on another port of the service is not ours",
      http: [{ route: [{ destination: { host: "frontend", port: { number: 8080 } } }] }],
      weight: 50,
      route: [{ destination: { host: "frontend", port: { number: 8080 } } }],
      detail: "",
    },
    {
      name: "a destination without port counts",
      http: [{ route: [{ destination: { host: "frontend.shop.svc.cluster.local" } }] }],
      weight: 25,
      route: [{ destination: { host: "frontend.shop.svc.cluster.local" }, weight: 75 }, remote(25)],
      detail: "frontend 100→75, target 0→25",
    },
  ])(
    "Given $name, When shifted to $weight%, Then the route is as expected",
    ({ http, weight, route, detail }) => {
      const before = vs(http);
      const result = shift(before, weight);
      expect(result.next.spec?.http?.[0]?.route).toEqual(route);
      expect(formatMoves(result.moves)).toBe(detail);
      expect(result.modified).toBe(detail !== "");
      expect(before).toEqual(vs(http));
    },
  );

  it("Given matches, retries, timeouts, headers and several routes, When shifted, Then only the service's destinations change", () => {
    const before = vs([
      {
        name: "api",
        match: [{ uri: { prefix: "/api" } }],
        retries: { attempts: 3, perTryTimeout: "2s" },
        timeout: "10s",
        route: [{ destination: { host: "api", port: { number: 8080 } } }],
      },
      {
        name: "canary-header",
        match: [{ headers: { "x-canary": { exact: "yes" } } }],
        headers: { request: { set: { "x-from": "gateway" } } },
        route: [local(undefined, { subset: "canary" })],
      },
      { name: "default", timeout: "5s", route: [local()] },
    ]);
    const result = shift(before, 10);
    const expected = structuredClone(before);
    const http = expected.spec?.http ?? [];
    http[1] = { ...http[1], route: [local(90, { subset: "canary" }), remote(10)] };
    http[2] = { ...http[2], route: [local(90), remote(10)] };
    expect(result.next).toEqual(expected);
    expect(result.routes).toBe(2);
    expect(formatMoves(result.moves)).toBe(
      "http[1]: frontend/canary 100→90, target 0→10; http[2]: frontend 100→90, target 0→10",
    );
  });

  it("Given two routes that move alike, When formatted, Then one line says how many", () => {
    const result = shift(vs([{ route: [local()] }, { route: [local()] }]), 50);
    expect(formatMoves(result.moves)).toBe("frontend 100→50, target 0→50 (2 routes)");
  });

  it("Given the short name in a VirtualService of another namespace, When shifted, Then it is another service", () => {
    const other = { ...vs([{ route: [local()] }]), metadata: { name: "x", namespace: "other" } };
    const result = shiftWeights(other, {
      serviceHosts: serviceHosts("frontend", "shop", "other"),
      remoteHost: REMOTE,
      port: 80,
      weight: 50,
    });
    expect(result).toMatchObject({ modified: false, routes: 0 });
  });

  it("Given 10 → 50 → 100 → 50 from a subset split, When chained, Then each step equals shifting the original", () => {
    const original = vs([{ route: [local(80, { subset: "v1" }), local(20, { subset: "v2" })] }]);
    let chained = original;
    for (const weight of [10, 50, 100]) {
      chained = shift(chained, weight).next;
      expect(chained).toEqual(shift(original, weight).next);
      expect(shift(chained, weight).modified).toBe(false);
    }
    // All locals were 0 at 100: going back splits the local share evenly (the ratio is the before-image's to keep).
    expect(shift(chained, 50).next.spec?.http?.[0]?.route?.map((d) => d.weight)).toEqual([25, 25, 50]);
  });

  it("Given a weight outside 0..100, When shifted, Then it throws", () => {
    expect(() => shift(vs([{ route: [local()] }]), 101)).toThrow(/between 0 and 100/);
    expect(() => shift(vs([{ route: [local()] }]), 2.5)).toThrow(/integer/);
  });
});

describe("apportion", () => {
  it.each([
    { total: 90, basis: [80, 20], out: [72, 18] },
    { total: 90, basis: [34, 33, 33], out: [30, 30, 30] },
    { total: 10, basis: [1, 1, 1], out: [4, 3, 3] },
    { total: 7, basis: [0, 0], out: [4, 3] },
    { total: 0, basis: [50, 50], out: [0, 0] },
  ])("Given $basis, When $total is split, Then $out", ({ total, basis, out }) => {
    expect(apportion(total, basis)).toEqual(out);
  });
});
