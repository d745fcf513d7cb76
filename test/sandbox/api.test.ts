import {
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { useSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";
import { failure, raw } from "./helpers.js";

const env = useSandbox({ clusters: ["source", "target"], istio: true, readyDelayMs: 20 });

const clients = new Map<string, { objects: KubernetesObjectApi; core: CoreV1Api }>();

function client(cluster: string): { objects: KubernetesObjectApi; core: CoreV1Api } {
  let found = clients.get(cluster);
  if (!found) {
    const kc = env().kubeConfig(cluster);
    found = { objects: KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(CoreV1Api) };
    clients.set(cluster, found);
  }
  return found;
}

function objects(cluster = "source"): KubernetesObjectApi {
  return client(cluster).objects;
}

function core(cluster = "source"): CoreV1Api {
  return client(cluster).core;
}

function configMap(
  name: string,
  namespace: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    data,
  };
}

/** Server-side apply to the source cluster as `manager`; `force` takes over fields other managers own. */
function serverSideApply<T extends KubernetesObject>(
  object: T,
  manager: string,
  force?: boolean,
): Promise<T> {
  return objects().patch<T>(object, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
}

/** What `read` and `delete` need to find a ConfigMap. */
function configMapRef(name: string, namespace: string) {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } };
}

function deployment(name: string, namespace: string, image: string, replicas = 2): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    },
  };
}

