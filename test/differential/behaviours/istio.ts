import { fixtureObjects } from "../../support/fixtures.js";
import { create, obj, serviceEntry, virtualService, type Behaviour, type Obj } from "../objects.js";

function creates(name: string, object: Obj): Behaviour {
  return { name, run: async (s) => void (await create(s, "create", object)) };
}

function se(spec: Record<string, unknown>): Obj {
  return serviceEntry("remote", spec);
}

function vsRoute(route: Record<string, unknown>): Obj {
  return virtualService("routes", {
    http: [{ route: [{ destination: { host: "web.default.svc.cluster.local" } }], ...route }],
  });
}

const endpoint = (e: Record<string, unknown>) => ({ resolution: "STATIC", endpoints: [e] });

/** Objects of the shared fixtures (Google's migration guide, Online Boutique), as a user would apply them. */
function fixtures(): Behaviour[] {
  const files = [
    "asm/migrate-to-managed-asm__service-entry.yaml",
    "asm/migrate-to-managed-asm__virtual-service.yaml",
    "online-boutique/frontend-gateway.yaml",
    "online-boutique/allow-egress-googleapis.yaml",
  ];
  return files.flatMap((file) =>
    fixtureObjects(file).map((object) =>
      creates(`Given ${object.kind} ${object.metadata.name} of ${file}, When it is created`, {
        ...object,
        metadata: { name: object.metadata.name },
      }),
    ),
  );
}

/**
 * Istio's own CRDs, with their structural schemas and x-kubernetes-validations (CEL) rules: what a real cluster
 * with Istio refuses, the sandbox must refuse, or a migration rehearsed on it fails on the real thing.
 */
export const ISTIO: Behaviour[] = [
  creates(
    "Given a ServiceEntry with both workloadSelector and endpoints, When it is created",
    se({
      resolution: "STATIC",
      workloadSelector: { labels: { app: "x" } },
      endpoints: [{ address: "10.0.0.1" }],
    }),
  ),
  creates(
    "Given a ServiceEntry with a CIDR address and DNS resolution, When it is created",
    se({ addresses: ["10.1.0.0/16"], resolution: "DNS" }),
  ),
  creates(
    "Given a ServiceEntry without resolution but with endpoints, When it is created",
    se({ resolution: undefined, endpoints: [{ address: "10.0.0.1" }] }),
  ),
  creates(
    "Given a DNS_ROUND_ROBIN ServiceEntry with two endpoints, When it is created",
    se({
      resolution: "DNS_ROUND_ROBIN",
      endpoints: [{ address: "a.example.com" }, { address: "b.example.com" }],
    }),
  ),
  creates(
    "Given a ServiceEntry endpoint without address or network, When it is created",
    se(endpoint({ locality: "eu" })),
  ),
  creates(
    "Given a ServiceEntry endpoint on a unix socket with ports, When it is created",
    se(endpoint({ address: "unix:///var/run/app.sock", ports: { http: 8080 } })),
  ),
  creates(
    "Given a ServiceEntry endpoint on a relative unix socket path, When it is created",
    se(endpoint({ address: "unix://relative.sock" })),
  ),
  creates(
    "Given a ServiceEntry endpoint on a unix socket directory, When it is created",
    se(endpoint({ address: "unix:///var/run/" })),
  ),
  creates(
    "Given a ServiceEntry endpoint with a port named bad_name, When it is created",
    se(endpoint({ address: "10.0.0.1", ports: { bad_name: 8080 } })),
  ),
  creates(
    "Given a ServiceEntry endpoint with port 70000, When it is created",
    se(endpoint({ address: "10.0.0.1", ports: { http: 70000 } })),
  ),
  creates('Given a ServiceEntry for host "*", When it is created', se({ hosts: ["*"] })),
  creates(
    "Given a ServiceEntry with two ports of one number, When it is created",
    se({
      ports: [
        { number: 80, name: "http", protocol: "HTTP" },
        { number: 80, name: "http2", protocol: "HTTP2" },
      ],
    }),
  ),
  creates(
    "Given a ServiceEntry with port number 0, When it is created",
    se({ ports: [{ number: 0, name: "http", protocol: "HTTP" }] }),
  ),
  creates(
    "Given a ServiceEntry with targetPort 70000, When it is created",
    se({ ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 70000 }] }),
  ),
  creates(
    'Given a ServiceEntry for host "*" with port number 0 and an unknown location, When it is created',
    se({ hosts: ["*"], location: "MESH_SOMEWHERE", ports: [{ number: 0, name: "http" }] }),
  ),
  creates("Given a ServiceEntry without hosts, When it is created", se({ hosts: undefined })),
  creates("Given a VirtualService route timeout of abc, When it is created", vsRoute({ timeout: "abc" })),
  creates("Given a VirtualService route timeout of 0.5ms, When it is created", vsRoute({ timeout: "0.5ms" })),
  creates(
    "Given a VirtualService with a perTryTimeout of 0s, When it is created",
    vsRoute({ retries: { attempts: 3, perTryTimeout: "0s" } }),
  ),
  creates(
    "Given a VirtualService with a fixed delay of -1s, When it is created",
    vsRoute({ fault: { delay: { fixedDelay: "-1s", percentage: { value: 10 } } } }),
  ),
  creates(
    'Given a VirtualService route weight of "abc", When it is created',
    virtualService("weights", {
      http: [{ route: [{ destination: { host: "a" }, weight: "abc" }] }],
    }),
  ),
  creates(
    "Given a VirtualService with a destination port 4294967296, When it is created",
    virtualService("bigport", {
      http: [{ route: [{ destination: { host: "a", port: { number: 4294967296 } } }] }],
    }),
  ),
  creates(
    "Given a VirtualService with both a mirror percentage and a mirror_percent, When it is created",
    vsRoute({ mirror: { host: "b" }, mirrorPercentage: { value: 10 }, mirror_percent: 10 }),
  ),
  creates(
    'Given a DestinationRule whose workloadSelector matches the label value "*", When it is created',
    obj("DestinationRule", "wild", {
      spec: { host: "web", workloadSelector: { matchLabels: { app: "*" } } },
    }),
  ),
  creates(
    "Given a Gateway server with both credentialName and credentialNames, When it is created",
    obj("Gateway", "tls", {
      spec: {
        selector: { istio: "ingressgateway" },
        servers: [
          {
            port: { number: 443, name: "https", protocol: "HTTPS" },
            hosts: ["*"],
            tls: { mode: "SIMPLE", credentialName: "a", credentialNames: ["b"] },
          },
        ],
      },
    }),
  ),
  creates(
    "Given a valid ServiceEntry with a unix socket endpoint and targetPort, When it is created",
    se({
      resolution: "STATIC",
      endpoints: [{ address: "unix:///var/run/app.sock" }],
      ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 8080 }],
    }),
  ),
  creates(
    "Given a valid VirtualService with timeouts and retries, When it is created",
    vsRoute({ timeout: "10s", retries: { attempts: 3, perTryTimeout: "2s", retryOn: "5xx" } }),
  ),
  ...fixtures(),
];
