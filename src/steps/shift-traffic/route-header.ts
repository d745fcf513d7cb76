import type { HttpRoute, VirtualService } from "./weights.js";

/**
 * The request header by which the source gateway names the route a shifted request took: set on the remote
 * destination of each route that needs it (see `needsRouteHeader`), matched by the target's header routes.
 */
export const ROUTE_HEADER = "x-clustershift-route";

/**
 * The header's value for route `index` of a source gateway VirtualService: `<namespace>.<name>.<index>`. Stable
 * across weights and runs (shift-traffic and expose-target compute it from the same VirtualService, as the app has
 * it), and distinct between VirtualServices of the same name in two namespaces serving the same hosts.
 */
export function routeHeaderValue(vs: VirtualService, index: number): string {
  return `${vs.metadata.namespace ?? "default"}.${vs.metadata.name}.${index}`;
}

/**
 * Whether the shifted share of a route needs its own route at the target. The source splits inside the route, so
 * the shifted share has already passed the route's rewrite, fault, mirror(s), retries and route-level header
 * additions when it reaches the target; the copied route would apply them a second time (a rewritten path is
 * matched again in its rewritten form and misroutes; a fault doubles; a mirror sends two copies; retries
 * multiply; an `add` appends twice). Routes without them do not: the target then sees the same request the source
 * routed, with the same route table, so its first match is the same route, which does nothing twice (a route-level
 * `set` or `remove` is idempotent; a timeout bounds the same request again). Fewer routes: only these get one.
 * Istio's default retries (no `retries` field) are left out: every two proxies in a chain each apply them.
 */
export function needsRouteHeader(route: HttpRoute): boolean {
  if (!route.route?.length) return false;
  if (["rewrite", "fault", "mirror", "mirrors", "retries"].some((k) => route[k] !== undefined)) return true;
  const headers = route.headers as { request?: { add?: object }; response?: { add?: object } } | undefined;
  return headers?.request?.add !== undefined || headers?.response?.add !== undefined;
}

interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

interface Match {
  uri?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  [key: string]: unknown;
}

/**
 * The matches of the target's header route for source route `route`: each of the route's matches as the shifted
 * request satisfies it after the source applied the route, plus the header. So a `uri.prefix` or `uri.exact`
 * under a `rewrite.uri` becomes that URI (Envoy replaces the matched prefix with it); a regex match or a regex
 * rewrite drops the URI condition; an authority rewrite drops the authority condition; conditions on headers the
 * route sets, adds or removes are dropped; and the conditions that name the source side (`port`, `gateways`,
 * `sourceLabels`, `sourceNamespace`) do not hold at the target gateway and are dropped.
 *
 * Why a client's own `x-clustershift-route` is harmless: through the source, the shifted share's header is
 * `set` (a client's value is replaced), and local destinations go to the source's own Services, which do not route
 * on it. Sent straight to the target (after the DNS cutover, or to its address), it selects the header route only
 * for a request that also satisfies the route's matches in their rewritten form: one the same client could have
 * sent to the source's public route to reach the same destinations with the same path. What it skips is the
 * route's fault, mirror and retries, none of which protects anything. The header is removed before the request
 * reaches the app.
 */
export function headerRouteMatches(route: HttpRoute, value: string): Match[] {
  const rewrite = route.rewrite as
    { uri?: string; uriRegexRewrite?: unknown; authority?: string } | undefined;
  const headers = route.headers as
    | { request?: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } }
    | undefined;
  const touched = new Set(
    [
      ...Object.keys(headers?.request?.set ?? {}),
      ...Object.keys(headers?.request?.add ?? {}),
      ...(headers?.request?.remove ?? []),
    ].map((h) => h.toLowerCase()),
  );
  const matches = (route.match as Match[] | undefined)?.length ? (route.match as Match[]) : [{}];
  return matches.map((original) => {
    const match = structuredClone(original);
    for (const key of ["port", "gateways", "sourceLabels", "sourceNamespace"]) delete match[key];
    if (rewrite?.uriRegexRewrite !== undefined) delete match.uri;
    else if (rewrite?.uri !== undefined && match.uri) {
      if (match.uri.prefix !== undefined) match.uri = { prefix: rewrite.uri };
      else if (match.uri.exact !== undefined) match.uri = { exact: rewrite.uri };
      else delete match.uri;
    }
    if (rewrite?.authority !== undefined) delete match.authority;
    for (const field of ["headers", "withoutHeaders"] as const) {
      const conditions = match[field];
      if (!conditions) continue;
      for (const name of Object.keys(conditions))
        if (touched.has(name.toLowerCase())) delete conditions[name];
      if (Object.keys(conditions).length === 0) delete match[field];
    }
    match.headers = { ...match.headers, [ROUTE_HEADER]: { exact: value } };
    return match;
  });
}
