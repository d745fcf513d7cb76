import { deepEqual, isObject, objectAt, stringAt, type Json, type JsonObject } from "./json.js";
import type { ResourceType } from "./resources.js";
import { matchesSelector } from "./selectors.js";
import type { StatusCause } from "./status.js";

/**
 * The part of kube-apiserver's validation of built-in kinds (k8s.io/kubernetes pkg/apis/{core,apps,autoscaling,
 * policy,networking,rbac}/validation) that the kinds clustershift mirrors meet: what a real cluster refuses, with
 * its field paths, reasons and messages, held to the real server by test/differential. Object metadata (labels,
 * annotations, owner references) is checked for every kind, custom resources included.
 */

type Obj = JsonObject;

function render(value: Json | undefined): string {
  return JSON.stringify(value ?? null);
}

const invalid = (field: string, value: Json | undefined, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${render(value)}: ${detail}`,
});
const required = (field: string, detail?: string): StatusCause => ({
  reason: "FieldValueRequired",
  field,
  message: detail ? `Required value: ${detail}` : "Required value",
});
const notSupported = (field: string, value: Json | undefined, supported: readonly string[]): StatusCause => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${render(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
});
const forbidden = (field: string, detail: string): StatusCause => ({
  reason: "FieldValueForbidden",
  field,
  message: `Forbidden: ${detail}`,
});
const duplicate = (field: string, value: Json | undefined): StatusCause => ({
  reason: "FieldValueDuplicate",
  field,
  message: `Duplicate value: ${render(value)}`,
});
const immutable = (field: string, value: Json | undefined): StatusCause =>
  invalid(field, value, "field is immutable");

function list(value: Json | undefined): Obj[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function num(value: Json | undefined): number | undefined {
  return typeof value === "number" ? value : undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const DNS_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** Problems of a qualified name (label or annotation key): `prefix/name`. */
function qualifiedNameProblems(key: string): string[] {
  const parts = key.split("/");
  let name = key;
  const problems: string[] = [];
  if (parts.length === 2) {
    const [prefix = "", rest = ""] = parts;
    name = rest;
    if (prefix.length === 0) problems.push("prefix part must be non-empty");
    else if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
      problems.push(`prefix part ${DNS_SUBDOMAIN_MESSAGE}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) problems.push("name part must be non-empty");
  else if (name.length > 63) problems.push("name part must be no more than 63 characters");
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) problems.push(QUALIFIED_NAME_MESSAGE);
  return problems;
}

function validateLabels(labels: Json | undefined, field: string, out: StatusCause[]): void {
  if (!isObject(labels)) return;
  for (const [key, value] of Object.entries(labels)) {
    for (const problem of qualifiedNameProblems(key)) out.push(invalid(field, key, problem));
    if (typeof value !== "string") continue;
    if (value.length > 63) out.push(invalid(field, value, "must be no more than 63 characters"));
    if (!LABEL_VALUE.test(value)) out.push(invalid(field, value, LABEL_VALUE_MESSAGE));
  }
}

function validateAnnotations(annotations: Json | undefined, field: string, out: StatusCause[]): void {
  if (!isObject(annotations)) return;
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    for (const problem of qualifiedNameProblems(key.toLowerCase())) out.push(invalid(field, key, problem));
    size += key.length + (typeof value === "string" ? value.length : 0);
  }
  if (size > 256 * 1024) {
    out.push({ reason: "FieldValueTooLong", field, message: "Too long: may not be more than 262144 bytes" });
  }
}

/** ObjectMeta of any kind: labels, annotations, owner references. */
export function validateMetadata(object: Obj): StatusCause[] {
  const out: StatusCause[] = [];
  const metadata = objectAt(object, "metadata") ?? {};
  validateLabels(metadata["labels"], "metadata.labels", out);
  validateAnnotations(metadata["annotations"], "metadata.annotations", out);
  let controllers = 0;
  list(metadata["ownerReferences"]).forEach((ref, i) => {
    const field = `metadata.ownerReferences[${i}]`;
    const apiVersion = stringAt(ref, "apiVersion") ?? "";
    if (apiVersion === "") out.push(invalid(`${field}.apiVersion`, apiVersion, "version must not be empty"));
    if ((stringAt(ref, "kind") ?? "") === "")
      out.push(invalid(`${field}.kind`, "", "kind must not be empty"));
    if ((stringAt(ref, "name") ?? "") === "")
      out.push(invalid(`${field}.name`, "", "name must not be empty"));
    if ((stringAt(ref, "uid") ?? "") === "") out.push(required(`${field}.uid`, "must not be empty"));
    if (ref["controller"] === true) controllers++;
  });
  if (controllers > 1) {
    out.push(
      invalid(
        "metadata.ownerReferences",
        metadata["ownerReferences"] ?? null,
        "Only one reference can have Controller set to true",
      ),
    );
  }
  return out;
}

