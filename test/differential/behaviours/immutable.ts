import {
  configMap,
  daemonSet,
  deployment,
  given,
  item,
  MERGE,
  obj,
  roleBinding,
  service,
  statefulSet,
  type Behaviour,
  type KindName,
  type Obj,
  withoutControllerState,
} from "../objects.js";

/** Creates `object`, then merge-patches it with `patch`; the patch's answer is compared. */
function patched(name: string, object: Obj, patch: Record<string, unknown>): Behaviour {
  return {
    name,
    async run(s) {
      await given(s, object);
      await s.call("patch", "PATCH", item(object.kind as KindName, s.ns, String(object.metadata["name"])), {
        body: patch,
        contentType: MERGE,
        view: withoutControllerState,
      });
    },
  };
}

/**
 * Fields the real server refuses to change: a mirror or rollback that rewrites a workload whose selector changed
 * on the source must delete and recreate it, not update it.
 */
export const IMMUTABLE: Behaviour[] = [
  patched("Given a Deployment, When its selector is changed", deployment("web"), {
    spec: {
      selector: { matchLabels: { app: "web", tier: "front" } },
      template: { metadata: { labels: { app: "web", tier: "front" } } },
    },
  }),
  patched("Given a StatefulSet, When its selector is changed", statefulSet("db"), {
    spec: {
      selector: { matchLabels: { app: "db", tier: "data" } },
      template: { metadata: { labels: { app: "db", tier: "data" } } },
    },
  }),
  patched("Given a StatefulSet, When its serviceName is changed", statefulSet("db2"), {
    spec: { serviceName: "other" },
  }),
  patched("Given a DaemonSet, When its selector is changed", daemonSet("agent"), {
    spec: {
      selector: { matchLabels: { app: "agent", tier: "node" } },
      template: { metadata: { labels: { app: "agent", tier: "node" } } },
    },
  }),
  patched("Given a Service, When its clusterIP is changed", service("web"), {
    spec: { clusterIP: "10.96.200.200" },
  }),
  patched("Given a RoleBinding, When its roleRef is changed", roleBinding("reader"), {
    roleRef: { name: "writer" },
  }),
  patched(
    "Given an immutable ConfigMap, When its data is changed",
    { ...configMap("frozen"), immutable: true },
    { data: { key: "changed" } },
  ),
  patched("Given a Secret, When its type is changed", obj("Secret", "typed", { data: { k: "dg==" } }), {
    type: "kubernetes.io/basic-auth",
  }),
  patched("Given a Deployment, When only its replicas are changed", deployment("scale"), {
    spec: { replicas: 4 },
  }),
];
