import { isDeepStrictEqual } from "node:util";
import type { KubeObject } from "../../providers/kubernetes/port.js";
import { needsRouteHeader, ROUTE_HEADER, routeHeaderValue } from "./route-header.js";

export interface Destination {
  host: string;
  subset?: string;
  port?: { number?: number };
  [key: string]: unknown;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
  [key: string]: unknown;
}

export interface HttpRoute {
  route?: RouteDestination[];
  [key: string]: unknown;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HttpRoute[];
  [key: string]: unknown;
}

export type VirtualService = KubeObject & { spec?: VirtualServiceSpec };

export interface WeightTarget {
  /**
   * Every spelling of the migrated service valid in the VirtualService's namespace (see `serviceHosts`), for
   * `traffic.scope: service`; undefined for the whole app (`scope: app`): every destination but the remote is local.
   */
  serviceHosts: string[] | undefined;
  remoteHost: string;
  port: number;
  /** Percent of the service's traffic that goes to the remote cluster: an integer 0..100. */
  weight: number;
}

/** One destination weight that moves, for the plan line `frontend 100→90, target 0→10`. */
export interface WeightMove {
  route: number;
  label: string;
  from: number;
  to: number;
}

export interface WeightShift {
  next: VirtualService;
  modified: boolean;
  /** HTTP routes that send traffic to the service; 0 means the VirtualService cannot be shifted. */
  routes: number;
  moves: WeightMove[];
}

const REMOTE_LABEL = "target";

/**
 * The VirtualService with `weight`% of the migrated service's traffic sent to `remoteHost`, Argo Rollouts style:
 * pure, and idempotent (weights already in place give `modified: false`, so apply writes nothing).
 *
 * Only destinations of HTTP routes that go to the service (`port` absent or equal; with `serviceHosts` undefined,
 * every destination of every route: the whole app) and to the remote host change;
 * matches, retries, timeouts, headers, other destinations and other routes stay as they are. In each such route
 * the service's share (its destinations' weights plus the remote's) is split: the remote gets `weight`% of the
 * share, the local destinations the rest in proportion to their current weights (largest remainder, so subsets
 * such as Bookinfo's v1 80 / v2 20 keep their ratio and the route still sums to what it summed to).
 *
 * Weight 0 adds no remote destination where there is none (nothing moves). Weight 100 keeps the local
 * destinations with weight 0, so every later step and every rollback is a change of weights only, never a
 * change of the route's shape; with all locals at 0 a lower weight splits the local share evenly.
 */
export function shiftWeights(vs: VirtualService, target: WeightTarget): WeightShift {
  if (!Number.isInteger(target.weight) || target.weight < 0 || target.weight > 100) {
    throw new Error(`weight must be an integer between 0 and 100, got ${target.weight}`);
  }
  const next = structuredClone(vs);
  const moves: WeightMove[] = [];
  let routes = 0;
  (next.spec?.http ?? []).forEach((httpRoute, index) => {
    const destinations = httpRoute.route ?? [];
    const { locals, remotes, effective } = classify(destinations, target);
    if (locals.length === 0) return;
    routes += 1;
    if (remotes.length === 0 && target.weight === 0) return;

    const localBefore = locals.map(effective);
    const remoteBefore = remotes.reduce((sum, d) => sum + effective(d), 0);
    const share = sum(localBefore) + remoteBefore;
    if (share === 0) return;
    const remoteAfter = Math.round((share * target.weight) / 100);
    const localAfter = apportion(share - remoteAfter, localBefore);
    // The shifted share of a route the target must not apply twice names the route (see needsRouteHeader).
    const header = needsRouteHeader(httpRoute) ? routeHeaderValue(vs, index) : undefined;
    const unchanged =
      remotes.length > 0 &&
      remotes.every((d, i) => effective(d) === (i === 0 ? remoteAfter : 0)) &&
      localAfter.every((w, i) => w === localBefore[i]);
    if (unchanged) {
      if (remotes[0]) nameRoute(remotes[0], header);
      return;
    }

    locals.forEach((d, i) => {
      d.weight = localAfter[i] ?? 0;
      moves.push({ route: index, label: labelOf(d.destination), from: localBefore[i] ?? 0, to: d.weight });
    });
    if (remotes.length === 0) {
      const remote: RouteDestination = {
        destination: { host: target.remoteHost, port: { number: target.port } },
        weight: remoteAfter,
      };
      nameRoute(remote, header);
      destinations.push(remote);
    } else {
      remotes.forEach((d, i) => (d.weight = i === 0 ? remoteAfter : 0));
      if (remotes[0]) nameRoute(remotes[0], header);
    }
    moves.push({ route: index, label: REMOTE_LABEL, from: remoteBefore, to: remoteAfter });
  });
  return { next, modified: !isDeepStrictEqual(next, vs), routes, moves };
}

