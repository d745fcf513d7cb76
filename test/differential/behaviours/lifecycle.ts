/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   Answers are read as loosely as a user's script reads JSON: a field that is not there is a difference to report,
   not a type error. */
import {
  collection,
  configMap,
  deployment,
  given,
  item,
  JSON_PATCH,
  MERGE,
  serviceEntry,
  type Behaviour,
  type KindName,
  type Obj,
} from "../objects.js";
import type { Session, Body } from "../session.js";

const FINALIZER = "differential.clustershift.dev/hold";

/** Just what deletion is about: the object's deletion state, finalizers and owners. */
function deletionState(body: Body): unknown {
  if (body["kind"] === "Status") return body;
  const metadata = body["metadata"] ?? {};
  return {
    kind: body["kind"] ?? null,
    deletionTimestamp: metadata["deletionTimestamp"] ?? null,
    deletionGracePeriodSeconds: metadata["deletionGracePeriodSeconds"] ?? null,
    finalizers: metadata["finalizers"] ?? null,
    ownerReferences: metadata["ownerReferences"] ?? null,
    generation: metadata["generation"] ?? null,
  };
}

async function gone(s: Session, path: string): Promise<boolean> {
  return (await s.send("GET", path)).status === 404;
}

function finalized(kind: KindName, object: Obj): Behaviour {
  const name = String(object.metadata["name"]);
  return {
    name: `Given a ${kind} with a finalizer, When it is deleted, changed, deleted again and its finalizer removed`,
    async run(s) {
      const path = item(kind, s.ns, name);
      await given(s, { ...object, metadata: { ...object.metadata, finalizers: [FINALIZER] } });
      await s.call("delete", "DELETE", path, { view: deletionState });
      await s.call("get while finalizing", "GET", path, { view: deletionState });
      await s.call("delete again", "DELETE", path, { view: deletionState });
      await s.call("label while finalizing", "PATCH", path, {
        body: { metadata: { labels: { stage: "finalizing" } } },
        contentType: MERGE,
        view: deletionState,
      });
      await s.call("add a finalizer while finalizing", "PATCH", path, {
        body: [{ op: "add", path: "/metadata/finalizers/-", value: "differential.clustershift.dev/late" }],
        contentType: JSON_PATCH,
      });
      await s.call("remove the finalizer", "PATCH", path, {
        body: { metadata: { finalizers: null } },
        contentType: MERGE,
        view: deletionState,
      });
      await s.until("gone", () => gone(s, path), 30_000);
    },
  };
}

function owned(name: string, owner: Body, extra: Record<string, unknown> = {}): Obj {
  return configMap(
    name,
    { role: "dependent" },
    {
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          name: owner["metadata"]["name"],
          uid: owner["metadata"]["uid"],
          ...extra,
        },
      ],
    },
  );
}

/**
 * Deletion as the real server and its controllers carry it out: finalizers hold an object (with its
 * deletionTimestamp) until removed; a namespace stays Terminating, refusing new content, while content remains;
 * the garbage collector follows ownerReferences. clustershift's rollback deletes what it created and waits for it
 * to be gone; the Kubernetes state backend's Lease and ConfigMaps live in namespaces that users delete.
 */
