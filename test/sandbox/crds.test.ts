import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { istioCrdYaml as shippedIstioCrdYaml } from "../../src/sandbox/crds.js";
import { startSandbox } from "../../src/sandbox/index.js";
import { fixtureObjects, istioCrdYaml } from "../support/fixtures.js";
import { useSandbox } from "../support/sandbox.js";
import { failure, raw } from "./helpers.js";

const env = useSandbox({ clusters: ["real", "other"], istio: { crdYaml: istioCrdYaml() } });

const clients = new Map<string, KubernetesObjectApi>();

function api(cluster = "real"): KubernetesObjectApi {
  let client = clients.get(cluster);
  if (!client) {
    client = KubernetesObjectApi.makeApiClient(env().kubeConfig(cluster));
    clients.set(cluster, client);
  }
  return client;
}

const ISTIO_FIXTURES = [
  "online-boutique/frontend.yaml",
  "online-boutique/frontend-gateway.yaml",
  "online-boutique/allow-egress-googleapis.yaml",
  "bookinfo/bookinfo-gateway.yaml",
  "bookinfo/destination-rule-all.yaml",
  "bookinfo/fault-injection-details-v1.yaml",
  "bookinfo/virtual-service-all-v1.yaml",
  "bookinfo/virtual-service-reviews-80-20.yaml",
  "asm/migrate-to-managed-asm__service-entry.yaml",
  "asm/migrate-to-managed-asm__virtual-service.yaml",
  "asm/migrate-to-managed-asm__virtual-service-in-cluster-asm.yaml",
  "asm/shared__asm-ingress-gateway__gateway.yaml",
  "asm/shared__online-boutique__virtual-service.yaml",
];

function reviews(weight: unknown): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "reviews-bad", namespace: "default" },
    spec: {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews", subset: "v1" }, weight }] }],
    },
  } as KubernetesObject;
}

