import {
  create,
  configMap,
  daemonSet,
  deployment,
  hpa,
  networkPolicy,
  obj,
  pdb,
  podTemplate,
  role,
  roleBinding,
  service,
  statefulSet,
  type Behaviour,
  type Obj,
} from "../objects.js";

/** One create, whose answer (status, warnings, body with every default the server filled in) is compared. */
function creates(name: string, object: Obj, query = ""): Behaviour {
  return { name, run: async (s) => void (await create(s, "create", object, query)) };
}

/**
 * Built-in validation and defaulting of the kinds clustershift mirrors: what the mirror step's writes meet on
 * a target cluster, and what a finished migration's plan compares (defaults the server fills in must be the
 * same, or every mirrored object would look changed).
 */
export const VALIDATION: Behaviour[] = [
  creates("Given a Deployment with replicas -1, When it is created", deployment("minus", { replicas: -1 })),
  creates(
    "Given a Deployment whose selector does not match its template's labels, When it is created",
    deployment("mismatch", { selector: { matchLabels: { app: "other" } } }),
  ),
  creates(
    "Given a Deployment without a selector, When it is created",
    deployment("noselector", { selector: undefined }),
  ),
  creates(
    "Given a Deployment with a container without an image and a bad port, When it is created",
    deployment("badpod", {
      template: {
        metadata: { labels: { app: "badpod" } },
        spec: { containers: [{ name: "app", ports: [{ containerPort: 70000 }] }] },
      },
    }),
  ),
  creates(
    "Given a Deployment with maxSurge and maxUnavailable both 0, When it is created",
    deployment("nosurge", {
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } },
    }),
  ),
  creates("Given a valid Deployment, When it is created, Then its defaults", deployment("web")),
  creates(
    "Given a StatefulSet whose selector does not match its template's labels, When it is created",
    statefulSet("mismatch", { selector: { matchLabels: { app: "other" } } }),
  ),
  creates(
    "Given a StatefulSet with replicas -1 and an unknown podManagementPolicy, When it is created",
    statefulSet("minus", { replicas: -1, podManagementPolicy: "Sometimes" }),
  ),
  creates("Given a valid StatefulSet, When it is created, Then its defaults", statefulSet("db")),
  creates(
    "Given a DaemonSet whose selector does not match its template's labels, When it is created",
    daemonSet("mismatch", { selector: { matchLabels: { app: "other" } } }),
  ),
  creates(
    "Given a DaemonSet whose template restarts Never, When it is created",
    daemonSet("never", { template: podTemplate({ app: "never" }, { restartPolicy: "Never" }) }),
  ),
  creates("Given a valid DaemonSet, When it is created, Then its defaults", daemonSet("agent")),
  creates(
    "Given a Service with port 0 and port 70000, When it is created",
    service("ports", {
      ports: [
        { name: "a", port: 0 },
        { name: "b", port: 70000 },
      ],
    }),
  ),
  creates(
    "Given a Service with two ports of one name, When it is created",
    service("dupname", {
      ports: [
        { name: "http", port: 80 },
        { name: "http", port: 81 },
      ],
    }),
  ),
  creates(
    "Given a Service with two unnamed ports, When it is created",
    service("unnamed", { ports: [{ port: 80 }, { port: 81 }] }),
  ),
  creates("Given a ClusterIP Service without ports, When it is created", service("noports", { ports: [] })),
  creates("Given a Service of an unknown type, When it is created", service("badtype", { type: "Magic" })),
  creates("Given a valid ClusterIP Service, When it is created, Then its defaults", service("web")),
  creates(
    "Given a headless Service, When it is created, Then its defaults",
    service("headless", { clusterIP: "None" }),
  ),
  creates(
    "Given a LoadBalancer Service, When it is created, Then its defaults",
    service("public", { type: "LoadBalancer" }),
  ),
  creates(
    "Given an ExternalName Service, When it is created, Then its defaults",
    obj("Service", "external", { spec: { type: "ExternalName", externalName: "db.example.com" } }),
  ),
  creates("Given a ConfigMap with the key a/b, When it is created", configMap("badkey", { "a/b": "x" })),
  creates(
    "Given a ConfigMap with a key in both data and binaryData, When it is created",
    obj("ConfigMap", "twice", { data: { k: "v" }, binaryData: { k: "dg==" } }),
  ),
  creates("Given a valid ConfigMap, When it is created, Then its defaults", configMap("settings")),
  creates(
    "Given a Secret whose data is not base64, When it is created",
    obj("Secret", "notbase64", { data: { key: "not base64!" } }),
  ),
  creates(
    "Given a kubernetes.io/tls Secret without tls.key, When it is created",
    obj("Secret", "tls", { type: "kubernetes.io/tls", data: { "tls.crt": "Y2VydA==" } }),
  ),
  creates(
    "Given a Secret with stringData, When it is created, Then it is stored base64 in data",
    obj("Secret", "strings", { stringData: { user: "admin" }, data: { other: "eA==" } }),
  ),
  creates(
    "Given an HPA with minReplicas 0 and maxReplicas 0, When it is created",
    hpa("zero", { minReplicas: 0, maxReplicas: 0 }),
  ),
  creates(
    "Given an HPA whose minReplicas is over its maxReplicas, When it is created",
    hpa("inverted", { minReplicas: 5, maxReplicas: 2 }),
  ),
  creates("Given a valid HPA, When it is created, Then its defaults", hpa("web")),
  creates(
    "Given a PDB with both minAvailable and maxUnavailable, When it is created",
    pdb("both", { maxUnavailable: 1 }),
  ),
  creates("Given a PDB with minAvailable -1, When it is created", pdb("negative", { minAvailable: -1 })),
  creates("Given a valid PDB, When it is created, Then its defaults", pdb("web")),
  creates(
    "Given a NetworkPolicy with port 70000 and protocol XTP, When it is created",
    networkPolicy("badport", { ingress: [{ ports: [{ port: 70000, protocol: "XTP" }] }] }),
  ),
  creates(
    "Given a NetworkPolicy with an invalid CIDR, When it is created",
    networkPolicy("badcidr", {
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }],
      policyTypes: ["Egress"],
    }),
  ),
  creates("Given a valid NetworkPolicy, When it is created, Then its defaults", networkPolicy("web")),
  creates(
    "Given a Role with a rule without verbs, When it is created",
    role("noverbs", [{ apiGroups: [""], resources: ["pods"] }]),
  ),
  creates("Given a valid Role, When it is created, Then its defaults", role("reader")),
  creates(
    "Given a RoleBinding to a roleRef of kind Pod, When it is created",
    roleBinding("badref", { kind: "Pod" }),
  ),
  creates(
    "Given a RoleBinding with a subject of kind Robot, When it is created",
    roleBinding("badsubject", {}, [{ kind: "Robot", name: "r2" }]),
  ),
  creates("Given a valid RoleBinding, When it is created, Then its defaults", roleBinding("reader")),
  creates(
    "Given a ServiceAccount with an invalid label value, When it is created",
    obj("ServiceAccount", "labelled", {}, { labels: { team: "not a valid value!" } }),
  ),
  creates(
    "Given a ServiceAccount with an invalid annotation key, When it is created",
    obj("ServiceAccount", "annotated", {}, { annotations: { "bad key": "x" } }),
  ),
  creates(
    "Given a valid ServiceAccount, When it is created, Then its defaults",
    obj("ServiceAccount", "robot", { automountServiceAccountToken: false }),
  ),
  creates("Given a ConfigMap named Bad_Name, When it is created", configMap("Bad_Name")),
];
