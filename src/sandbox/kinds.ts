import type { ServiceAddresses } from "./addresses.js";
import { builtinSchema, encodeAsGo } from "./builtin-schema.js";
import {
  clone,
  deepEqual,
  ensureObject,
  isObject,
  objectAt,
  stringAt,
  timestamp,
  type Json,
  type JsonObject,
} from "./json.js";
import { compareVersions, type ResourceType } from "./resources.js";
import { invalid, type ApiError, type StatusCause } from "./status.js";

/** What a write of one kind needs beyond the generic path: defaults, allocations, validation. */
export interface PrepareContext {
  readonly type: ResourceType;
  /** The object about to be stored; hooks edit it in place. */
  readonly next: JsonObject;
  readonly before: JsonObject | undefined;
  readonly dryRun: boolean;
  readonly addresses: ServiceAddresses;
}

function setDefault(target: JsonObject, key: string, value: Json): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function containerDefaults(container: JsonObject): void {
  const image = stringAt(container, "image") ?? "";
  const tag = /:([^/:@]+)$/.exec(image.split("@")[0] ?? "")?.[1];
  setDefault(container, "imagePullPolicy", tag === undefined || tag === "latest" ? "Always" : "IfNotPresent");
  setDefault(container, "terminationMessagePath", "/dev/termination-log");
  setDefault(container, "terminationMessagePolicy", "File");
  for (const port of list(container["ports"])) setDefault(port, "protocol", "TCP");
}

function podSpecDefaults(spec: JsonObject, restartPolicy = "Always"): void {
  setDefault(spec, "restartPolicy", restartPolicy);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "securityContext", {});
  for (const container of [...list(spec["containers"]), ...list(spec["initContainers"])])
    containerDefaults(container);
}

function templateDefaults(spec: JsonObject, restartPolicy?: string): void {
  const template = objectAt(spec, "template");
  const podSpec = template && objectAt(template, "spec");
  if (podSpec) podSpecDefaults(podSpec, restartPolicy);
}

function workloadDefaults(kind: string, next: JsonObject): void {
  const spec = objectAt(next, "spec");
  if (!spec) return;
  switch (kind) {
    case "Deployment":
      setDefault(spec, "replicas", 1);
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "progressDeadlineSeconds", 600);
      setDefault(spec, "strategy", {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      });
      templateDefaults(spec);
      break;
    case "StatefulSet":
      setDefault(spec, "replicas", 1);
      setDefault(spec, "podManagementPolicy", "OrderedReady");
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "updateStrategy", {
        type: "RollingUpdate",
        rollingUpdate: { partition: 0, maxUnavailable: 1 },
      });
      setDefault(spec, "persistentVolumeClaimRetentionPolicy", {
        whenDeleted: "Retain",
        whenScaled: "Retain",
      });
      templateDefaults(spec);
      break;
    case "DaemonSet":
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "updateStrategy", {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
      });
      templateDefaults(spec);
      break;
    case "ReplicaSet":
      setDefault(spec, "replicas", 1);
      templateDefaults(spec);
      break;
    case "Job":
      templateDefaults(spec, "Never");
      break;
    case "Pod":
      podSpecDefaults(spec);
      break;
  }
}

function serviceKey(next: JsonObject): string {
  const metadata = objectAt(next, "metadata");
  return `${stringAt(metadata, "namespace") ?? ""}/${stringAt(metadata, "name") ?? ""}`;
}