describe("Istio's own CRDs", () => {
  it("Given crd-all.gen.yaml, When installed into a fresh cluster, Then its 15 kinds are installed and every kind is served in v1, v1beta1 and v1alpha3", async () => {
    const sandbox = await startSandbox({ clusters: ["timed"] });
    try {
      const cluster = sandbox.clusters.get("timed");
      expect(cluster?.installCrds(istioCrdYaml())).toBe(15);
    } finally {
      await sandbox.stop();
    }
    const cluster = env().cluster("real");
    for (const version of ["v1", "v1beta1", "v1alpha3"]) {
      const list = (await raw(cluster, "GET", `/apis/networking.istio.io/${version}`)).body as {
        resources: { kind: string }[];
      };
      expect(list.resources.map((r) => r.kind)).toEqual(
        expect.arrayContaining(["VirtualService", "ServiceEntry", "DestinationRule", "Gateway", "Sidecar"]),
      );
    }
    const crds = (await raw(cluster, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
      .body as { items: { status: { conditions: { type: string; status: string }[] } }[] };
    expect(crds.items).toHaveLength(15);
    expect(crds.items[0]?.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Established", status: "True" })]),
    );
  });

  it("Given every Istio manifest of the fixtures, When created through client-node, Then Istio's schemas accept them", async () => {
    await api().create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-docs" } });
    let created = 0;
    for (const file of ISTIO_FIXTURES) {
      for (const doc of fixtureObjects(file)) {
        const object = { ...doc, metadata: { ...doc.metadata, namespace: "istio-docs" } } as KubernetesObject;
        const header = {
          apiVersion: object.apiVersion ?? "",
          kind: object.kind ?? "",
          metadata: { name: object.metadata?.name ?? "", namespace: "istio-docs" },
        };
        const existing = await api()
          .read(header)
          .catch(() => undefined);
        if (existing) await api().delete(object);
        await api().create(object);
        created++;
      }
    }
    expect(created).toBeGreaterThanOrEqual(15);
  });

  it("Given a v1alpha3 VirtualService, When read as v1, Then the same object is served with the requested apiVersion", async () => {
    const [frontend] = fixtureObjects("online-boutique/frontend.yaml");
    await api().create<KubernetesObject>({
      ...frontend,
      metadata: { ...frontend?.metadata, namespace: "default" },
    });
    const asV1 = await api().read({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "frontend", namespace: "default" },
    });
    expect(asV1.apiVersion).toBe("networking.istio.io/v1");
    expect((asV1 as { spec?: { hosts?: string[] } }).spec?.hosts).toEqual([
      "frontend.default.svc.cluster.local",
    ]);
  });

  it('Given a route weight "abc", When created, Then 422 Invalid with a FieldValueTypeInvalid cause at spec.http[0].route[0].weight', async () => {
    const refused = await failure(api().create(reviews("abc")));
    expect(refused.code).toBe(422);
    expect(refused.status).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Invalid",
      message: expect.stringContaining(
        'VirtualService.networking.istio.io "reviews-bad" is invalid: [spec.http[0].route[0].weight',
      ) as unknown,
      details: {
        name: "reviews-bad",
        group: "networking.istio.io",
        kind: "VirtualService",
        causes: [
          {
            reason: "FieldValueTypeInvalid",
            field: "spec.http[0].route[0].weight",
            message:
              'Invalid value: "string": spec.http[0].route[0].weight in body must be of type integer: "string"',
          },
          // As on a real kube-apiserver: a type error keeps the CRD's CEL rules from running, and it says so.
          {
            reason: "FieldValueInvalid",
            field: "<nil>",
            message:
              "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
          },
        ],
      },
    });
  });

  it("Given wrong types, a missing required field and an unsupported enum value, Then each is a cause of its own kind", async () => {
    const hosts = await failure(
      api().create({ ...reviews(10), spec: { hosts: "reviews" } } as KubernetesObject),
    );
    expect(hosts.status).toMatchObject({
      details: {
        causes: expect.arrayContaining([
          expect.objectContaining({ field: "spec.hosts", reason: "FieldValueTypeInvalid" }),
        ]) as unknown,
      },
    });

    const serviceEntry = {
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name: "se-bad", namespace: "default" },
      spec: { hosts: ["a.example.com"], ports: [{ number: 443, protocol: "TLS" }], resolution: "SOMETIMES" },
    } as KubernetesObject;
    const causes = (
      (await failure(api().create(serviceEntry))).status["details"] as {
        causes: { reason: string; field: string }[];
      }
    ).causes;
    expect(causes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "FieldValueRequired", field: "spec.ports[0].name" }),
        expect.objectContaining({ reason: "FieldValueNotSupported", field: "spec.resolution" }),
      ]),
    );
  });

  it("Given an unknown field, When created, Then it is pruned silently; with fieldValidation=Strict, Then 400", async () => {
    const created = await api().create({
      ...reviews(100),
      metadata: { name: "pruned", namespace: "default" },
      spec: { hosts: ["r"], madeUp: true },
    } as KubernetesObject);
    expect((created as { spec: Record<string, unknown> }).spec).toEqual({ hosts: ["r"] });
    const strict = await raw(
      env().cluster("real"),
      "POST",
      "/apis/networking.istio.io/v1/namespaces/default/virtualservices?fieldValidation=Strict",
      {
        body: { ...reviews(100), metadata: { name: "strict" }, spec: { hosts: ["r"], madeUp: true } },
      },
    );
    expect(strict.status).toBe(400);
    expect(strict.body).toMatchObject({
      reason: "BadRequest",
      message: expect.stringContaining('unknown field "spec.madeUp"') as unknown,
    });
  });
});

