/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   Answers are read as loosely as a user's script reads JSON: a field that is not there is a difference to report,
   not a type error. */
import { stringify } from "yaml";
import {
  APPLY,
  collection,
  configMap,
  deployment,
  given,
  item,
  obj,
  serviceEntry,
  virtualService,
  withoutControllerState,
  type Behaviour,
  type KindName,
  type Obj,
} from "../objects.js";
import type { Body, Session } from "../session.js";

/** PUT of `object` (as read back, with `change`) with or without the resourceVersion it was read at. */
function put(
  name: string,
  object: Obj,
  change: (current: Body) => Body,
  withResourceVersion: boolean | "stale",
): Behaviour {
  return {
    name,
    async run(s) {
      const kind = object.kind as KindName;
      const objectName = String(object.metadata["name"]);
      const current = await given(s, object);
      const next = change(structuredClone(current));
      const metadata = { ...next["metadata"] };
      if (withResourceVersion === false) delete metadata["resourceVersion"];
      if (withResourceVersion === "stale") metadata["resourceVersion"] = "1";
      await s.call("put", "PUT", item(kind, s.ns, objectName), {
        body: { ...next, metadata },
        view: withoutControllerState,
      });
    },
  };
}

/**
 * The spec writers' managedFields entries, by manager: the real server orders entries of one operation by their
 * time in seconds, so two written within a second may come either way.
 */
const managers = (body: Body): unknown =>
  body["kind"] === "Status"
    ? body
    : ((body["metadata"]?.["managedFields"] ?? []) as Body[])
        .filter((e) => e["manager"] !== "kube-controller-manager")
        .sort((a, b) => String(a["manager"]).localeCompare(String(b["manager"])))
        .map((e) => ({
          manager: e["manager"],
          operation: e["operation"],
          subresource: e["subresource"] ?? null,
          fieldsV1: e["fieldsV1"],
        }));

function manifest(s: Session, object: Obj): string {
  return stringify({ ...object, metadata: { ...object.metadata, namespace: s.ns } });
}

/** Reads an object through kubectl, as JSON: what kubectl apply made of it. */
async function kubectlGet(
  s: Session,
  label: string,
  kind: string,
  name: string,
  view: (body: Body) => unknown,
): Promise<void> {
  await s.kubectl(label, ["get", kind, name, "-n", s.ns, "-o", "json", "--show-managed-fields"], {
    view: (out) => view(JSON.parse(out)),
  });
}

/**
 * How writes are accepted: PUT with and without a resourceVersion (clustershift's replace reads first; users'
 * scripts may not), server-side apply (clustershift's apply and its conflicts), kubectl's client-side apply and its
 * upgrade to server-side apply (a user who applied the source with kubectl, then a migration that applies
 * server-side), dry runs and the status subresource.
 */