async function namespace(name: string, cluster = "source"): Promise<void> {
  await objects(cluster).create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

describe("discovery", () => {
  it("Given a cluster, When discovery is read, Then /version, /api, /apis and the resource lists describe every kind", async () => {
    const cluster = env().cluster("source");
    const version = await raw(cluster, "GET", "/version");
    expect(version.body).toMatchObject({ major: "1", gitVersion: expect.stringMatching(/^v1\./) as unknown });

    expect((await raw(cluster, "GET", "/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });

    const groups = (await raw(cluster, "GET", "/apis")).body as {
      groups: { name: string; preferredVersion: { version: string } }[];
    };
    const names = groups.groups.map((g) => g.name);
    for (const group of [
      "apps",
      "rbac.authorization.k8s.io",
      "networking.k8s.io",
      "policy",
      "autoscaling",
      "batch",
      "apiextensions.k8s.io",
      "coordination.k8s.io",
      "networking.istio.io",
    ]) {
      expect(names).toContain(group);
    }
    expect(groups.groups.find((g) => g.name === "networking.istio.io")?.preferredVersion.version).toBe("v1");

    const apps = (await raw(cluster, "GET", "/apis/apps/v1")).body as {
      resources: Record<string, unknown>[];
    };
    expect(apps.resources.find((r) => r["name"] === "deployments")).toMatchObject({
      name: "deployments",
      singularName: "deployment",
      kind: "Deployment",
      namespaced: true,
      shortNames: ["deploy"],
      verbs: expect.arrayContaining([
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "update",
        "watch",
      ]) as unknown,
    });
    const coreList = (await raw(cluster, "GET", "/api/v1")).body as { resources: Record<string, unknown>[] };
    const coreKinds = coreList.resources
      .filter((r) => !String(r["name"]).includes("/"))
      .map((r) => r["kind"]);
    expect(coreKinds).toEqual(
      expect.arrayContaining([
        "Namespace",
        "Service",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "Pod",
        "Endpoints",
        "Event",
      ]),
    );
    expect(coreList.resources.find((r) => r["name"] === "namespaces")).toMatchObject({
      namespaced: false,
      shortNames: ["ns"],
    });
    expect((await raw(cluster, "GET", "/apis/autoscaling/v2")).body).toMatchObject({
      resources: expect.arrayContaining([
        expect.objectContaining({ kind: "HorizontalPodAutoscaler" }),
      ]) as unknown,
    });
    const istio = (await raw(cluster, "GET", "/apis/networking.istio.io/v1alpha3")).body as {
      resources: Record<string, unknown>[];
    };
    expect(istio.resources.map((r) => r["kind"])).toEqual(
      expect.arrayContaining(["VirtualService", "ServiceEntry", "Gateway", "DestinationRule"]),
    );
  });

  it("Given any response, Then it is JSON, and unknown paths are 404 Status objects", async () => {
    const cluster = env().cluster("source");
    for (const path of [
      "/version",
      "/api/v1/namespaces",
      "/apis/apps/v1/deployments",
      "/api/v1/nothing",
      "/apis/nope/v1",
    ]) {
      const response = await raw(cluster, "GET", path);
      expect(response.contentType).toMatch(/^application\/json/);
    }
    const missing = await raw(cluster, "GET", "/apis/nope.example.com/v1");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
    });
  });

  it("Given no or a wrong bearer token, Then every path, the control API included, is 401 Unauthorized", async () => {
    const cluster = env().cluster("source");
    const other = env().cluster("target");
    for (const token of [null, "wrong", other.token]) {
      for (const path of ["/api/v1/namespaces", "/version", "/sandbox/v1/clusters"]) {
        const response = await raw(cluster, "GET", path, { token });
        expect(response.status).toBe(401);
        expect(response.contentType).toMatch(/^application\/json/);
        expect(response.body).toMatchObject({
          kind: "Status",
          status: "Failure",
          reason: "Unauthorized",
          code: 401,
        });
      }
    }
  });
});

describe("CRUD through client-node", () => {
  it("Given a new object, When it is created, read, listed, replaced and deleted, Then the server fills metadata like a real one", async () => {
    await namespace("crud");
    const api = objects();
    const created = await api.create(configMap("settings", "crud", { a: "1" }));
    expect(created.metadata).toMatchObject({ name: "settings", namespace: "crud" });
    // A real kube-apiserver keeps no generation for ConfigMaps (test/differential shows it).
    expect(created.metadata?.generation).toBeUndefined();
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeDefined();
    expect(created.metadata?.managedFields?.[0]).toMatchObject({
      operation: "Update",
      fieldsType: "FieldsV1",
    });

    const read = await api.read<V1ConfigMap>(configMapRef("settings", "crud"));
    expect(read.data).toEqual({ a: "1" });

    const replaced = await api.replace({ ...read, data: { a: "2" } });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(read.metadata?.resourceVersion),
    );
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    const list = await api.list("v1", "ConfigMap", "crud");
    expect(list.items.map((i) => i.metadata?.name).sort()).toEqual(["kube-root-ca.crt", "settings"]);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);

    const status = await api.delete(configMapRef("settings", "crud"));
    expect(status).toMatchObject({ status: "Success", details: { name: "settings", kind: "configmaps" } });
    const gone = await failure(api.read(configMapRef("settings", "crud")));
    expect(gone.code).toBe(404);
    expect(gone.status).toMatchObject({
      kind: "Status",
      reason: "NotFound",
      message: 'configmaps "settings" not found',
      details: { name: "settings", kind: "configmaps" },
    });
    expect((await failure(api.delete(configMapRef("settings", "crud")))).code).toBe(404);
  });

  it("Given an existing name, When created again, Then 409 AlreadyExists; with generateName, Then a fresh name", async () => {
    await namespace("dup");
    const api = objects();
    await api.create(configMap("one", "dup", {}));
    const again = await failure(api.create(configMap("one", "dup", {})));
    expect(again.code).toBe(409);
    expect(again.status).toMatchObject({
      reason: "AlreadyExists",
      message: 'configmaps "one" already exists',
    });
    const generated = await api.create<KubernetesObject>({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { generateName: "gen-", namespace: "dup" },
    });
    expect(generated.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it("Given a stale resourceVersion, When replaced, Then 409 Conflict and the object is unchanged", async () => {
    await namespace("stale");
    const api = objects();
    const first = await api.create(configMap("cm", "stale", { v: "1" }));
    await api.replace({ ...first, data: { v: "2" } });
    const conflict = await failure(api.replace({ ...first, data: { v: "3" } }));
    expect(conflict.code).toBe(409);
    expect(conflict.status).toMatchObject({
      reason: "Conflict",
      message: expect.stringContaining("the object has been modified") as unknown,
    });
    const current = await api.read<V1ConfigMap>(configMapRef("cm", "stale"));
    expect(current.data).toEqual({ v: "2" });
  });

  it("Given a missing namespace, When an object is created in it, Then 404 namespaces not found", async () => {
    const missing = await failure(objects().create(configMap("x", "no-such-namespace", {})));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({
      reason: "NotFound",
      message: 'namespaces "no-such-namespace" not found',
      details: { kind: "namespaces" },
    });
  });

  it("Given an invalid name, When created, Then 422 Invalid with the cause on metadata.name", async () => {
    const invalid = await failure(objects().create(configMap("Not_Valid", "default", {})));
    expect(invalid.code).toBe(422);
    expect(invalid.status).toMatchObject({
      reason: "Invalid",
      details: { causes: [expect.objectContaining({ field: "metadata.name", reason: "FieldValueInvalid" })] },
    });
  });

  it("Given a Deployment, When its spec changes, Then generation is bumped; label and no-op writes do not bump it", async () => {
    await namespace("gen");
    const api = objects();
    const created = await api.create(deployment("web", "gen", "nginx:1.25"));
    expect(created.metadata?.generation).toBe(1);
    const labelled = await api.patch<KubernetesObject>(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "gen", labels: { tier: "front" } },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(labelled.metadata?.generation).toBe(1);
    const changed = await serverSideApply(deployment("web", "gen", "nginx:1.26"), "test", true);
    expect(changed.metadata?.generation).toBe(2);
    const cm = await serverSideApply(configMap("noop", "gen", { a: "1" }), "test", true);
    const again = await serverSideApply(configMap("noop", "gen", { a: "1" }), "test", true);
    expect(again.metadata?.resourceVersion).toBe(cm.metadata?.resourceVersion);
  });

  it("Given dryRun=All, When created, Then the answer is the object but nothing is stored", async () => {
    const api = objects();
    const dry = await api.create(configMap("dry", "default", { a: "1" }), undefined, "All");
    expect(dry.metadata?.name).toBe("dry");
    expect((await failure(api.read(configMapRef("dry", "default")))).code).toBe(404);
  });

  it("Given a Secret with stringData, Then it is stored base64 in data like the real server", async () => {
    const secret = await objects().create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default" },
      stringData: { password: "hunter2" },
    } as KubernetesObject);
    expect(secret).toMatchObject({
      type: "Opaque",
      data: { password: Buffer.from("hunter2").toString("base64") },
    });
    expect(secret).not.toHaveProperty("stringData");
  });
});

describe("patches", () => {
  it("Given a ConfigMap, When merge, JSON and strategic merge patches apply, Then each has its own semantics", async () => {
    await namespace("patch");
    const api = objects();
    await api.create(configMap("p", "patch", { a: "1", b: "2" }));
    const merged = await api.patch(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "p", namespace: "patch" },
        data: { a: null, c: "3" },
      } as unknown as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect((merged as V1ConfigMap).data).toEqual({ b: "2", c: "3" });

    const jsonPatched = await core().patchNamespacedConfigMap({
      name: "p",
      namespace: "patch",
      body: [
        { op: "replace", path: "/data/b", value: "20" },
        { op: "add", path: "/data/d", value: "4" },
        { op: "remove", path: "/data/c" },
      ],
    });
    expect(jsonPatched.data).toEqual({ b: "20", d: "4" });

    const failedTest = await failure(
      core().patchNamespacedConfigMap({
        name: "p",
        namespace: "patch",
        body: [{ op: "test", path: "/data/b", value: "nope" }],
      }),
    );
    expect(failedTest.code).toBe(422);
  });

  it("Given a Deployment, When a strategic merge patch names one container, Then containers merge by name", async () => {
    await namespace("smp");
    const api = objects();
    const base = deployment("app", "smp", "app:1");
    base.spec!.template.spec!.containers.push({ name: "sidecar", image: "proxy:1" });
    await api.create(base);
    const smp = await api.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "app", namespace: "smp" },
        spec: { template: { spec: { containers: [{ name: "app", image: "app:2" }] } } },
      } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.StrategicMergePatch,
    );
    const containers = (smp as V1Deployment).spec?.template.spec?.containers.map(
      (c) => `${c.name}=${c.image}`,
    );
    expect(containers).toEqual(["app=app:2", "sidecar=proxy:1"]);
  });

  it("Given a custom resource, When a strategic merge patch is sent, Then 415 like the real server", async () => {
    await namespace("crsmp");
    const api = objects();
    await api.create({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "vs", namespace: "crsmp" },
      spec: { hosts: ["a"] },
    } as KubernetesObject);
    const refused = await failure(
      api.patch({
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "vs", namespace: "crsmp" },
        spec: { hosts: ["b"] },
      } as KubernetesObject),
    );
    expect(refused.code).toBe(415);
  });
});