export const LIFECYCLE: Behaviour[] = [
  finalized("ConfigMap", configMap("held")),
  finalized("ServiceEntry", serviceEntry("held")),
  finalized("Deployment", deployment("held")),
  {
    name: "Given a ConfigMap, When it is deleted with a uid precondition that does not hold",
    async run(s) {
      await given(s, configMap("guarded"));
      await s.call("delete", "DELETE", item("ConfigMap", s.ns, "guarded"), {
        body: {
          kind: "DeleteOptions",
          apiVersion: "v1",
          preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
        },
      });
    },
  },
  {
    name: "Given a ConfigMap, When it is deleted, Then the answer",
    async run(s) {
      await given(s, configMap("plain"));
      await s.call("delete", "DELETE", item("ConfigMap", s.ns, "plain"));
      await s.call("delete again", "DELETE", item("ConfigMap", s.ns, "plain"));
    },
  },
  {
    name: "Given a custom resource, When it is deleted, Then the answer",
    async run(s) {
      await given(s, serviceEntry("plain"));
      await s.call("delete", "DELETE", item("ServiceEntry", s.ns, "plain"));
    },
  },
  {
    name: "Given a Deployment, When it is deleted with propagationPolicy Background",
    async run(s) {
      await given(s, deployment("plain"));
      await s.call("delete", "DELETE", `${item("Deployment", s.ns, "plain")}?propagationPolicy=Background`);
      await s.until("gone", () => gone(s, item("Deployment", s.ns, "plain")), 30_000);
    },
  },
  {
    name: "Given a namespace holding a ConfigMap with a finalizer, When the namespace is deleted and the finalizer later removed",
    async run(s) {
      const ns = `${s.ns}-term`;
      const nsPath = `/api/v1/namespaces/${ns}`;
      await s.send("POST", "/api/v1/namespaces", {
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      });
      const cm = configMap("held", { k: "v" }, { finalizers: [FINALIZER] });
      await s.send("POST", collection("ConfigMap", ns), {
        body: { ...cm, metadata: { ...cm.metadata, namespace: ns } },
      });
      await s.call("delete namespace", "DELETE", nsPath, {
        view: (b: Body) => ({
          kind: b["kind"],
          phase: b["status"]?.["phase"],
          deletionTimestamp: b["metadata"]?.["deletionTimestamp"] ?? null,
          finalizers: b["spec"]?.["finalizers"] ?? null,
        }),
      });
      await s.call("delete namespace again", "DELETE", nsPath, {
        view: (b: Body) => (b["kind"] === "Status" ? b : { kind: b["kind"], phase: b["status"]?.["phase"] }),
      });
      await s.call("create in the terminating namespace", "POST", collection("ConfigMap", ns), {
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "late", namespace: ns },
          data: { k: "v" },
        },
      });
      // The namespace controller marks the content for deletion; the finalizer holds the ConfigMap.
      await s.until("the ConfigMap is being deleted", async () => {
        const cmBody = (await s.send("GET", item("ConfigMap", ns, "held"))).body as Body;
        return Boolean(cmBody["metadata"]?.["deletionTimestamp"]);
      });
      await s.until("the namespace reports the remaining content and finalizer", async () => {
        const body = (await s.send("GET", nsPath)).body as Body;
        const conditions = (body["status"]?.["conditions"] ?? []) as Record<string, string>[];
        const found = (type: string) => conditions.find((c) => c["type"] === type)?.["status"] === "True";
        return found("NamespaceContentRemaining") && found("NamespaceFinalizersRemaining");
      });
      await s.call("namespace while content remains", "GET", nsPath, {
        view: (b: Body) => ({
          phase: b["status"]?.["phase"],
          conditions: ((b["status"]?.["conditions"] ?? []) as Record<string, unknown>[]).map((c) => ({
            type: c["type"],
            status: c["status"],
            reason: c["reason"],
          })),
        }),
      });
      await s.send("PATCH", item("ConfigMap", ns, "held"), {
        body: { metadata: { finalizers: null } },
        contentType: MERGE,
      });
      await s.until("the namespace is gone", () => gone(s, nsPath), 90_000);
    },
  },
  {
    name: "Given the default namespace, When it is deleted",
    async run(s) {
      await s.call("delete", "DELETE", "/api/v1/namespaces/default");
    },
  },
  {
    name: "Given an owner ConfigMap and its dependent, When the owner is deleted in the background",
    async run(s) {
      const owner = await given(s, configMap("owner"));
      await given(s, owned("dependent", owner));
      await s.call(
        "delete owner",
        "DELETE",
        `${item("ConfigMap", s.ns, "owner")}?propagationPolicy=Background`,
      );
      await s.until("the dependent is collected", () => gone(s, item("ConfigMap", s.ns, "dependent")));
    },
  },
  {
    name: "Given an owner ConfigMap and a blocking dependent, When the owner is deleted in the foreground",
    async run(s) {
      const owner = await given(s, configMap("owner"));
      await given(s, owned("dependent", owner, { blockOwnerDeletion: true }));
      await s.call(
        "delete owner",
        "DELETE",
        `${item("ConfigMap", s.ns, "owner")}?propagationPolicy=Foreground`,
        {
          view: deletionState,
        },
      );
      await s.until("the dependent is collected", () => gone(s, item("ConfigMap", s.ns, "dependent")));
      await s.until("the owner is gone", () => gone(s, item("ConfigMap", s.ns, "owner")));
    },
  },
  {
    name: "Given an owner ConfigMap and its dependent, When the owner is deleted with propagationPolicy Orphan",
    async run(s) {
      const owner = await given(s, configMap("owner"));
      await given(s, owned("dependent", owner));
      await s.call("delete owner", "DELETE", `${item("ConfigMap", s.ns, "owner")}?propagationPolicy=Orphan`, {
        view: deletionState,
      });
      await s.until("the owner is gone", () => gone(s, item("ConfigMap", s.ns, "owner")));
      await s.until("the dependent lost its ownerReference", async () => {
        const body = (await s.send("GET", item("ConfigMap", s.ns, "dependent"))).body as Body;
        return (
          body["metadata"]?.["name"] === "dependent" && body["metadata"]?.["ownerReferences"] === undefined
        );
      });
    },
  },
  {
    name: "Given a ConfigMap whose owner does not exist, When it is created",
    async run(s) {
      await given(
        s,
        owned("orphan", { metadata: { name: "nobody", uid: "11111111-2222-3333-4444-555555555555" } }),
      );
      await s.until("it is collected", () => gone(s, item("ConfigMap", s.ns, "orphan")));
    },
  },
  {
    name: "Given an ownerReference without a uid, When a ConfigMap is created with it",
    async run(s) {
      const body = configMap(
        "noid",
        {},
        { namespace: s.ns, ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "" }] },
      );
      await s.call("create", "POST", collection("ConfigMap", s.ns), { body });
    },
  },
];