function prepareService(ctx: PrepareContext): void {
  const spec = ensureObject(ctx.next, "spec");
  const oldSpec = ctx.before ? objectAt(ctx.before, "spec") : undefined;
  setDefault(spec, "type", "ClusterIP");
  const type = stringAt(spec, "type");
  const key = serviceKey(ctx.next);
  if (type === "ExternalName") {
    delete spec["clusterIP"];
    delete spec["clusterIPs"];
    ctx.addresses.release(key);
  } else {
    const oldIp = stringAt(oldSpec, "clusterIP");
    let ip =
      stringAt(spec, "clusterIP") ??
      (Array.isArray(spec["clusterIPs"]) && typeof spec["clusterIPs"][0] === "string"
        ? spec["clusterIPs"][0]
        : undefined);
    if (ip === "") ip = undefined;
    if (ip === undefined && oldIp !== undefined) ip = oldIp;
    if (oldIp !== undefined && ip !== oldIp) {
      throw invalid("Service", "", stringAt(objectAt(ctx.next, "metadata"), "name") ?? "", [
        {
          reason: "FieldValueInvalid",
          field: "spec.clusterIPs[0]",
          message: `Invalid value: ${JSON.stringify([ip])}: may not change once set`,
        },
      ]);
    }
    if (ip !== "None") ip = ctx.addresses.clusterIp(key, ip, ctx.dryRun);
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = [ip];
    setDefault(spec, "ipFamilies", ["IPv4"]);
    setDefault(spec, "ipFamilyPolicy", "SingleStack");
    setDefault(spec, "internalTrafficPolicy", "Cluster");
  }
  setDefault(spec, "sessionAffinity", "None");
  const ports = list(spec["ports"]);
  const oldPorts = list(oldSpec?.["ports"]);
  for (const port of ports) {
    setDefault(port, "protocol", "TCP");
    setDefault(port, "targetPort", port["port"] ?? null);
  }
  if (type === "NodePort" || type === "LoadBalancer") {
    setDefault(spec, "externalTrafficPolicy", "Cluster");
    if (type === "LoadBalancer") setDefault(spec, "allocateLoadBalancerNodePorts", true);
    const requested = ports.map((port) => {
      if (typeof port["nodePort"] === "number") return port["nodePort"];
      const old = oldPorts.find(
        (o) => o["port"] === port["port"] && (o["protocol"] ?? "TCP") === port["protocol"],
      );
      return typeof old?.["nodePort"] === "number" ? old["nodePort"] : 0;
    });
    const assigned = ctx.addresses.nodePortsFor(key, requested, ctx.dryRun);
    ports.forEach((port, i) => (port["nodePort"] = assigned[i] ?? 0));
  } else {
    for (const port of ports) delete port["nodePort"];
    if (!ctx.dryRun) ctx.addresses.nodePortsFor(key, [], false);
  }
  if (!ctx.before) ctx.next["status"] = { loadBalancer: {} };
}

function prepareNamespace(ctx: PrepareContext): void {
  const metadata = ensureObject(ctx.next, "metadata");
  ensureObject(metadata, "labels")["kubernetes.io/metadata.name"] = stringAt(metadata, "name") ?? "";
  ensureObject(ctx.next, "spec")["finalizers"] = ["kubernetes"];
  if (!ctx.before) ctx.next["status"] = { phase: "Active" };
}

function prepareSecret(ctx: PrepareContext): void {
  setDefault(ctx.next, "type", "Opaque");
  const stringData = objectAt(ctx.next, "stringData");
  if (!stringData) return;
  const data = ensureObject(ctx.next, "data");
  for (const [key, value] of Object.entries(stringData))
    data[key] = Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64");
  delete ctx.next["stringData"];
}