describe("server-side apply", () => {
  it("Given no object, When applied, Then it is created (201) and owned by the manager at leaf granularity", async () => {
    await namespace("ssa");
    const applied = await serverSideApply(configMap("cm", "ssa", { a: "1" }, { app: "x" }), "mirror");
    expect(applied.metadata?.managedFields).toEqual([
      expect.objectContaining({
        manager: "mirror",
        operation: "Apply",
        apiVersion: "v1",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:data": { "f:a": {} }, "f:metadata": { "f:labels": { "f:app": {} } } },
      }),
    ]);
  });

  it("Given an applied object, When the manager applies without a field, Then the field is removed; others' fields stay", async () => {
    await namespace("ssa-remove");
    await serverSideApply(configMap("cm", "ssa-remove", { a: "1", b: "2" }), "one");
    await serverSideApply(configMap("cm", "ssa-remove", { c: "3" }), "two");
    const after = await serverSideApply<V1ConfigMap>(configMap("cm", "ssa-remove", { a: "1" }), "one");
    expect(after.data).toEqual({ a: "1", c: "3" });
  });

  it("Given a field owned by another manager, When applied with another value, Then 409 with causes; forced, Then ownership moves", async () => {
    await namespace("ssa-conflict");
    await serverSideApply(deployment("web", "ssa-conflict", "nginx:1"), "kubectl");
    const conflict = await failure(
      serverSideApply(deployment("web", "ssa-conflict", "nginx:2", 3), "clustershift", false),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status).toMatchObject({
      reason: "Conflict",
      message: expect.stringMatching(/^Apply failed with 2 conflicts: conflicts with "kubectl"/) as unknown,
    });
    const fields = (conflict.status["details"] as { causes: { field: string; reason: string }[] }).causes
      .map((c) => c.field)
      .sort();
    expect(fields).toEqual([".spec.replicas", '.spec.template.spec.containers[name="app"].image']);

    const sameValue = await serverSideApply(
      deployment("web", "ssa-conflict", "nginx:1"),
      "clustershift",
      false,
    );
    const managers = sameValue.metadata?.managedFields
      ?.filter((m) => m.subresource !== "status")
      .map((m) => m.manager);
    expect(managers?.sort()).toEqual(["clustershift", "kubectl"]);

    const forced = await serverSideApply<V1Deployment>(
      deployment("web", "ssa-conflict", "nginx:2", 3),
      "clustershift",
      true,
    );
    expect(forced.spec?.replicas).toBe(3);
    const kubectlFields = JSON.stringify(
      forced.metadata?.managedFields?.find((m) => m.manager === "kubectl")?.fieldsV1,
    );
    expect(kubectlFields).not.toContain("f:replicas");
    const back = await failure(
      serverSideApply(deployment("web", "ssa-conflict", "nginx:1", 2), "kubectl", false),
    );
    expect(back.code).toBe(409);
  });

  it("Given a field changed by an update (PUT), When another manager applies over it, Then it conflicts with the updater", async () => {
    await namespace("ssa-update");
    const api = objects();
    const created = await serverSideApply(configMap("cm", "ssa-update", { a: "1" }), "applier");
    await api.replace({ ...created, data: { a: "edited" } }, undefined, undefined, "kubectl-edit");
    const conflict = await failure(
      serverSideApply(configMap("cm", "ssa-update", { a: "1" }), "applier", false),
    );
    expect(conflict.status["message"]).toContain('conflict with "kubectl-edit"');
  });

  it("Given an apply body in YAML, Then it is accepted like JSON", async () => {
    const cluster = env().cluster("source");
    const yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n";
    const response = await raw(
      cluster,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/from-yaml?fieldManager=yaml",
      { body: yaml, contentType: "application/apply-patch+yaml" },
    );
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ data: { k: "v" } });
    const noManager = await raw(cluster, "PATCH", "/api/v1/namespaces/default/configmaps/from-yaml", {
      body: yaml,
      contentType: "application/apply-patch+yaml",
    });
    expect(noManager.status).toBe(400);
  });

  it("Given a Deployment's status in the applied object, Then the main resource ignores it", async () => {
    await namespace("ssa-status");
    const spec = { ...deployment("s", "ssa-status", "x:1"), status: { replicas: 99 } };
    const applied = (await serverSideApply(spec, "m", true)) as V1Deployment;
    expect(applied.status?.replicas).not.toBe(99);
  });
});

