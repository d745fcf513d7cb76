/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   Answers are read as loosely as a user's script reads JSON: a field that is not there is a difference to report,
   not a type error. */
import {
  configMap,
  daemonSet,
  deployment,
  given,
  hpa,
  item,
  MERGE,
  networkPolicy,
  obj,
  pdb,
  role,
  roleBinding,
  service,
  serviceEntry,
  statefulSet,
  virtualService,
  type Behaviour,
  type KindName,
  type Obj,
} from "../objects.js";
import type { Body } from "../session.js";

const generationOf = (body: Body): unknown =>
  body["kind"] === "Status" ? body : (body["metadata"]?.["generation"] ?? "absent");

/**
 * Creates the object, changes what the kind calls its spec, then only a label, then (where the kind has one)
 * its status: the generation after each. clustershift's rollout waits compare generation with
 * status.observedGeneration, so a generation where the real server sets none (or a bump it does not make)
 * would make a wait pass or hang where it would not on a real cluster.
 */
function generation(
  kind: KindName,
  object: Obj,
  specPatch: Record<string, unknown>,
  statusPatch?: Record<string, unknown>,
): Behaviour {
  return {
    name: `Given a ${kind}, When it is created, its spec changed, a label changed${statusPatch ? " and its status written" : ""}`,
    async run(s) {
      const name = String(object.metadata["name"]);
      const path = item(kind, s.ns, name);
      const created = await given(s, object);
      s.record("created", generationOf(created));
      await s.call("spec", "PATCH", path, { body: specPatch, contentType: MERGE, view: generationOf });
      await s.call("label", "PATCH", path, {
        body: { metadata: { labels: { touched: "yes" } } },
        contentType: MERGE,
        view: generationOf,
      });
      await s.call("same again", "PATCH", path, { body: specPatch, contentType: MERGE, view: generationOf });
      if (statusPatch) {
        await s.call("status", "PATCH", `${path}/status`, {
          body: statusPatch,
          contentType: MERGE,
          view: generationOf,
        });
      }
    },
  };
}

export const GENERATION: Behaviour[] = [
  generation("ConfigMap", configMap("gen"), { data: { key: "v2" } }),
  generation("Secret", obj("Secret", "gen", { data: { k: "dg==" } }), { data: { k: "djI=" } }),
  generation(
    "Service",
    service("gen"),
    { spec: { ports: [{ name: "http", port: 81, targetPort: 8080 }] } },
    {
      status: {
        conditions: [
          {
            type: "Probe",
            status: "True",
            reason: "Test",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
        ],
      },
    },
  ),
  generation("ServiceAccount", obj("ServiceAccount", "gen"), { automountServiceAccountToken: false }),
  generation(
    "Deployment",
    deployment("gen"),
    { spec: { replicas: 3 } },
    { status: { observedGeneration: 7 } },
  ),
  generation(
    "StatefulSet",
    statefulSet("gen"),
    { spec: { replicas: 2 } },
    { status: { observedGeneration: 7 } },
  ),
  generation(
    "DaemonSet",
    daemonSet("gen"),
    { spec: { minReadySeconds: 5 } },
    { status: { observedGeneration: 7 } },
  ),
  generation(
    "HorizontalPodAutoscaler",
    hpa("gen"),
    { spec: { maxReplicas: 6 } },
    { status: { observedGeneration: 7 } },
  ),
  generation(
    "PodDisruptionBudget",
    pdb("gen"),
    { spec: { minAvailable: 2 } },
    { status: { observedGeneration: 7 } },
  ),
  // A non-empty change: an empty list is a Go nil-versus-empty artefact (the real server bumps generation on
  // every `ingress: []`, even unchanged), not a behaviour anything relies on.
  generation("NetworkPolicy", networkPolicy("gen"), { spec: { ingress: [{ ports: [{ port: 9090 }] }] } }),
  generation("Role", role("gen"), { rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] }),
  generation("RoleBinding", roleBinding("gen"), {
    subjects: [{ kind: "User", name: "jane", apiGroup: "rbac.authorization.k8s.io" }],
  }),
  generation(
    "VirtualService",
    virtualService("gen"),
    { spec: { hosts: ["other.example.com"] } },
    { status: { observedGeneration: 7 } },
  ),
  generation(
    "ServiceEntry",
    serviceEntry("gen"),
    { spec: { hosts: ["other.example.com"] } },
    { status: { observedGeneration: 7 } },
  ),
  {
    name: "Given a Namespace, When it is created and its labels changed",
    async run(s) {
      const name = `${s.ns}-gen`;
      await s.call("create", "POST", "/api/v1/namespaces", {
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
        view: generationOf,
      });
      await s.call("label", "PATCH", `/api/v1/namespaces/${name}`, {
        body: { metadata: { labels: { touched: "yes" } } },
        contentType: MERGE,
        view: generationOf,
      });
    },
  },
];
