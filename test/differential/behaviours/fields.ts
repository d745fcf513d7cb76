import {
  APPLY,
  collection,
  create,
  deployment,
  item,
  virtualService,
  type Behaviour,
  type Obj,
} from "../objects.js";

function withUnknown(object: Obj): Obj {
  const spec = object["spec"] as Record<string, unknown>;
  return { ...object, spec: { ...spec, replicaCount: 3 }, metadata: { ...object.metadata, colour: "blue" } };
}

/**
 * The real server lists a failed apply's undeclared fields in Go map order, which changes from run to run (seen
 * both ways against kube-apiserver v1.37.2): the lines are compared as a set.
 */
function errorLinesSorted(body: { message?: unknown }): unknown {
  if (typeof body.message !== "string") return body;
  const [head = "", ...lines] = body.message.split("\n");
  return { ...body, message: [head, ...lines.sort()].join("\n") };
}

function unknownField(name: string, object: Obj, query: string): Behaviour {
  return { name, run: async (s) => void (await create(s, "create", withUnknown(object), query)) };
}

/**
 * Unknown fields: clustershift writes what it read from the source (possibly a newer server's fields) and what
 * users wrote in playbooks; the real server drops them with a warning, or refuses them under Strict.
 */
export const FIELDS: Behaviour[] = [
  unknownField(
    "Given a Deployment with unknown fields, When it is created without fieldValidation",
    deployment("warn"),
    "",
  ),
  unknownField(
    "Given a Deployment with unknown fields, When it is created with fieldValidation=Strict",
    deployment("strict"),
    "?fieldValidation=Strict",
  ),
  unknownField(
    "Given a Deployment with unknown fields, When it is created with fieldValidation=Ignore",
    deployment("ignore"),
    "?fieldValidation=Ignore",
  ),
  unknownField(
    "Given a VirtualService with unknown fields, When it is created without fieldValidation",
    virtualService("warn"),
    "",
  ),
  unknownField(
    "Given a VirtualService with unknown fields, When it is created with fieldValidation=Strict",
    virtualService("strict"),
    "?fieldValidation=Strict",
  ),
  {
    name: "Given a Deployment with unknown fields, When it is applied server-side",
    async run(s) {
      const object = withUnknown(deployment("applied"));
      await s.call("apply", "PATCH", `${item("Deployment", s.ns, "applied")}?fieldManager=differential`, {
        body: { ...object, metadata: { ...object.metadata, namespace: s.ns } },
        contentType: APPLY,
        view: errorLinesSorted,
      });
    },
  },
  {
    name: "Given a VirtualService with unknown fields, When it is applied server-side with fieldValidation=Ignore",
    async run(s) {
      const object = withUnknown(virtualService("applied"));
      await s.call(
        "apply",
        "PATCH",
        `${item("VirtualService", s.ns, "applied")}?fieldManager=differential&fieldValidation=Ignore`,
        {
          body: { ...object, metadata: { ...object.metadata, namespace: s.ns } },
          contentType: APPLY,
          view: errorLinesSorted,
        },
      );
    },
  },
  {
    name: "Given a ConfigMap with one unknown metadata field, When it is applied server-side",
    async run(s) {
      const object = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "applied", namespace: s.ns, kind: "ConfigMap" },
      };
      await s.call("apply", "PATCH", `${item("ConfigMap", s.ns, "applied")}?fieldManager=differential`, {
        body: object,
        contentType: APPLY,
      });
    },
  },
  {
    name: "Given a ConfigMap body with a duplicate field, When it is created with fieldValidation=Strict",
    async run(s) {
      const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","namespace":"${s.ns}"},"data":{"a":"1"},"data":{"b":"2"}}`;
      await s.call("create", "POST", `${collection("ConfigMap", s.ns)}?fieldValidation=Strict`, { body });
    },
  },
];