describe("lists, selectors and paging", () => {
  it("Given labelled objects, When listed with label selectors, Then every operator filters like the real server", async () => {
    await namespace("labels");
    const api = objects();
    await api.create(configMap("a", "labels", {}, { app: "web", tier: "front" }));
    await api.create(configMap("b", "labels", {}, { app: "web", tier: "back" }));
    await api.create(configMap("c", "labels", {}, { app: "db" }));
    const names = async (selector: string): Promise<string[]> =>
      (
        await api.list("v1", "ConfigMap", "labels", undefined, undefined, undefined, undefined, selector)
      ).items
        .map((i) => i.metadata?.name ?? "")
        .sort();
    expect(await names("app=web")).toEqual(["a", "b"]);
    expect(await names("app==web")).toEqual(["a", "b"]);
    expect(await names("app!=web")).toEqual(["c", "kube-root-ca.crt"]);
    expect(await names("tier in (front,side)")).toEqual(["a"]);
    expect(await names("tier notin (front)")).toEqual(["b", "c", "kube-root-ca.crt"]);
    expect(await names("tier")).toEqual(["a", "b"]);
    expect(await names("!tier")).toEqual(["c", "kube-root-ca.crt"]);
    expect(await names("app=web,tier=back")).toEqual(["b"]);
    const bad = await failure(
      api.list("v1", "ConfigMap", "labels", undefined, undefined, undefined, undefined, "a b c"),
    );
    expect(bad.code).toBe(400);
  });

  it("Given objects in several namespaces, When listed across namespaces with field selectors, Then they filter by name and namespace", async () => {
    await namespace("fields-a");
    await namespace("fields-b");
    const api = objects();
    await api.create(configMap("same", "fields-a", {}));
    await api.create(configMap("same", "fields-b", {}));
    const all = await core().listConfigMapForAllNamespaces({ fieldSelector: "metadata.name=same" });
    expect(all.items.map((i) => i.metadata?.namespace).sort()).toEqual(["fields-a", "fields-b"]);
    const one = await core().listConfigMapForAllNamespaces({
      fieldSelector: "metadata.name=same,metadata.namespace!=fields-a",
    });
    expect(one.items.map((i) => i.metadata?.namespace)).toEqual(["fields-b"]);
    const services = await raw(env().cluster("source"), "GET", "/api/v1/services");
    expect((services.body as { kind: string; items: unknown[] }).kind).toBe("ServiceList");
    expect(await failure(core().listConfigMapForAllNamespaces({ fieldSelector: "data.x=1" }))).toMatchObject({
      code: 400,
    });
  });

  it("Given 25 objects, When listed with limit 10, Then continue tokens page through all of them once", async () => {
    await namespace("paging");
    const api = objects();
    for (let i = 0; i < 25; i++)
      await api.create(configMap(`cm-${String(i).padStart(2, "0")}`, "paging", {}));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core().listNamespacedConfigMap({
        namespace: "paging",
        limit: 10,
        ...(token ? { _continue: token } : {}),
      });
      seen.push(...page.items.map((i) => i.metadata?.name ?? ""));
      token = page.metadata?._continue;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(26);
    expect(new Set(seen).size).toBe(26);
  });

  it("Given objects, When a collection is deleted by label, Then only those go", async () => {
    await namespace("collection");
    const api = objects();
    await api.create(configMap("keep", "collection", {}, { drop: "no" }));
    await api.create(configMap("drop", "collection", {}, { drop: "yes" }));
    await core().deleteCollectionNamespacedConfigMap({ namespace: "collection", labelSelector: "drop=yes" });
    const left = await api.list("v1", "ConfigMap", "collection");
    expect(left.items.map((i) => i.metadata?.name).sort()).toEqual(["keep", "kube-root-ca.crt"]);
  });
});

