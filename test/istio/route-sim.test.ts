import { mkdir } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import type { HttpRoute, VirtualService } from "../../src/steps/shift-traffic/weights.js";
import {
  simulateRoutes,
  writeManifests,
  type SimOutput,
  type SimProxy,
  type SimRequest,
  type SimResult,
} from "../support/istioctl.js";
import { useTempDir } from "../support/temp.js";
import {
  BOOKINFO,
  ONLINE_BOUTIQUE,
  SHOP,
  TARGET_INGRESS_IP,
  WEIGHTS,
  onSource,
  onTarget,
  serviceEntry,
  shiftedAt,
  shiftedVirtualService,
  targetVirtualServices,
  type App,
} from "./manifests.js";

/**
 * Istio's own routing (pilot's config generation and pilot/pkg/simulation, run by istio-route-sim) over what
 * expose-target and shift-traffic produce: at weight N the source gateway must send N% of every path it routes to
 * the ServiceEntry host, at an address and port where the target gateway listens; and the target gateway must
 * route every path as the source did (after DNS cutover the public hosts reach it directly).
 */

const PUBLIC_HOST = "shop.example.com";
/** A path no app routes: the source answers 404, so must the target. */
const UNROUTED = "/clustershift-unrouted";

interface Ingress {
  proxy: SimProxy;
  /** Service port → the pod port it forwards to. */
  portMap: Map<number, number>;
}

/** The ingress gateway of a cluster's objects: its Service, the Pod behind it, and the Gateway's HTTP port. */
function ingressOf(objects: KubeObject[], namespace: string, name: string): Ingress {
  const service = objects.find(
    (o) => o.kind === "Service" && o.metadata.namespace === namespace && o.metadata.name === name,
  );
  if (!service) throw new Error(`no Service ${namespace}/${name}`);
  const spec = service.spec as {
    selector: Record<string, string>;
    ports: { port: number; targetPort?: number }[];
  };
  const pod = objects.find(
    (o) =>
      o.kind === "Pod" &&
      o.metadata.namespace === namespace &&
      Object.entries(spec.selector).every(([k, v]) => o.metadata.labels?.[k] === v),
  );
  if (!pod) throw new Error(`no Pod behind ${namespace}/${name}`);
  return {
    proxy: {
      name: `${namespace}/${name}`,
      type: "router",
      namespace,
      labels: pod.metadata.labels ?? {},
      ip: (pod.status as { podIP: string }).podIP,
    },
    portMap: new Map(spec.ports.map((p) => [p.port, p.targetPort ?? p.port])),
  };
}

/** Paths that exercise every HTTP route of a VirtualService, and one that none routes. */
function pathsOf(vs: VirtualService): string[] {
  const paths = new Set<string>(["/", UNROUTED]);
  for (const route of (vs.spec?.http ?? []) as (HttpRoute & {
    match?: { uri?: Record<string, string> }[];
    rewrite?: { uri?: string };
  })[]) {
    if (!route.match?.length) paths.add("/cart");
    for (const match of route.match ?? []) {
      if (match.uri?.exact) paths.add(match.uri.exact);
      if (match.uri?.prefix) {
        paths.add(match.uri.prefix);
        paths.add(`${match.uri.prefix.replace(/\/$/, "")}/x`);
        // The path a rewrite sends on (`/api/x` → `/x`): what a shifted request carries to the target.
        if (route.rewrite?.uri !== undefined) paths.add(`${route.rewrite.uri.replace(/\/$/, "")}/x`);
      }
    }
  }
  return [...paths];
}

const remoteCluster = (app: App) => `outbound|${app.port}||${app.remoteHost}`;

/** One cluster's objects run through the simulator, with requests for every path at its ingress gateway. */
interface Side {
  ingress: Ingress;
  out: SimOutput;
  /** The result for `path` sent with `headers` (none: a direct request). */
  at(path: string, headers?: Record<string, string>): SimResult;
}

/**
 * A request as the source gateway sends a route's shifted share to the target: the path as the route rewrote it,
 * with the headers its remote destination sets. `original` is the public request's path at the source.
 */
