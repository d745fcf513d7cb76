import { placementOf } from "../engine/change-context.js";
import { messageOf, UsageError } from "../engine/errors.js";
import { problemsOf, type PreflightCheck, type Problem } from "../engine/preflight.js";
import type { Change, StepKind } from "../engine/types.js";
import { dnsProvider } from "../providers/dns.js";
import { describeAccess, type ResourceAttributes } from "../providers/kubernetes/access.js";
import {
  cluster,
  clusterIfKnown,
  isApiStatus,
  mapLimit,
  type ClusterReader,
} from "../providers/kubernetes/index.js";
import { fqdn } from "../providers/route53/names.js";
import { istioApiVersion } from "./expose-target/istio.js";
import { requireSourceService } from "./expose-target/source-service.js";
import type { Zone } from "../providers/route53/port.js";

const DNS_STEPS: StepKind[] = ["lower-dns-ttl", "cutover-dns"];
const TRAFFIC_STEPS: StepKind[] = ["expose-target", "shift-traffic"];

/**
 * The DNS zone and record the playbook names: a zone that cannot be found, or a record name with no record set
 * at all, stops both DNS steps. (A record of another type than `dns.type` is the steps' own error: after a
 * cutover to a host name the record is a CNAME.)
 */
export const dnsReferences: PreflightCheck = {
  name: "dns-references",
  async references(ctx, pending) {
    const dns = ctx.playbook.spec.dns;
    if (!dns || !DNS_STEPS.some((kind) => pending.has(kind))) return [];
    const port = dnsProvider(ctx);
    let zone: Zone;
    try {
      zone = await port.findZone({
        ...(dns.zone === undefined ? {} : { zone: dns.zone }),
        ...(dns.zoneId === undefined ? {} : { zoneId: dns.zoneId }),
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const path = dns.zoneId === undefined ? "spec.dns.zone" : "spec.dns.zoneId";
      return [{ path, message: messageOf(error), steps: DNS_STEPS }];
    }
    const name = fqdn(dns.record);
    if (!name.endsWith(`.${zone.name}`) && name !== zone.name) return [];
    const sets = await port.listRecordSets(zone, name);
    if (sets.length > 0) return [];
    return [
      {
        path: "spec.dns.record",
        message:
          `no record ${name} in zone ${zone.name} (${zone.id}): nothing to cut over. ` +
          "Create it first, or fix dns.record.",
        steps: DNS_STEPS,
      },
    ];
  },
};

/**
 * The Kubernetes objects the traffic steps depend on, each checked on its own so that all missing ones are listed:
 * the source Service and its port (`traffic.service`, `traffic.port`), and, unless this run installs or provisions
 * it, the target's ingress Gateway and Service. The messages are the steps' own, so the report lists each once.
 */
export const trafficReferences: PreflightCheck = {
  name: "traffic-references",
  async references(ctx, pending) {
    const { traffic, source, target } = ctx.playbook.spec;
    if (!traffic || !TRAFFIC_STEPS.some((kind) => pending.has(kind))) return [];
    const problems: Problem[] = [];
    try {
      await requireSourceService(cluster(ctx, source.context), traffic);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push(...problemsOf(error));
    }
    const ingress = target.ingress;
    if (!ingress || ingress.install || target.provision) return problems;
    const port = cluster(ctx, target.context);
    const apiVersion = await istioApiVersion(port);
    const [namespace = "", name = ""] = ingress.gateway.includes("/")
      ? ingress.gateway.split("/")
      : [ingress.namespace, ingress.gateway];
    if (apiVersion && !(await port.get({ apiVersion, kind: "Gateway", namespace, name }))) {
      problems.push({
        path: "spec.target.ingress.gateway",
        message: `Gateway ${ingress.gateway} not found on context "${target.context}"`,
      });
    }
    const service = {
      apiVersion: "v1",
      kind: "Service",
      namespace: ingress.namespace,
      name: ingress.service,
    };
    if (!(await port.get(service))) {
      problems.push({
        path: "spec.target.ingress.service",
        message: `Service ${ingress.namespace}/${ingress.service} not found on context "${target.context}"`,
        // The DNS steps read the new address from it: their failure is this one.
        steps: DNS_STEPS,
      });
    }
    return problems;
  },
};

/**
 * Step kinds that write by server-side apply: a PATCH, which the API server also authorizes as `create` when the
 * object does not exist yet. The others create, replace (`update`) and delete.
 */
const APPLYING: ReadonlySet<StepKind> = new Set(["install-ingress-gateway", "mirror-workloads"]);

interface Need {
  context: string;
  path: string;
  attributes: ResourceAttributes;
  steps: Set<string>;
}

/**
 * Whether the user of each context the plan writes to may do what the plan will do there: one
 * SelfSubjectAccessReview per verb, resource and namespace (the journal's ConfigMaps, Lease and Namespace too,
 * with `state.backend: kubernetes`). Every denial is listed, with the context's path in the playbook. A context
 * that does not exist yet (provisioned by this run) is not asked.
 */
export const kubeAccess: PreflightCheck = {
  name: "kube-access",
  async access(ctx, plans) {
    const problems: Problem[] = [];
    const needs = new Map<string, Need>();
    const ports = new Map<string, ClusterReader | undefined>();
    const portOf = (context: string) => {
      if (!ports.has(context)) ports.set(context, clusterIfKnown(ctx, context));
      return ports.get(context);
    };
    const need = (context: string, path: string, attributes: ResourceAttributes, step: string) => {
      const key = JSON.stringify([context, attributes]);
      const found = needs.get(key) ?? { context, path, attributes, steps: new Set<string>() };
      found.steps.add(step);
      needs.set(key, found);
    };
    const { source, target, state } = ctx.playbook.spec;
    const places: Record<string, { context: string; path: string } | undefined> = {
      source: { context: source.context, path: "spec.source.context" },
      target: { context: target.context, path: "spec.target.context" },
    };
    const unreachable = new Map<string, string>();
    for (const plan of plans) {
      for (const change of plan.changes) {
        const place = places[placementOf(change).context ?? ""];
        const object = objectOf(change);
        if (!place || !object) continue;
        const port = portOf(place.context);
        if (!port?.reviewAccess || unreachable.has(place.context)) continue;
        let served;
        try {
          served = (await port.apiResources(object.apiVersion)).find((r) => r.kind === object.kind);
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          unreachable.set(place.context, messageOf(error));
          problems.push({ path: place.path, message: messageOf(error) });
          continue;
        }
        // A kind an earlier step of the run makes served (a CRD): nothing to ask about yet.
        if (!served) continue;
        const group = object.apiVersion.includes("/") ? (object.apiVersion.split("/")[0] as string) : "";
        for (const verb of verbsOf(change, plan.kind)) {
          const attributes: ResourceAttributes = { verb, group, resource: served.name };
          if (served.namespaced && object.namespace) attributes.namespace = object.namespace;
          need(place.context, place.path, attributes, plan.id);
        }
      }
    }
    if (state.backend === "kubernetes" && plans.some((p) => p.changes.length > 0)) {
      const path = "spec.state.context";
      for (const verb of ["get", "create", "update", "delete"]) {
        for (const [group, resource] of [
          ["", "configmaps"],
          ["coordination.k8s.io", "leases"],
        ] as const)
          need(state.context, path, { verb, group, resource, namespace: state.namespace }, "the journal");
      }
      need(state.context, path, { verb: "create", group: "", resource: "namespaces" }, "the journal");
    }
    await mapLimit([...needs.values()], 8, async (n) => {
      const port = portOf(n.context);
      if (!port?.reviewAccess || unreachable.has(n.context)) return;
      try {
        const decision = await port.reviewAccess(n.attributes);
        if (decision.allowed) return;
        problems.push({
          path: n.path,
          message:
            `the user of context "${n.context}" may not ${describeAccess(n.attributes)}, ` +
            `which ${[...n.steps].join(", ")} will do${decision.reason ? ` (${decision.reason})` : ""}`,
        });
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        // A server without the authorization API cannot be asked; the writes themselves will tell.
        if (isApiStatus(error, 404)) return;
        if (unreachable.has(n.context)) return;
        unreachable.set(n.context, messageOf(error));
        problems.push({ path: n.path, message: messageOf(error) });
      }
    });
    // The same order on every run, whatever order the answers came in.
    return problems.sort(
      (a, b) => (a.path ?? "").localeCompare(b.path ?? "") || a.message.localeCompare(b.message),
    );
  },
};

function objectOf(change: Change): { apiVersion: string; kind: string; namespace?: string } | undefined {
  const image =
    change.action === "create" || change.action === "update"
      ? change.after
      : change.action === "delete"
        ? change.before
        : undefined;
  const object = image as
    { apiVersion?: unknown; kind?: unknown; metadata?: { namespace?: unknown } } | undefined;
  if (typeof object?.apiVersion !== "string" || typeof object.kind !== "string") return undefined;
  const namespace = object.metadata?.namespace;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    ...(typeof namespace === "string" && namespace !== "" ? { namespace } : {}),
  };
}

function verbsOf(change: Change, kind: StepKind): string[] {
  const applying = APPLYING.has(kind);
  switch (change.action) {
    case "create":
      return applying ? ["create", "patch"] : ["create"];
    case "update":
      return [applying ? "patch" : "update"];
    case "delete":
      return ["delete"];
    case "wait":
    case "no-op":
      return [];
  }
}
