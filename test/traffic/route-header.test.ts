import { describe, expect, it } from "vitest";
import {
  headerRouteMatches,
  needsRouteHeader,
  ROUTE_HEADER,
  routeHeaderValue,
} from "../../src/steps/shift-traffic/route-header.js";
import { shiftWeights, type HttpRoute, type VirtualService } from "../../src/steps/shift-traffic/weights.js";

const to = (host: string) => [{ destination: { host } }];
const header = (value: string) => ({ [ROUTE_HEADER]: { exact: value } });

describe("x-clustershift-route: which routes name themselves, and the target's header route matches", () => {
  it("Given routes with and without a rewrite, fault, mirror, retries or header add, When asked whether their shifted share needs a header route, Then only those with one (and a destination) do", () => {
    expect(needsRouteHeader({ route: to("a"), rewrite: { uri: "/" } })).toBe(true);
    expect(needsRouteHeader({ route: to("a"), fault: { abort: { httpStatus: 503 } } })).toBe(true);
    expect(needsRouteHeader({ route: to("a"), mirror: { host: "b" } })).toBe(true);
    expect(needsRouteHeader({ route: to("a"), retries: { attempts: 3 } })).toBe(true);
    expect(needsRouteHeader({ route: to("a"), headers: { response: { add: { x: "1" } } } })).toBe(true);
    expect(needsRouteHeader({ route: to("a"), headers: { request: { set: { x: "1" } } } })).toBe(false);
    expect(needsRouteHeader({ route: to("a"), timeout: "5s" })).toBe(false);
    expect(needsRouteHeader({ redirect: { uri: "/" }, rewrite: { uri: "/" } })).toBe(false);
  });

  it("Given a route's matches, When the header route's matches are derived, Then each holds for the request as the source rewrote it, plus the header", () => {
    const route: HttpRoute = {
      route: to("api"),
      rewrite: { uri: "/v2" },
      headers: { request: { set: { "X-Env": "canary" } } },
      match: [
        {
          uri: { prefix: "/api" },
          headers: { "x-env": { exact: "prod" }, "x-user": { exact: "jo" } },
          port: 80,
        },
        { uri: { exact: "/api" }, method: { exact: "GET" }, gateways: ["shop-gateway"] },
        { uri: { regex: "/a.*" } },
      ],
    };
    expect(headerRouteMatches(route, "shop.shop.0")).toEqual([
      { uri: { prefix: "/v2" }, headers: { "x-user": { exact: "jo" }, ...header("shop.shop.0") } },
      { uri: { exact: "/v2" }, method: { exact: "GET" }, headers: header("shop.shop.0") },
      { headers: header("shop.shop.0") },
    ]);
    expect(headerRouteMatches({ route: to("web"), fault: {} }, "shop.shop.3")).toEqual([
      { headers: header("shop.shop.3") },
    ]);
  });

  it("Given a VirtualService with a rewrite route and a plain route, When shifted to 10 then 50, Then only the rewrite route's remote destination sets the header naming it, once, and the weights move as before", () => {
    const vs: VirtualService = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        hosts: ["*"],
        http: [
          { match: [{ uri: { prefix: "/api/" } }], rewrite: { uri: "/" }, route: to("api") },
          { route: to("web") },
        ],
      },
    };
    const target = { serviceHosts: undefined, remoteHost: "r.internal", port: 80 };
    const at10 = shiftWeights(vs, { ...target, weight: 10 }).next;
    const at50 = shiftWeights(at10, { ...target, weight: 50 });
    const remote = (v: VirtualService, i: number) =>
      v.spec?.http?.[i]?.route?.find((d) => d.destination.host === "r.internal");
    expect(routeHeaderValue(vs, 0)).toBe("shop.shop.0");
    expect(remote(at50.next, 0)).toEqual({
      destination: { host: "r.internal", port: { number: 80 } },
      weight: 50,
      headers: { request: { set: { [ROUTE_HEADER]: "shop.shop.0" } } },
    });
    expect(remote(at50.next, 1)).toEqual({
      destination: { host: "r.internal", port: { number: 80 } },
      weight: 50,
    });
    expect(shiftWeights(at50.next, { ...target, weight: 50 }).modified).toBe(false);
  });
});