export const WRITES: Behaviour[] = [
  put(
    "Given a VirtualService, When it is PUT without a resourceVersion",
    virtualService("unconditional"),
    (b) => b,
    false,
  ),
  put(
    "Given a VirtualService, When it is PUT with a changed spec and its resourceVersion",
    virtualService("conditional"),
    (b) => ({ ...b, spec: { ...b["spec"], hosts: ["changed.example.com"] } }),
    true,
  ),
  put(
    "Given a ConfigMap, When it is PUT without a resourceVersion",
    configMap("unconditional"),
    (b) => ({ ...b, data: { key: "new" } }),
    false,
  ),
  put(
    "Given a Deployment, When it is PUT without a resourceVersion",
    deployment("unconditional"),
    (b) => ({ ...b, spec: { ...b["spec"], replicas: 3 } }),
    false,
  ),
  put(
    "Given a ConfigMap, When it is PUT with a stale resourceVersion",
    configMap("stale"),
    (b) => b,
    "stale",
  ),
  {
    name: "Given no ConfigMap, When one is PUT",
    async run(s) {
      await s.call("put", "PUT", item("ConfigMap", s.ns, "absent"), {
        body: { ...configMap("absent"), metadata: { name: "absent", namespace: s.ns } },
      });
    },
  },
  {
    name: "Given no ServiceEntry, When one is PUT",
    async run(s) {
      const object = serviceEntry("absent");
      await s.call("put", "PUT", item("ServiceEntry", s.ns, "absent"), {
        body: { ...object, metadata: { name: "absent", namespace: s.ns } },
      });
    },
  },
  {
    name: "Given a Deployment with a status, When the main resource is PUT with another status",
    async run(s) {
      const current = await given(s, deployment("statusless"));
      // Without a resourceVersion: the controllers may have written the status since (on either server).
      const { resourceVersion: _rv, ...metadata } = current["metadata"];
      await s.call("put", "PUT", item("Deployment", s.ns, "statusless"), {
        body: {
          ...current,
          metadata,
          spec: { ...current["spec"], replicas: 5 },
          status: { replicas: 99, observedGeneration: 42 },
        },
        view: (b: Body) =>
          b["kind"] === "Status"
            ? b
            : {
                replicas: b["spec"]?.["replicas"],
                // Whatever the controller has written by now, not what the PUT said.
                statusIgnored: b["status"]?.["replicas"] !== 99 && b["status"]?.["observedGeneration"] !== 42,
              },
      });
    },
  },
  {
    name: "Given no ConfigMap, When one is created with dryRun=All",
    async run(s) {
      const object = configMap("dry");
      await s.call("create", "POST", `${collection("ConfigMap", s.ns)}?dryRun=All`, {
        body: { ...object, metadata: { name: "dry", namespace: s.ns } },
      });
      await s.call("get", "GET", item("ConfigMap", s.ns, "dry"));
    },
  },
  {
    name: "Given no VirtualService, When it is applied server-side twice, Then the second apply changes nothing",
    async run(s) {
      const object = virtualService("applied");
      const path = `${item("VirtualService", s.ns, "applied")}?fieldManager=clustershift&force=true`;
      const body = { ...object, metadata: { name: "applied", namespace: s.ns } };
      const first = await s.call("first apply", "PATCH", path, { body, contentType: APPLY });
      const second = await s.call("second apply", "PATCH", path, { body, contentType: APPLY });
      const rv = (b: unknown) => (b as Body)["metadata"]?.["resourceVersion"] as unknown;
      s.record("same resourceVersion", rv(first.body) === rv(second.body));
    },
  },
  {
    name: "Given a field set by one manager, When another applies a different value without and with force",
    async run(s) {
      const path = item("ConfigMap", s.ns, "owned");
      const mine = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "owned", namespace: s.ns },
        data: { key: "mine", other: "x" },
      };
      await s.call("first manager", "PATCH", `${path}?fieldManager=first`, {
        body: mine,
        contentType: APPLY,
        view: managers,
      });
      const theirs = { ...mine, data: { key: "theirs" } };
      await s.call("second manager", "PATCH", `${path}?fieldManager=second`, {
        body: theirs,
        contentType: APPLY,
      });
      await s.call("second manager forced", "PATCH", `${path}?fieldManager=second&force=true`, {
        body: theirs,
        contentType: APPLY,
        view: managers,
      });
      await s.call("first manager drops its fields", "PATCH", `${path}?fieldManager=first`, {
        body: { ...mine, data: {} },
        contentType: APPLY,
        view: (b: Body) => ({ data: b["data"] ?? null, managers: managers(b) }),
      });
    },
  },
  {
    name: "Given a Deployment applied with kubectl client-side, When it is applied with kubectl --server-side, then without a field",
    async run(s) {
      const base = deployment("upgraded");
      const withEnv = {
        ...base,
        metadata: { ...base.metadata, labels: { app: "upgraded", stage: "csa" } },
      };
      await s.kubectl("client-side apply", ["apply", "-f", "-"], {
        input: manifest(s, withEnv),
        view: (out) => out.trim(),
      });
      await kubectlGet(s, "after client-side apply", "deployment", "upgraded", managers);
      await s.kubectl("server-side apply", ["apply", "--server-side", "-f", "-"], {
        input: manifest(s, withEnv),
        view: (out) => out.trim(),
      });
      await kubectlGet(s, "after server-side apply", "deployment", "upgraded", managers);
      await s.kubectl("server-side apply without the stage label", ["apply", "--server-side", "-f", "-"], {
        input: manifest(s, base),
        view: (out) => out.trim(),
      });
      await kubectlGet(s, "after dropping the label", "deployment", "upgraded", (b) => ({
        labels: b["metadata"]?.["labels"],
        lastApplied:
          b["metadata"]?.["annotations"]?.["kubectl.kubernetes.io/last-applied-configuration"] !== undefined,
        managers: managers(b),
      }));
    },
  },
  {
    name: "Given a ConfigMap applied with kubectl client-side twice, When the second drops a key",
    async run(s) {
      const first = obj("ConfigMap", "csa", { data: { a: "1", b: "2" } });
      await s.kubectl("first apply", ["apply", "-f", "-"], {
        input: manifest(s, first),
        view: (out) => out.trim(),
      });
      const second = obj("ConfigMap", "csa", { data: { a: "1" } });
      await s.kubectl("second apply", ["apply", "-f", "-"], {
        input: manifest(s, second),
        view: (out) => out.trim(),
      });
      await kubectlGet(s, "result", "configmap", "csa", (b) => ({ data: b["data"], managers: managers(b) }));
    },
  },
  {
    name: "Given Online Boutique's frontend objects, When kubectl applies them server-side and reads them back",
    async run(s) {
      const objects = [
        deployment("frontend"),
        obj("Service", "frontend", {
          spec: { selector: { app: "frontend" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
        }),
      ];
      await s.kubectl("apply", ["apply", "--server-side", "-f", "-"], {
        input: objects.map((o) => manifest(s, o)).join("---\n"),
        view: (out) => out.trim(),
      });
      await kubectlGet(s, "deployment", "deployment", "frontend", (b) => withoutControllerState(b));
    },
  },
  {
    name: "Given a Deployment, When it is read through the scale subresource and scaled",
    async run(s) {
      await given(s, deployment("scaled"));
      const path = `${item("Deployment", s.ns, "scaled")}/scale`;
      await s.call("get scale", "GET", path, { view: (b: Body) => ({ ...b, status: undefined }) });
      await s.call("scale", "PATCH", path, {
        body: { spec: { replicas: 4 } },
        contentType: "application/merge-patch+json",
        view: (b: Body) => ({ ...b, status: undefined }),
      });
      await s.call("scale to -1", "PATCH", path, {
        body: { spec: { replicas: -1 } },
        contentType: "application/merge-patch+json",
      });
    },
  },
];