function validatePort(value: Json | undefined, field: string, out: StatusCause[]): void {
  if (typeof value === "number") {
    if (value < 1 || value > 65535) out.push(invalid(field, value, "must be between 1 and 65535, inclusive"));
  } else if (typeof value === "string") {
    if (value.length > 15 || !IANA_SVC_NAME.test(value) || !/[a-z]/.test(value)) {
      out.push(invalid(field, value, "must contain at least one letter (a-z)"));
    }
  }
}

const PROTOCOLS = ["TCP", "UDP", "SCTP"];

function validateContainers(containers: Json | undefined, field: string, out: StatusCause[]): void {
  if (!Array.isArray(containers) || containers.length === 0) {
    out.push(required(field));
    return;
  }
  const names = new Set<string>();
  list(containers).forEach((container, i) => {
    const at = `${field}[${i}]`;
    const name = stringAt(container, "name") ?? "";
    if (name === "") out.push(required(`${at}.name`));
    else if (!DNS_LABEL.test(name) || name.length > 63)
      out.push(invalid(`${at}.name`, name, DNS_LABEL_MESSAGE));
    else if (names.has(name)) out.push(duplicate(`${at}.name`, name));
    names.add(name);
    if ((stringAt(container, "image") ?? "").trim() === "") out.push(required(`${at}.image`));
    list(container["ports"]).forEach((port, j) => {
      const p = `${at}.ports[${j}]`;
      const number = num(port["containerPort"]);
      if (number === undefined || number === 0) out.push(required(`${p}.containerPort`));
      else if (number < 1 || number > 65535)
        out.push(invalid(`${p}.containerPort`, number, "must be between 1 and 65535, inclusive"));
      const protocol = port["protocol"];
      if (typeof protocol === "string" && !PROTOCOLS.includes(protocol))
        out.push(notSupported(`${p}.protocol`, protocol, PROTOCOLS));
    });
  });
}

function validatePodTemplate(
  template: Obj | undefined,
  field: string,
  restartAlways: boolean,
  out: StatusCause[],
): void {
  if (!template) {
    out.push(required(field));
    return;
  }
  validateLabels(objectAt(template, "metadata")?.["labels"], `${field}.metadata.labels`, out);
  validateAnnotations(objectAt(template, "metadata")?.["annotations"], `${field}.metadata.annotations`, out);
  const spec = objectAt(template, "spec") ?? {};
  validateContainers(spec["containers"], `${field}.spec.containers`, out);
  const restart = stringAt(spec, "restartPolicy");
  if (restartAlways && restart !== undefined && restart !== "Always") {
    out.push(notSupported(`${field}.spec.restartPolicy`, restart, ["Always"]));
  }
}

function nonNegative(value: Json | undefined, field: string, out: StatusCause[]): void {
  if (typeof value === "number" && value < 0)
    out.push(invalid(field, value, "must be greater than or equal to 0"));
}

function intOrPercent(value: Json | undefined): { percent: boolean; n: number } | undefined {
  if (typeof value === "number") return { percent: false, n: value };
  if (typeof value === "string") {
    const m = /^(\d+)%$/.exec(value);
    return m ? { percent: true, n: Number(m[1]) } : undefined;
  }
  return undefined;
}