/** The resource type a CustomResourceDefinition serves; throws 422 when the definition is unusable. */
export function typeFromCrd(crd: JsonObject): ResourceType {
  const name = stringAt(objectAt(crd, "metadata"), "name") ?? "";
  const spec = objectAt(crd, "spec") ?? {};
  const names = objectAt(spec, "names") ?? {};
  const group = stringAt(spec, "group") ?? "";
  const kind = stringAt(names, "kind") ?? "";
  const plural = stringAt(names, "plural") ?? "";
  const scope = stringAt(spec, "scope");
  const versions = list(spec["versions"]);
  const causes: StatusCause[] = [];
  const required = (field: string, ok: boolean): void => {
    if (!ok) causes.push({ reason: "FieldValueRequired", field, message: "Required value" });
  };
  required("spec.group", group !== "");
  required("spec.names.kind", kind !== "");
  required("spec.names.plural", plural !== "");
  required("spec.versions", versions.length > 0);
  if (scope !== "Namespaced" && scope !== "Cluster") {
    causes.push({
      reason: "FieldValueNotSupported",
      field: "spec.scope",
      message: `Unsupported value: ${JSON.stringify(scope ?? "")}: supported values: "Cluster", "Namespaced"`,
    });
  }
  if (plural !== "" && group !== "" && name !== `${plural}.${group}`) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group`,
    });
  }
  const storage = versions.filter((v) => v["storage"] === true);
  if (versions.length > 0 && storage.length !== 1) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "spec.versions",
      message: "Invalid value: must have exactly one version marked as storage version",
    });
  }
  if (causes.length > 0) throw invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes);

  const served = versions.filter((v) => v["served"] !== false);
  const schemas = new Map<string, JsonObject>();
  for (const v of served) {
    const schema = objectAt(objectAt(v, "schema") ?? {}, "openAPIV3Schema");
    if (schema) schemas.set(stringAt(v, "name") ?? "", schema);
  }
  const strings = (value: Json | undefined): string[] => (Array.isArray(value) ? value.map(String) : []);
  return {
    group,
    versions: served.map((v) => stringAt(v, "name") ?? "").sort(compareVersions),
    storageVersion: stringAt(storage[0], "name") ?? "",
    kind,
    listKind: stringAt(names, "listKind") ?? `${kind}List`,
    plural,
    singular: stringAt(names, "singular") ?? kind.toLowerCase(),
    namespaced: scope === "Namespaced",
    shortNames: strings(names["shortNames"]),
    categories: strings(names["categories"]),
    statusSubresource: served.some((v) => isObject(objectAt(v, "subresources")?.["status"])),
    schemas,
    crd: name,
  };
}

function prepareCrd(ctx: PrepareContext): void {
  const type = typeFromCrd(ctx.next);
  const spec = ensureObject(ctx.next, "spec");
  const names = ensureObject(spec, "names");
  setDefault(names, "singular", type.singular);
  setDefault(names, "listKind", type.listKind);
  setDefault(spec, "conversion", { strategy: "None" });
  const stamp = timestamp();
  const condition = (kind: string, reason: string, message: string): JsonObject => ({
    type: kind,
    status: "True",
    lastTransitionTime: stamp,
    reason,
    message,
  });
  ctx.next["status"] = {
    acceptedNames: names,
    conditions: [
      condition("NamesAccepted", "NoConflicts", "no conflicts found"),
      condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ],
    storedVersions: [type.storageVersion],
  };
}

function prepareNetworkPolicy(ctx: PrepareContext): void {
  const spec = objectAt(ctx.next, "spec");
  if (!spec) return;
  for (const rule of [...list(spec["ingress"]), ...list(spec["egress"])])
    for (const port of list(rule["ports"])) setDefault(port, "protocol", "TCP");
  if (spec["policyTypes"] === undefined || spec["policyTypes"] === null) {
    // The real server's defaulting: Ingress always, Egress when there are egress rules.
    spec["policyTypes"] =
      Array.isArray(spec["egress"]) && spec["egress"].length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
  }
}

/** The DaemonSet's template generation, which the real server keeps in an annotation and bumps with the template. */
function prepareDaemonSet(ctx: PrepareContext): void {
  const key = "deprecated.daemonset.template.generation";
  const annotations = ensureObject(ensureObject(ctx.next, "metadata"), "annotations");
  const old = ctx.before
    ? stringAt(objectAt(objectAt(ctx.before, "metadata") ?? {}, "annotations"), key)
    : undefined;
  // Compared as stored: the request's template is written the way the stored one was (Go's always-there fields).
  const encoded = clone(ctx.next);
  const schema = builtinSchema(ctx.type);
  if (schema) encodeAsGo(encoded, schema);
  const sameTemplate =
    ctx.before !== undefined &&
    deepEqual(
      objectAt(ctx.before, "spec")?.["template"] ?? null,
      objectAt(encoded, "spec")?.["template"] ?? null,
    );
  annotations[key] = old === undefined ? "1" : sameTemplate ? old : String(Number(old) + 1);
}

export function prepareKind(ctx: PrepareContext): void {
  if (ctx.type.crd !== undefined) return;
  workloadDefaults(ctx.type.kind, ctx.next);
  switch (`${ctx.type.group}/${ctx.type.kind}`) {
    case "/Service":
      prepareService(ctx);
      break;
    case "/Namespace":
      prepareNamespace(ctx);
      break;
    case "/Secret":
      prepareSecret(ctx);
      break;
    case "apiextensions.k8s.io/CustomResourceDefinition":
      prepareCrd(ctx);
      break;
    case "networking.k8s.io/NetworkPolicy":
      prepareNetworkPolicy(ctx);
      break;
    case "apps/DaemonSet":
      prepareDaemonSet(ctx);
      break;
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KINDS = new Set(["Namespace", "Service"]);

/** Name rules of the real server: RFC 1123 labels for namespaces and services, subdomains for most, path segments for RBAC. */
export function nameError(type: ResourceType, name: string): ApiError | undefined {
  let problem: string | undefined;
  if (type.group === "rbac.authorization.k8s.io") {
    if (name === "." || name === ".." || /[/%]/.test(name))
      problem = "may not contain '/' or '%' and may not be '.' or '..'";
  } else if (type.crd === undefined && LABEL_KINDS.has(type.kind)) {
    if (name.length > 63 || !DNS_LABEL.test(name)) {
      problem =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    problem =
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  if (problem === undefined) return undefined;
  return invalid(type.kind, type.group, name, [
    {
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: ${JSON.stringify(name)}: ${problem}`,
    },
  ]);
}