interface ShiftedRequest {
  original: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * The shifted share of every route of the app's VirtualService at `weight` whose shifted share names its route
 * (rewrite, fault, mirror, retries): a sample path of each, rewritten as Envoy does (a `uri.prefix` match replaced
 * by `rewrite.uri`), with the remote destination's `headers.request.set`.
 */
function shiftedRequests(app: App, weight: number): ShiftedRequest[] {
  const shifted = shiftedAt(app, weight);
  return (shifted.spec?.http ?? []).flatMap((route) => {
    const remote = route.route?.find((d) => d.destination.host === app.remoteHost);
    const headers = (remote?.headers as { request?: { set?: Record<string, string> } } | undefined)?.request
      ?.set;
    if (!headers) return [];
    const prefix = (route.match as { uri?: { prefix?: string } }[] | undefined)?.[0]?.uri?.prefix;
    const original = prefix === undefined ? "/cart" : `${prefix}x`;
    const rewrite = (route.rewrite as { uri?: string } | undefined)?.uri;
    const path =
      rewrite !== undefined && prefix !== undefined
        ? `${rewrite}${original.slice(prefix.length)}`.replace(/^\/\//, "/")
        : original;
    return [{ original, path, headers }];
  });
}

async function simulateSide(
  dir: string,
  objects: KubeObject[],
  ingress: Ingress,
  port: number,
  paths: string[],
  shifted: ShiftedRequest[] = [],
): Promise<Side> {
  await mkdir(dir, { recursive: true });
  await writeManifests(join(dir, "objects.yaml"), objects);
  const requests: SimRequest[] = [
    ...paths.map((path) => ({ proxy: ingress.proxy.name, host: PUBLIC_HOST, port, path })),
    ...shifted.map((r) => ({
      proxy: ingress.proxy.name,
      host: PUBLIC_HOST,
      port,
      path: r.path,
      headers: r.headers,
    })),
  ];
  const out = await simulateRoutes(dir, [ingress.proxy], requests);
  return {
    ingress,
    out,
    at: (path, headers) => {
      const found = out.results.find(
        (r) => r.path === path && isDeepStrictEqual(r.headers ?? {}, headers ?? {}),
      );
      if (!found) throw new Error(`no result for ${path}`);
      return found;
    },
  };
}

/** The source at a weight: its ingress gateway, the app shifted to `weight`, and expose-target's ServiceEntry. */
function simulateSource(dir: string, app: App, weight: number): Promise<Side> {
  const objects = onSource(app, [shiftedAt(app, weight), serviceEntry(app)]);
  const ingress = ingressOf(objects, "istio-system", "istio-ingressgateway");
  // The public reaches the source gateway at its Service's port 80, which forwards to the pod's port.
  const port = ingress.portMap.get(80) ?? 80;
  return simulateSide(
    join(dir, `${app.name}-${weight}-source`),
    objects,
    ingress,
    port,
    pathsOf(shiftedVirtualService(app)),
  );
}

/**
 * The target: the installed ingress gateway, the mirrored app, and expose-target's VirtualService (for
 * `traffic.hosts`, when given).
 */
function simulateTarget(dir: string, app: App, hosts?: string[]): Promise<Side> {
  const shifted = WEIGHTS.flatMap((weight) => shiftedRequests(app, weight));
  const objects = onTarget(app, targetVirtualServices(app, hosts));
  const ingress = ingressOf(objects, "asm-ingress", "asm-ingressgateway");
  // Istio's rule: a Gateway server port that is a port of the gateway's Service is reached on that Service port,
  // which the load balancer forwards to its targetPort: where the public (after DNS cutover) reaches the pod.
  const gatewayPort = (
    objects.find((o) => o.kind === "Gateway")?.spec as { servers: { port: { number: number } }[] }
  ).servers[0]?.port.number;
  const publicPort = [...ingress.portMap.keys()].find((port) => port === gatewayPort) ?? 0;
  const port = ingress.portMap.get(publicPort) ?? 0;
  return simulateSide(
    join(dir, `${app.name}-target`),
    objects,
    ingress,
    port,
    pathsOf(shiftedVirtualService(app)),
    shifted,
  );
}

/** Where a path goes, the remote share left out: the local clusters, or the simulation's error. */
function localRouting(app: App, result: SimResult): string {
  if (result.error) return `error: ${result.error}`;
  return result.destinations
    .filter((d) => d.cluster !== remoteCluster(app))
    .map((d) => d.cluster)
    .sort()
    .join(", ");
}

function memo<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
}

describe("Istio's routing simulation (istio-route-sim, istio.io/istio pilot/pkg/simulation) over the traffic steps' config", () => {
  const dir = useTempDir("istio-route-sim");

  describe.each([ONLINE_BOUTIQUE, BOOKINFO, SHOP])("$name", (app) => {
    const sources = new Map<number, () => Promise<Side>>(
      WEIGHTS.map((weight) => [weight, memo(() => simulateSource(dir(), app, weight))]),
    );
    const source = (weight: number) => (sources.get(weight) as () => Promise<Side>)();
    const target = memo(() => simulateTarget(dir(), app));
    const targetWithHosts = memo(() => simulateTarget(dir(), app, [PUBLIC_HOST]));

    it("Given the source's config at every weight, When Istio validates it as istiod would, Then it accepts every object", async () => {
      for (const weight of WEIGHTS)
        expect((await source(weight)).out.rejected, `weight ${weight}`).toEqual([]);
    });

    it("Given the target's config, When Istio validates it as istiod would, Then it accepts every object", async () => {
      expect((await target()).out.rejected).toEqual([]);
    });

    it.each(WEIGHTS)(
      "Given weight %i, When the source gateway routes every path of the app, Then the routed paths send that share to the ServiceEntry host and nothing else moves",
      async (weight) => {
        const sim = await source(weight);
        expect(sim.out.proxies[sim.ingress.proxy.name]?.listeners.length).toBeGreaterThan(0);
        const paths = sim.out.results.map((r) => r.path);
        expect(paths.filter((path) => !sim.at(path).error).length, "routed paths").toBeGreaterThan(0);
        const before = await source(0);
        for (const path of paths) {
          const result = sim.at(path);
          // The same paths are routed (or not) as before the shift, to the same local clusters (at 100 Istio
          // drops the local destinations of weight 0: whether the path is routed is what stays).
          const routing = (r: SimResult) => (weight === 100 && !r.error ? "routed" : localRouting(app, r));
          expect(routing(result), path).toBe(routing(before.at(path)));
          if (result.error) continue;
          const remote = result.destinations.filter((d) => d.cluster === remoteCluster(app));
          const total = result.destinations.reduce((sum, d) => sum + d.weight, 0);
          expect(
            remote.map((d) => (d.weight * 100) / total),
            path,
          ).toEqual(weight === 0 ? [] : [weight]);
        }
      },
    );

    it.each(WEIGHTS.filter((w) => w > 0))(
      "Given weight %i, When the source gateway sends the shifted share, Then it dials the target ingress address at a port where the target gateway listens",
      async (weight) => {
        const sim = await source(weight);
        const tgt = await target();
        const listening = new Set(
          tgt.out.proxies[tgt.ingress.proxy.name]?.listeners.map((l) => l.port) ?? [],
        );
        for (const result of sim.out.results.filter((r) => !r.error)) {
          const remote = result.destinations.find((d) => d.cluster === remoteCluster(app));
          expect(
            remote?.known,
            `${result.path}: the source gateway has the cluster ${remoteCluster(app)}`,
          ).toBe(true);
          expect(remote?.endpoints.length, result.path).toBeGreaterThan(0);
          for (const endpoint of remote?.endpoints ?? []) {
            expect(endpoint.address).toBe(TARGET_INGRESS_IP);
            // The load balancer forwards a Service port to its targetPort; the target gateway must listen there.
            const podPort = tgt.ingress.portMap.get(endpoint.port);
            expect(
              podPort,
              `${result.path}: the target ingress Service has port ${endpoint.port}`,
            ).toBeDefined();
            expect(
              listening.has(podPort ?? -1),
              `${result.path}: the target gateway listens on ${podPort}`,
            ).toBe(true);
          }
        }
      },
    );

    it("Given the public host at the target gateway, When every path of the app is requested, Then each goes where the source sent it before the shift", async () => {
      const before = await source(0);
      const tgt = await target();
      const paths = before.out.results.map((r) => r.path);
      expect(paths.map((path) => `${path} → ${localRouting(app, tgt.at(path))}`)).toEqual(
        paths.map((path) => `${path} → ${localRouting(app, before.at(path))}`),
      );
    });

    it.each(WEIGHTS.filter((w) => w > 0))(
      "Given weight %i, When the shifted share of a route with a rewrite, fault, mirror or retries reaches the target gateway as the source sends it (rewritten, with x-clustershift-route), Then it reaches the same service as at the source, and the same path sent directly follows the copied route table",
      async (weight) => {
        const before = await source(0);
        const tgt = await target();
        const shifted = shiftedRequests(app, weight);
        // Only the shop has such routes (`/api/` rewritten to `/` with retries; the default with a fault and a mirror).
        expect(shifted.length > 0, "routes whose shifted share names its route").toBe(app === SHOP);
        for (const request of shifted) {
          expect(
            `${request.original} shifted → ${localRouting(app, tgt.at(request.path, request.headers))}`,
          ).toBe(`${request.original} shifted → ${localRouting(app, before.at(request.original))}`);
          // No header, as the public reaches the target after DNS cutover: the copied table (`/x` is web's).
          expect(`${request.path} direct → ${localRouting(app, tgt.at(request.path))}`).toBe(
            `${request.path} direct → ${localRouting(app, before.at(request.path))}`,
          );
        }
      },
    );

    it("Given traffic.hosts set (a target VirtualService Istio accepts), When every path of the app is requested at the target gateway, Then each goes where the source sent it before the shift", async () => {
      const before = await source(0);
      const tgt = await targetWithHosts();
      expect(tgt.out.rejected).toEqual([]);
      const paths = before.out.results.map((r) => r.path);
      expect(paths.map((path) => `${path} → ${localRouting(app, tgt.at(path))}`)).toEqual(
        paths.map((path) => `${path} → ${localRouting(app, before.at(path))}`),
      );
    });
  });
});