describe("namespaces", () => {
  it("Given a new namespace, Then it has the kube-root-ca.crt ConfigMap and the default ServiceAccount like a real cluster", async () => {
    await namespace("seeded");
    const cluster = env().cluster("source");
    expect(
      cluster.get({ apiVersion: "v1", kind: "ConfigMap", name: "kube-root-ca.crt", namespace: "seeded" })
        ?.metadata.managedFields,
    ).toBeDefined();
    expect(
      cluster.get({ apiVersion: "v1", kind: "ServiceAccount", name: "default", namespace: "seeded" }),
    ).toBeDefined();
    const defaults = await core().readNamespace({ name: "default" });
    expect(defaults.metadata?.labels).toEqual({ "kubernetes.io/metadata.name": "default" });
    expect(defaults.status?.phase).toBe("Active");
  });

  it("Given a namespace with objects, When deleted, Then it is Terminating, refuses new content, then goes with everything in it", async () => {
    await namespace("doomed");
    const api = objects();
    await api.create(configMap("cm", "doomed", {}));
    await api.create(deployment("d", "doomed", "x:1"));
    const terminating = await core().deleteNamespace({ name: "doomed" });
    expect(terminating).toMatchObject({ status: { phase: "Terminating" } });
    const refused = await failure(api.create(configMap("late", "doomed", {})));
    expect(refused.code).toBe(403);
    const cluster = env().cluster("source");
    await eventually(() =>
      cluster.get({ apiVersion: "v1", kind: "Namespace", name: "doomed" }) ? undefined : true,
    );
    expect((await failure(core().readNamespace({ name: "doomed" }))).code).toBe(404);
    expect(cluster.list("v1", "ConfigMap", "doomed")).toEqual([]);
    expect(cluster.list("apps/v1", "Deployment", "doomed")).toEqual([]);
  });

  it("Given the default namespace, When deleted, Then 403 Forbidden", async () => {
    expect((await failure(core().deleteNamespace({ name: "default" }))).code).toBe(403);
  });
});