describe("the Istio CRDs the package ships, and user CRDs", () => {
  it("Given istio: true, Then Istio's own crd-all.gen.yaml is installed, its schemas and CEL rules refuse what a real cluster refuses", async () => {
    // The shipped copy is the file the real kube-apiserver of the tests installs (../shared/fixtures).
    expect(shippedIstioCrdYaml()).toBe(istioCrdYaml());
    const sandbox = await startSandbox({ clusters: ["shipped"], istio: true });
    try {
      const cluster = sandbox.clusters.get("shipped");
      if (!cluster) throw new Error("no cluster");
      const crds = (await raw(cluster, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
        .body as { items: unknown[] };
      expect(crds.items).toHaveLength(15);
      const bad = await raw(
        cluster,
        "POST",
        "/apis/networking.istio.io/v1/namespaces/default/virtualservices",
        { body: reviews("abc") },
      );
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({
        details: {
          causes: expect.arrayContaining([
            expect.objectContaining({ field: "spec.http[0].route[0].weight" }),
          ]) as unknown,
        },
      });
      const noneWithEndpoints = await raw(
        cluster,
        "POST",
        "/apis/networking.istio.io/v1/namespaces/default/serviceentries",
        {
          body: {
            apiVersion: "networking.istio.io/v1",
            kind: "ServiceEntry",
            metadata: { name: "none" },
            spec: { hosts: ["a.example.com"], endpoints: [{ address: "10.0.0.1" }] },
          },
        },
      );
      expect(noneWithEndpoints.status).toBe(422);
      expect(noneWithEndpoints.body).toMatchObject({
        message:
          'ServiceEntry.networking.istio.io "none" is invalid: spec: Invalid value: NONE mode cannot set endpoints',
      });
      for (const file of [
        "bookinfo/virtual-service-reviews-80-20.yaml",
        "online-boutique/frontend.yaml",
        "asm/migrate-to-managed-asm__service-entry.yaml",
      ]) {
        for (const doc of fixtureObjects(file)) {
          const plural = doc.kind === "VirtualService" ? "virtualservices" : "serviceentries";
          const response = await raw(
            cluster,
            "POST",
            `/apis/${doc.apiVersion}/namespaces/default/${plural}`,
            { body: doc },
          );
          expect(response.status, `${file}: ${response.text}`).toBe(201);
        }
      }
    } finally {
      await sandbox.stop();
    }
  });

  it("Given a new CRD created through the API, Then its kind is served and validated; deleting it removes kind and objects", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"] },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    required: ["size"],
                    properties: {
                      size: { type: "integer", minimum: 1, maximum: 10 },
                      color: { type: "string", enum: ["red", "blue"], default: "red" },
                      port: { "x-kubernetes-int-or-string": true },
                      extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                      tags: { type: "object", additionalProperties: { type: "string" } },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    } as KubernetesObject;
    // Raw JSON: client-node re-serializes built-in kinds through its models, which drop `default` and `x-kubernetes-*` keys.
    const cluster = env().cluster("other");
    expect(
      (await raw(cluster, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { body: crd }))
        .status,
    ).toBe(201);
    const resources = (await raw(cluster, "GET", "/apis/example.com/v1")).body as {
      resources: Record<string, unknown>[];
    };
    expect(resources.resources[0]).toMatchObject({
      name: "widgets",
      kind: "Widget",
      namespaced: true,
      shortNames: ["wd"],
    });

    const widget = (spec: Record<string, unknown>, name = "w"): KubernetesObject =>
      ({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name, namespace: "default" },
        spec,
      }) as KubernetesObject;
    const created = (await api("other").create(
      widget({ size: 3, port: "http", extra: { any: { thing: 1 } }, tags: { a: "b" } }),
    )) as { spec: Record<string, unknown> };
    expect(created.spec).toEqual({
      size: 3,
      color: "red",
      port: "http",
      extra: { any: { thing: 1 } },
      tags: { a: "b" },
    });

    const problems = await failure(
      api("other").create(widget({ size: 11, color: "green", port: true, tags: { a: 1 } }, "bad")),
    );
    const reasons = (problems.status["details"] as { causes: { reason: string; field: string }[] }).causes
      .map((c) => `${c.reason} ${c.field}`)
      .sort();
    expect(reasons).toEqual([
      "FieldValueInvalid spec.size",
      "FieldValueNotSupported spec.color",
      "FieldValueTypeInvalid spec.port",
      "FieldValueTypeInvalid spec.tags[a]",
    ]);
    expect((await failure(api("other").create(widget({}, "empty")))).status).toMatchObject({
      details: { causes: [{ reason: "FieldValueRequired", field: "spec.size" }] },
    });

    await api("other").delete(crd);
    expect((await raw(cluster, "GET", "/apis/example.com/v1")).status).toBe(404);
    expect((await raw(cluster, "GET", "/apis/example.com/v1/namespaces/default/widgets/w")).status).toBe(404);
  });
});