function validateIntOrPercent(value: Json | undefined, field: string, out: StatusCause[]): void {
  if (value === undefined || value === null) return;
  const parsed = intOrPercent(value);
  if (!parsed) {
    out.push(
      invalid(
        field,
        value,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    );
    return;
  }
  if (parsed.n < 0) out.push(invalid(field, value, "must be greater than or equal to 0"));
  if (parsed.percent && parsed.n > 100) out.push(invalid(field, value, "must not be greater than 100%"));
}

function isZero(value: Json | undefined): boolean {
  const parsed = intOrPercent(value ?? null);
  return parsed !== undefined && parsed.n === 0;
}

/** spec.selector and the template's labels, as every workload kind checks them. */
function validateSelector(spec: Obj, kindName: string, out: StatusCause[]): void {
  const selector = spec["selector"];
  const labels = objectAt(objectAt(objectAt(spec, "template") ?? {}, "metadata") ?? {}, "labels") ?? {};
  if (!isObject(selector)) out.push(required("spec.selector"));
  else if (
    Object.keys(selector).length === 0 ||
    (!isObject(selector["matchLabels"]) && list(selector["matchExpressions"]).length === 0)
  ) {
    out.push(invalid("spec.selector", selector, `empty selector is invalid for ${kindName}`));
  }
  if (!isObject(selector) || !matchesSelector(selector, labels)) {
    out.push(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"));
  }
}

function validateDeployment(spec: Obj, out: StatusCause[]): void {
  nonNegative(spec["replicas"], "spec.replicas", out);
  validateSelector(spec, "deployment", out);
  validatePodTemplate(objectAt(spec, "template"), "spec.template", true, out);
  const strategy = objectAt(spec, "strategy") ?? {};
  const type = stringAt(strategy, "type");
  if (type !== undefined && type !== "Recreate" && type !== "RollingUpdate") {
    out.push(notSupported("spec.strategy.type", type, ["Recreate", "RollingUpdate"]));
  }
  const rolling = objectAt(strategy, "rollingUpdate");
  if (type === "Recreate" && rolling) {
    out.push(
      forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"),
    );
  }
  if (rolling) {
    validateIntOrPercent(rolling["maxUnavailable"], "spec.strategy.rollingUpdate.maxUnavailable", out);
    validateIntOrPercent(rolling["maxSurge"], "spec.strategy.rollingUpdate.maxSurge", out);
    if (isZero(rolling["maxSurge"]) && isZero(rolling["maxUnavailable"])) {
      out.push(
        invalid(
          "spec.strategy.rollingUpdate.maxUnavailable",
          rolling["maxUnavailable"],
          "may not be 0 when `maxSurge` is 0",
        ),
      );
    }
  }
  nonNegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit", out);
  const deadline = num(spec["progressDeadlineSeconds"]);
  const minReady = num(spec["minReadySeconds"]) ?? 0;
  if (deadline !== undefined && deadline <= minReady) {
    out.push(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"));
  }
}

function validateStatefulSet(spec: Obj, out: StatusCause[]): void {
  const policy = stringAt(spec, "podManagementPolicy");
  if (policy !== undefined && policy !== "OrderedReady" && policy !== "Parallel") {
    out.push(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"));
  }
  nonNegative(spec["replicas"], "spec.replicas", out);
  validateSelector(spec, "statefulset", out);
  validatePodTemplate(objectAt(spec, "template"), "spec.template", true, out);
}

function validateDaemonSet(spec: Obj, out: StatusCause[]): void {
  validateSelector(spec, "daemonset", out);
  validatePodTemplate(objectAt(spec, "template"), "spec.template", true, out);
  const rolling = objectAt(objectAt(spec, "updateStrategy") ?? {}, "rollingUpdate");
  if (rolling) {
    validateIntOrPercent(rolling["maxUnavailable"], "spec.updateStrategy.rollingUpdate.maxUnavailable", out);
    validateIntOrPercent(rolling["maxSurge"], "spec.updateStrategy.rollingUpdate.maxSurge", out);
    if (isZero(rolling["maxSurge"]) && isZero(rolling["maxUnavailable"])) {
      out.push(
        invalid(
          "spec.updateStrategy.rollingUpdate.maxUnavailable",
          rolling["maxUnavailable"],
          "may not be 0 when `maxSurge` is 0",
        ),
      );
    }
  }
}

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

function validateService(spec: Obj, out: StatusCause[]): void {
  const type = stringAt(spec, "type") ?? "ClusterIP";
  const ports = list(spec["ports"]);
  if (ports.length === 0 && type !== "ExternalName" && stringAt(spec, "clusterIP") !== "None")
    out.push(required("spec.ports"));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const at = `spec.ports[${i}]`;
    const name = stringAt(port, "name") ?? "";
    if (name === "" && ports.length > 1) out.push(required(`${at}.name`));
    else if (name !== "" && (!DNS_LABEL.test(name) || name.length > 63))
      out.push(invalid(`${at}.name`, name, DNS_LABEL_MESSAGE));
    else if (name !== "" && names.has(name)) out.push(duplicate(`${at}.name`, name));
    names.add(name);
    const number = num(port["port"]);
    if (number === undefined) out.push(required(`${at}.port`));
    else if (number < 1 || number > 65535)
      out.push(invalid(`${at}.port`, number, "must be between 1 and 65535, inclusive"));
    const protocol = port["protocol"];
    if (typeof protocol === "string" && !PROTOCOLS.includes(protocol))
      out.push(notSupported(`${at}.protocol`, protocol, PROTOCOLS));
    if (port["targetPort"] !== undefined) validatePort(port["targetPort"], `${at}.targetPort`, out);
  });
  if (!SERVICE_TYPES.includes(type)) out.push(notSupported("spec.type", type, SERVICE_TYPES));
  if (type === "ExternalName" && (stringAt(spec, "externalName") ?? "") === "")
    out.push(required("spec.externalName"));
}

function validateConfigData(object: Obj, out: StatusCause[]): void {
  const data = objectAt(object, "data") ?? {};
  const binary = objectAt(object, "binaryData") ?? {};
  for (const key of Object.keys(data)) {
    if (key.length > 253 || !CONFIG_KEY.test(key)) out.push(invalid(`data[${key}]`, key, CONFIG_KEY_MESSAGE));
    if (key in binary) out.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
  }
  for (const key of Object.keys(binary)) {
    if (key.length > 253 || !CONFIG_KEY.test(key))
      out.push(invalid(`binaryData[${key}]`, key, CONFIG_KEY_MESSAGE));
  }
}

function validateSecret(object: Obj, out: StatusCause[]): void {
  const data = objectAt(object, "data") ?? {};
  for (const key of Object.keys(data)) {
    if (key.length > 253 || !CONFIG_KEY.test(key)) out.push(invalid(`data[${key}]`, key, CONFIG_KEY_MESSAGE));
  }
  const has = (key: string): boolean => typeof data[key] === "string" && data[key] !== "";
  switch (stringAt(object, "type") ?? "Opaque") {
    case "kubernetes.io/tls":
      if (!has("tls.crt")) out.push(required("data[tls.crt]"));
      if (!has("tls.key")) out.push(required("data[tls.key]"));
      break;
    case "kubernetes.io/basic-auth":
      if (!has("username") && !has("password")) {
        out.push(required("data[username]"), required("data[password]"));
      }
      break;
    case "kubernetes.io/ssh-auth":
      if (!has("ssh-privatekey")) out.push(required("data[ssh-privatekey]"));
      break;
    case "kubernetes.io/dockerconfigjson":
      if (!has(".dockerconfigjson")) out.push(required("data[.dockerconfigjson]"));
      break;
    case "kubernetes.io/dockercfg":
      if (!has(".dockercfg")) out.push(required("data[.dockercfg]"));
      break;
    default:
      break;
  }
}

function validateHpa(spec: Obj, out: StatusCause[]): void {
  const ref = objectAt(spec, "scaleTargetRef") ?? {};
  if ((stringAt(ref, "kind") ?? "") === "") out.push(required("spec.scaleTargetRef.kind"));
  if ((stringAt(ref, "name") ?? "") === "") out.push(required("spec.scaleTargetRef.name"));
  const min = num(spec["minReplicas"]);
  const max = num(spec["maxReplicas"]) ?? 0;
  if (min !== undefined && min < 0)
    out.push(invalid("spec.minReplicas", min, "must be greater than or equal to 0"));
  if (min === 0) {
    const objectOrExternal = list(spec["metrics"]).some(
      (m) => m["type"] === "Object" || m["type"] === "External",
    );
    if (!objectOrExternal) {
      out.push(
        forbidden(
          "spec.metrics",
          "must specify at least one Object or External metric to support scaling to zero replicas",
        ),
      );
    }
  }
  if (max === 0) out.push(required("spec.maxReplicas"));
  else if (max < 0) out.push(invalid("spec.maxReplicas", max, "must be greater than 0"));
  else if (min !== undefined && max < min)
    out.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
}

/** Go's rendering of an internal PodDisruptionBudgetSpec (no JSON tags on the struct, on its LabelSelector yes). */
function goPdbSpec(spec: Obj): string {
  const field = (value: Json | undefined): string => render(value ?? null);
  return `{"MinAvailable":${field(spec["minAvailable"])},"Selector":${field(spec["selector"])},"MaxUnavailable":${field(spec["maxUnavailable"])},"UnhealthyPodEvictionPolicy":${field(spec["unhealthyPodEvictionPolicy"])}}`;
}

function validatePdb(spec: Obj, out: StatusCause[]): void {
  if (spec["minAvailable"] !== undefined && spec["maxUnavailable"] !== undefined) {
    out.push({
      reason: "FieldValueInvalid",
      field: "spec",
      message: `Invalid value: ${goPdbSpec(spec)}: minAvailable and maxUnavailable cannot be both set`,
    });
  }
  validateIntOrPercent(spec["minAvailable"], "spec.minAvailable", out);
  validateIntOrPercent(spec["maxUnavailable"], "spec.maxUnavailable", out);
}

function validateCidr(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (m) return m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
  const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr);
  return v6 !== null && (v6[1] ?? "").includes(":") && Number(v6[2]) <= 128;
}

const CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

function validateNetworkPolicy(spec: Obj, out: StatusCause[]): void {
  for (const direction of ["ingress", "egress"] as const) {
    list(spec[direction]).forEach((rule, i) => {
      const at = `spec.${direction}[${i}]`;
      list(rule["ports"]).forEach((port, j) => {
        const p = `${at}.ports[${j}]`;
        const protocol = port["protocol"];
        if (typeof protocol === "string" && !PROTOCOLS.includes(protocol))
          out.push(notSupported(`${p}.protocol`, protocol, PROTOCOLS));
        if (port["port"] !== undefined) validatePort(port["port"], `${p}.port`, out);
      });
      list(rule[direction === "ingress" ? "from" : "to"]).forEach((peer, j) => {
        const block = objectAt(peer, "ipBlock");
        if (!block) return;
        const p = `${at}.${direction === "ingress" ? "from" : "to"}[${j}].ipBlock`;
        const cidr = stringAt(block, "cidr") ?? "";
        if (cidr === "") out.push(required(`${p}.cidr`));
        else if (!validateCidr(cidr)) out.push(invalid(`${p}.cidr`, cidr, CIDR_MESSAGE));
      });
    });
  }
  const types = spec["policyTypes"];
  if (Array.isArray(types)) {
    types.forEach((t, i) => {
      if (t !== "Ingress" && t !== "Egress")
        out.push(notSupported(`spec.policyTypes[${i}]`, t, ["Ingress", "Egress"]));
    });
  }
}

function validateRules(object: Obj, out: StatusCause[]): void {
  list(object["rules"]).forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!Array.isArray(rule["verbs"]) || rule["verbs"].length === 0) out.push(required(`${at}.verbs`));
    if (Array.isArray(rule["nonResourceURLs"]) && rule["nonResourceURLs"].length > 0) {
      out.push(
        invalid(
          `${at}.nonResourceURLs`,
          rule["nonResourceURLs"],
          "namespaced rules cannot apply to non-resource URLs",
        ),
      );
    }
    if (!Array.isArray(rule["apiGroups"]) || rule["apiGroups"].length === 0)
      out.push(required(`${at}.apiGroups`, "resource rules must supply at least one api group"));
    if (!Array.isArray(rule["resources"]) || rule["resources"].length === 0)
      out.push(required(`${at}.resources`, "resource rules must supply at least one resource"));
  });
}