describe("clusters are independent", () => {
  it("Given two clusters, When an object is created in one, Then the other does not see it; the in-process API agrees with HTTP", async () => {
    const api = objects("source");
    await api.create(configMap("only-source", "default", { a: "1" }));
    expect((await failure(objects("target").read(configMapRef("only-source", "default")))).code).toBe(404);
    const target = env().cluster("target");
    target.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "seeded-in-process", namespace: "default" },
      data: { b: "2" },
    });
    const read = await core("target").readNamespacedConfigMap({
      name: "seeded-in-process",
      namespace: "default",
    });
    expect(read.data).toEqual({ b: "2" });
    expect(
      target.delete({ apiVersion: "v1", kind: "ConfigMap", name: "seeded-in-process", namespace: "default" }),
    ).toBe(true);
    expect(
      target.delete({ apiVersion: "v1", kind: "ConfigMap", name: "seeded-in-process", namespace: "default" }),
    ).toBe(false);
  });

  it("Given a PATCH through CoreV1Api with a merge content type, Then client-node's header options reach the server", async () => {
    await objects().create(configMap("hdr", "default", { a: "1" }));
    const patched = await core().patchNamespacedConfigMap(
      { name: "hdr", namespace: "default", body: { data: { b: "2" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ a: "1", b: "2" });
  });
});
