import { createHash } from "node:crypto";
import { isObject, objectAt, stringAt, type Json, type JsonObject } from "./json.js";
import { groupVersion, type ResourceRegistry, type ResourceType } from "./resources.js";

export const SERVER_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0" };

export function versionInfo(): JsonObject {
  return {
    ...SERVER_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.23.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): JsonObject {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] ?? null };
}

export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...registry.groups()].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): JsonObject | undefined {
  const versions = registry.groups().get(group);
  return versions ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, versions) } : undefined;
}

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version).sort((a, b) => (a.plural < b.plural ? -1 : 1));
  if (types.length === 0 && !(group === "" && version === "v1")) return undefined;
  const resources: Json[] = [];
  for (const type of types) {
    const resource: JsonObject = {
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.kind === "Namespace" ? VERBS.filter((v) => v !== "deletecollection") : VERBS,
      storageVersionHash: createHash("sha256")
        .update(`${type.group}/${type.plural}`)
        .digest("base64")
        .slice(0, 11),
    };
    if (type.shortNames.length > 0) resource["shortNames"] = [...type.shortNames];
    if (type.categories.length > 0) resource["categories"] = [...type.categories];
    resources.push(resource);
  }
  // Subresources come after every main resource: client-node takes the first entry whose kind matches.
  for (const type of types) {
    if (type.scaleSubresource) {
      resources.push({
        name: `${type.plural}/scale`,
        singularName: "",
        namespaced: type.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    }
    if (type.statusSubresource) {
      resources.push({
        name: `${type.plural}/status`,
        singularName: "",
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: ["get", "patch", "update"],
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion(group, version), resources };
}

function groupVersions(registry: ResourceRegistry): { group: string; version: string }[] {
  const out = [{ group: "", version: "v1" }];
  for (const [group, versions] of registry.groups())
    for (const version of versions) out.push({ group, version });
  return out;
}

function openApiPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

/**
 * `/openapi/v3`: only what kubectl looks for before `apply`: every kind's PATCH operation with the
 * `fieldValidation` parameter, so kubectl leaves validation to the server instead of failing to find schemas.
 */
export function openApiRoot(registry: ResourceRegistry): JsonObject {
  const paths: JsonObject = {};
  for (const { group, version } of groupVersions(registry)) {
    const path = openApiPath(group, version);
    const hash = createHash("sha512")
      .update(JSON.stringify(apiResourceList(registry, group, version)))
      .digest("hex")
      .toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

export function openApiGroupVersion(registry: ResourceRegistry, path: string): JsonObject | undefined {
  const match = groupVersions(registry).find((gv) => openApiPath(gv.group, gv.version) === path);
  if (!match) return undefined;
  const paths: JsonObject = {};
  const parameters = ["fieldValidation", "fieldManager", "dryRun", "force"].map((name) => ({
    name,
    in: "query",
    schema: { type: "string", uniqueItems: true },
  }));
  for (const type of registry.inGroupVersion(match.group, match.version)) {
    const base = `/${openApiPath(match.group, match.version)}${type.namespaced ? "/namespaces/{namespace}" : ""}/${type.plural}/{name}`;
    paths[base] = {
      patch: {
        operationId: `patch${type.kind}`,
        parameters,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group: match.group, version: match.version, kind: type.kind },
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

/** Short age as kubectl prints it: 45s, 3m12s, 5h, 2d. */
export function age(since: string | undefined, now = Date.now()): string {
  if (since === undefined) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 > 0 ? `${seconds % 60}s` : ""}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

interface Column {
  name: string;
  cell: (object: JsonObject) => Json;
}

function path(object: JsonObject, dotted: string): Json | undefined {
  let node: Json | undefined = object;
  for (const part of dotted.replace(/^\./, "").split(".")) node = isObject(node) ? node[part] : undefined;
  return node;
}

function text(value: Json | undefined): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function servicePorts(object: JsonObject): string {
  const ports = path(object, "spec.ports");
  if (!Array.isArray(ports) || ports.length === 0) return "<none>";
  return ports
    .filter(isObject)
    .map(
      (p) =>
        `${text(p["port"])}${p["nodePort"] ? `:${text(p["nodePort"])}` : ""}/${text(p["protocol"] ?? "TCP")}`,
    )
    .join(",");
}

function externalIp(object: JsonObject): string {
  const ingress = path(object, "status.loadBalancer.ingress");
  if (Array.isArray(ingress) && ingress.length > 0)
    return ingress.map((i) => text(isObject(i) ? (i["ip"] ?? i["hostname"]) : i)).join(",");
  return path(object, "spec.type") === "LoadBalancer" ? "<pending>" : "<none>";
}

const READY = (object: JsonObject): Json =>
  `${Number(path(object, "status.readyReplicas") ?? 0)}/${Number(path(object, "spec.replicas") ?? 1)}`;

const KIND_COLUMNS: Readonly<Record<string, Column[]>> = {
  Namespace: [{ name: "Status", cell: (o) => text(path(o, "status.phase")) }],
  Deployment: [
    { name: "Ready", cell: READY },
    { name: "Up-to-date", cell: (o) => Number(path(o, "status.updatedReplicas") ?? 0) },
    { name: "Available", cell: (o) => Number(path(o, "status.availableReplicas") ?? 0) },
  ],
  StatefulSet: [{ name: "Ready", cell: READY }],
  Service: [
    { name: "Type", cell: (o) => text(path(o, "spec.type")) },
    { name: "Cluster-IP", cell: (o) => text(path(o, "spec.clusterIP")) },
    { name: "External-IP", cell: externalIp },
    { name: "Port(s)", cell: servicePorts },
  ],
};

function crdColumns(crd: JsonObject | undefined, version: string): Column[] {
  const versions = path(crd ?? {}, "spec.versions");
  const entry = Array.isArray(versions)
    ? versions.filter(isObject).find((v) => v["name"] === version)
    : undefined;
  const columns = entry?.["additionalPrinterColumns"];
  if (!Array.isArray(columns)) return [];
  return columns
    .filter(isObject)
    .filter((c) => c["priority"] === undefined || c["priority"] === 0)
    .filter((c) => stringAt(c, "jsonPath") !== ".metadata.creationTimestamp")
    .map((c) => ({
      name: stringAt(c, "name") ?? "",
      cell: (o: JsonObject) => text(path(o, stringAt(c, "jsonPath") ?? "")),
    }));
}

export type IncludeObject = "None" | "Metadata" | "Object";

/** A meta.k8s.io/v1 Table, what kubectl asks for to print `get` output. */
export function toTable(
  type: ResourceType,
  objects: JsonObject[],
  resourceVersion: string,
  includeObject: IncludeObject,
  crd: JsonObject | undefined,
  version: string,
): JsonObject {
  const columns: Column[] = [
    { name: "Name", cell: (o) => text(path(o, "metadata.name")) },
    ...(type.crd === undefined ? (KIND_COLUMNS[type.kind] ?? []) : crdColumns(crd, version)),
    { name: "Age", cell: (o) => age(stringAt(objectAt(o, "metadata"), "creationTimestamp")) },
  ];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: "string",
      format: c.name === "Name" ? "name" : "",
      description: c.name,
      priority: 0,
    })),
    rows: objects.map((object) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(object)) };
      if (includeObject === "Object") row["object"] = object;
      else if (includeObject === "Metadata") {
        row["object"] = {
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: objectAt(object, "metadata") ?? {},
        };
      }
      return row;
    }),
  };
}