function validateRoleBinding(object: Obj, out: StatusCause[]): void {
  const ref = objectAt(object, "roleRef") ?? {};
  const group = stringAt(ref, "apiGroup") ?? "";
  if (group !== "rbac.authorization.k8s.io")
    out.push(notSupported("roleRef.apiGroup", group, ["rbac.authorization.k8s.io"]));
  const kind = stringAt(ref, "kind") ?? "";
  if (kind !== "Role" && kind !== "ClusterRole")
    out.push(notSupported("roleRef.kind", kind, ["Role", "ClusterRole"]));
  if ((stringAt(ref, "name") ?? "") === "") out.push(required("roleRef.name"));
  list(object["subjects"]).forEach((subject, i) => {
    const at = `subjects[${i}]`;
    const subjectKind = stringAt(subject, "kind") ?? "";
    if ((stringAt(subject, "name") ?? "") === "") out.push(required(`${at}.name`));
    if (subjectKind === "ServiceAccount") {
      const apiGroup = stringAt(subject, "apiGroup") ?? "";
      if (apiGroup !== "") out.push(notSupported(`${at}.apiGroup`, apiGroup, [""]));
    } else if (subjectKind === "User" || subjectKind === "Group") {
      const apiGroup = stringAt(subject, "apiGroup") ?? "";
      if (apiGroup !== "rbac.authorization.k8s.io")
        out.push(notSupported(`${at}.apiGroup`, apiGroup, ["rbac.authorization.k8s.io"]));
    } else {
      out.push(notSupported(`${at}.kind`, subjectKind, ["ServiceAccount", "User", "Group"]));
    }
  });
}