/**
 * Sets the route header on the remote destination (replacing whatever a client sent under that name), where the
 * route needs one. A remote destination written before it had one gets it at the next weight.
 */
function nameRoute(remote: RouteDestination, header: string | undefined): void {
  if (header === undefined) return;
  const headers = (remote.headers ?? {}) as { request?: { set?: Record<string, string> } };
  if (headers.request?.set?.[ROUTE_HEADER] === header) return;
  remote.headers = {
    ...headers,
    request: { ...headers.request, set: { ...headers.request?.set, [ROUTE_HEADER]: header } },
  };
}

/** `frontend 100→90, target 0→10`; routes that move differently are told apart: `http[0]: …; http[2]: …`. */
export function formatMoves(moves: WeightMove[]): string {
  const byRoute = new Map<number, string[]>();
  for (const move of moves) {
    const parts = byRoute.get(move.route) ?? [];
    parts.push(`${move.label} ${move.from}→${move.to}`);
    byRoute.set(move.route, parts);
  }
  const lines = [...byRoute].map(([route, parts]) => ({ route, text: parts.join(", ") }));
  const distinct = new Set(lines.map((line) => line.text));
  if (distinct.size === 1) {
    const [text] = distinct;
    return lines.length > 1 ? `${text} (${lines.length} routes)` : (text ?? "");
  }
  return lines.map((line) => `http[${line.route}]: ${line.text}`).join("; ");
}

/** `frontend 90, target 10` for the service's routes as they are. */
export function formatWeights(vs: VirtualService, target: WeightTarget): string {
  const parts = new Set<string>();
  for (const httpRoute of vs.spec?.http ?? []) {
    const { locals, remotes, effective } = classify(httpRoute.route ?? [], target);
    if (locals.length === 0) continue;
    const weights = [
      ...locals.map((d) => `${labelOf(d.destination)} ${effective(d)}`),
      ...remotes.map((d) => `${REMOTE_LABEL} ${effective(d)}`),
    ];
    parts.add(weights.join(", "));
  }
  return [...parts].join("; ");
}

/**
 * A route's destinations to the service (`port` absent or equal) and to the remote host, and the weight each
 * gets: an absent weight is 100 for a route's only destination and 0 otherwise, as Istio reads it.
 */
function classify(destinations: RouteDestination[], target: WeightTarget) {
  const hosts = target.serviceHosts && new Set(target.serviceHosts);
  const locals = destinations.filter(
    (d) =>
      d.destination.host !== target.remoteHost &&
      (!hosts ||
        (hosts.has(d.destination.host) &&
          (d.destination.port?.number === undefined || d.destination.port.number === target.port))),
  );
  const remotes = destinations.filter((d) => d.destination.host === target.remoteHost);
  const effective = (d: RouteDestination) => d.weight ?? (destinations.length === 1 ? 100 : 0);
  return { locals, remotes, effective };
}

function labelOf(destination: Destination): string {
  const name = destination.host.split(".")[0] ?? destination.host;
  return destination.subset ? `${name}/${destination.subset}` : name;
}

/** Splits `total` in proportion to `basis` in integers (largest remainder); evenly when the basis is all zero. */
export function apportion(total: number, basis: number[]): number[] {
  const basisSum = sum(basis);
  const exact = basis.map((b) => (basisSum > 0 ? (total * b) / basisSum : total / basis.length));
  const result = exact.map(Math.floor);
  let rest = total - sum(result);
  const byRemainder = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (rest <= 0) break;
    result[index] = (result[index] ?? 0) + 1;
    rest -= 1;
  }
  return result;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
