import type { JsonObject } from "./json.js";

/**
 * A compact stand-in for Istio's networking CRDs, written for the sandbox (the product never reads the
 * upstream bundle): the four kinds clustershift writes, served as v1, v1beta1 and v1alpha3 (stored as v1).
 * `spec` keeps unknown fields; the fields clustershift relies on are type-checked.
 */

const str: JsonObject = { type: "string" };
const int: JsonObject = { type: "integer" };
const strings: JsonObject = { type: "array", items: str };
const stringMap: JsonObject = { type: "object", additionalProperties: str };
const open = (properties: JsonObject = {}, required?: string[]): JsonObject => ({
  type: "object",
  "x-kubernetes-preserve-unknown-fields": true,
  properties,
  ...(required ? { required } : {}),
});
const list = (items: JsonObject): JsonObject => ({ type: "array", items });

const portSelector = open({ number: { ...int, minimum: 0, maximum: 4294967295 } });
const destination = open({ host: str, subset: str, port: portSelector }, ["host"]);
const portFields: JsonObject = {
  number: { ...int, minimum: 0, maximum: 4294967295 },
  protocol: str,
  name: str,
  targetPort: int,
};
const port = open(portFields, ["number", "name"]);
const gatewayPort = open(portFields, ["number", "protocol", "name"]);

const SPECS: Record<string, JsonObject> = {
  VirtualService: open({
    hosts: strings,
    gateways: strings,
    exportTo: strings,
    http: list(
      open({
        name: str,
        match: list(open()),
        route: list(open({ destination, weight: { ...int, format: "int32" }, headers: open() })),
        timeout: str,
        retries: open({ attempts: { ...int, format: "int32" }, perTryTimeout: str, retryOn: str }),
        rewrite: open({ uri: str, authority: str }),
      }),
    ),
    tcp: list(open({ route: list(open({ destination, weight: { ...int, format: "int32" } })) })),
    tls: list(open({ route: list(open({ destination, weight: { ...int, format: "int32" } })) })),
  }),
  ServiceEntry: open(
    {
      hosts: strings,
      addresses: strings,
      ports: list(port),
      location: { type: "string", enum: ["MESH_EXTERNAL", "MESH_INTERNAL"] },
      resolution: { type: "string", enum: ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"] },
      endpoints: list(
        open({
          address: str,
          ports: { type: "object", additionalProperties: int },
          labels: stringMap,
          network: str,
          locality: str,
          weight: int,
        }),
      ),
      exportTo: strings,
      subjectAltNames: strings,
    },
    ["hosts"],
  ),
  DestinationRule: open(
    {
      host: str,
      trafficPolicy: open(),
      subsets: list(open({ name: str, labels: stringMap, trafficPolicy: open() }, ["name"])),
      exportTo: strings,
    },
    ["host"],
  ),
  Gateway: open({
    selector: stringMap,
    servers: list(
      open({ port: gatewayPort, hosts: strings, bind: str, name: str, tls: open() }, ["port", "hosts"]),
    ),
  }),
};

const COLUMNS: Record<string, JsonObject[]> = {
  VirtualService: [
    {
      name: "Gateways",
      type: "string",
      jsonPath: ".spec.gateways",
      description: "The names of gateways and sidecars that should apply these routes",
    },
    {
      name: "Hosts",
      type: "string",
      jsonPath: ".spec.hosts",
      description: "The destination hosts to which traffic is being sent",
    },
  ],
  ServiceEntry: [
    {
      name: "Hosts",
      type: "string",
      jsonPath: ".spec.hosts",
      description: "The hosts associated with the ServiceEntry",
    },
    {
      name: "Location",
      type: "string",
      jsonPath: ".spec.location",
      description: "Whether the service is external to the mesh or part of the mesh",
    },
    {
      name: "Resolution",
      type: "string",
      jsonPath: ".spec.resolution",
      description: "Service resolution mode for the hosts",
    },
  ],
  DestinationRule: [
    {
      name: "Host",
      type: "string",
      jsonPath: ".spec.host",
      description: "The name of a service from the service registry",
    },
  ],
  Gateway: [],
};

const NAMES: Record<string, { plural: string; shortNames: string[] }> = {
  VirtualService: { plural: "virtualservices", shortNames: ["vs"] },
  ServiceEntry: { plural: "serviceentries", shortNames: ["se"] },
  DestinationRule: { plural: "destinationrules", shortNames: ["dr"] },
  Gateway: { plural: "gateways", shortNames: ["gw"] },
};

function crd(kind: string): JsonObject {
  const names = NAMES[kind] ?? { plural: `${kind.toLowerCase()}s`, shortNames: [] };
  const schema: JsonObject = {
    openAPIV3Schema: {
      type: "object",
      properties: { spec: SPECS[kind] ?? open(), status: open() },
      required: ["spec"],
    },
  };
  const columns = [
    ...(COLUMNS[kind] ?? []),
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "CreationTimestamp" },
  ];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${names.plural}.networking.istio.io`,
      labels: { app: "istio-pilot", chart: "istio", heritage: "Tiller", release: "istio" },
    },
    spec: {
      group: "networking.istio.io",
      names: {
        categories: ["istio-io", "networking-istio-io"],
        kind,
        listKind: `${kind}List`,
        plural: names.plural,
        shortNames: names.shortNames,
        singular: kind.toLowerCase(),
      },
      scope: "Namespaced",
      versions: ["v1", "v1alpha3", "v1beta1"].map((name) => ({
        name,
        served: true,
        storage: name === "v1",
        additionalPrinterColumns: columns,
        schema,
        subresources: { status: {} },
      })),
    },
  };
}

export const ISTIO_CRDS: JsonObject[] = ["DestinationRule", "Gateway", "ServiceEntry", "VirtualService"].map(
  crd,
);