/** Go's rendering of an internal RoleRef (a struct without JSON tags). */
function goRoleRef(ref: Obj): string {
  return `{"APIGroup":${render(ref["apiGroup"] ?? "")},"Kind":${render(ref["kind"] ?? "")},"Name":${render(ref["name"] ?? "")}}`;
}

function validateUpdate(type: ResourceType, next: Obj, before: Obj, out: StatusCause[]): void {
  const spec = objectAt(next, "spec") ?? {};
  const oldSpec = objectAt(before, "spec") ?? {};
  const changed = (key: string): boolean => !deepEqual(spec[key] ?? null, oldSpec[key] ?? null);
  switch (`${type.group}/${type.kind}`) {
    case "apps/Deployment":
    case "apps/ReplicaSet":
    case "apps/DaemonSet":
      if (changed("selector")) out.push(immutable("spec.selector", spec["selector"]));
      break;
    case "apps/StatefulSet":
      if (changed("selector")) out.push(immutable("spec.selector", spec["selector"]));
      if (changed("serviceName")) out.push(immutable("spec.serviceName", spec["serviceName"]));
      if (changed("volumeClaimTemplates"))
        out.push(immutable("spec.volumeClaimTemplates", spec["volumeClaimTemplates"]));
      if (changed("podManagementPolicy"))
        out.push(immutable("spec.podManagementPolicy", spec["podManagementPolicy"]));
      break;
    case "rbac.authorization.k8s.io/RoleBinding":
    case "rbac.authorization.k8s.io/ClusterRoleBinding": {
      const ref = objectAt(next, "roleRef") ?? {};
      if (!deepEqual(ref, objectAt(before, "roleRef") ?? {})) {
        out.push({
          reason: "FieldValueInvalid",
          field: "roleRef",
          message: `Invalid value: ${goRoleRef(ref)}: field is immutable`,
        });
      }
      break;
    }
    case "/ConfigMap":
    case "/Secret":
      if (before["immutable"] === true) {
        if (next["immutable"] !== true)
          out.push(forbidden("immutable", "field is immutable when `immutable` is set"));
        if (!deepEqual(next["data"] ?? null, before["data"] ?? null))
          out.push(forbidden("data", "field is immutable when `immutable` is set"));
        if (
          type.kind === "ConfigMap" &&
          !deepEqual(next["binaryData"] ?? null, before["binaryData"] ?? null)
        ) {
          out.push(forbidden("binaryData", "field is immutable when `immutable` is set"));
        }
      }
      if (type.kind === "Secret" && (stringAt(next, "type") ?? "") !== (stringAt(before, "type") ?? "")) {
        out.unshift(immutable("type", next["type"]));
      }
      break;
    default:
      break;
  }
}

/** Causes of the built-in kind's own validation (none for kinds it does not know, and custom resources). */
export function validateBuiltin(type: ResourceType, next: Obj, before: Obj | undefined): StatusCause[] {
  if (type.crd !== undefined) return [];
  const out: StatusCause[] = [];
  const spec = objectAt(next, "spec") ?? {};
  switch (`${type.group}/${type.kind}`) {
    case "apps/Deployment":
      validateDeployment(spec, out);
      break;
    case "apps/StatefulSet":
      validateStatefulSet(spec, out);
      break;
    case "apps/DaemonSet":
      validateDaemonSet(spec, out);
      break;
    case "apps/ReplicaSet":
      nonNegative(spec["replicas"], "spec.replicas", out);
      validateSelector(spec, "replicaset", out);
      validatePodTemplate(objectAt(spec, "template"), "spec.template", true, out);
      break;
    case "/Service":
      validateService(spec, out);
      break;
    case "/ConfigMap":
      validateConfigData(next, out);
      break;
    case "/Secret":
      validateSecret(next, out);
      break;
    case "autoscaling/HorizontalPodAutoscaler":
      validateHpa(spec, out);
      break;
    case "policy/PodDisruptionBudget":
      validatePdb(spec, out);
      break;
    case "networking.k8s.io/NetworkPolicy":
      validateNetworkPolicy(spec, out);
      break;
    case "rbac.authorization.k8s.io/Role":
    case "rbac.authorization.k8s.io/ClusterRole":
      validateRules(next, out);
      break;
    case "rbac.authorization.k8s.io/RoleBinding":
    case "rbac.authorization.k8s.io/ClusterRoleBinding":
      validateRoleBinding(next, out);
      break;
    default:
      break;
  }
  if (before) validateUpdate(type, next, before, out);
  return out;
}
