import type { KubeObject } from "../../providers/kubernetes/port.js";
import { groupOf } from "./kinds.js";

/**
 * Fields the API server lets no update change (it answers 422 "field is immutable" or "Forbidden"), by kind: an
 * update planned over one would stop the mirror halfway, after other objects were written. The paths are those
 * `subsetDiff` reports.
 */
type Rule = (path: string, live: KubeObject) => boolean;

const under = (path: string, prefix: string) =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/** `spec` fields of a StatefulSet that an update may change (apps/validation: ValidateStatefulSetUpdate). */
const STATEFULSET_MUTABLE = [
  "spec.replicas",
  "spec.ordinals",
  "spec.template",
  "spec.updateStrategy",
  "spec.revisionHistoryLimit",
  "spec.persistentVolumeClaimRetentionPolicy",
  "spec.minReadySeconds",
];

/** `spec` fields of a PersistentVolumeClaim that an update may change (a larger size, the attributes class). */
const CLAIM_MUTABLE = ["spec.resources.requests", "spec.volumeAttributesClassName"];

const RULES: Record<string, Rule> = {
  "apps Deployment": (path) => under(path, "spec.selector"),
  "apps ReplicaSet": (path) => under(path, "spec.selector"),
  "apps DaemonSet": (path) => under(path, "spec.selector"),
  "apps StatefulSet": (path) => under(path, "spec") && !STATEFULSET_MUTABLE.some((p) => under(path, p)),
  "batch Job": (path) =>
    ["spec.selector", "spec.template", "spec.completionMode"].some((p) => under(path, p)),
  " Service": (path) => under(path, "spec.clusterIP") || under(path, "spec.clusterIPs"),
  " PersistentVolumeClaim": (path) => under(path, "spec") && !CLAIM_MUTABLE.some((p) => under(path, p)),
  "rbac.authorization.k8s.io RoleBinding": (path) => under(path, "roleRef"),
  " Secret": (path, live) =>
    live.immutable === true && ["data", "stringData", "type", "immutable"].some((p) => under(path, p)),
  " ConfigMap": (path, live) =>
    live.immutable === true && ["data", "binaryData", "immutable"].some((p) => under(path, p)),
};

/** The differing `paths` of an update of `live` that the API server would refuse. */
export function immutablePaths(live: KubeObject, paths: readonly string[]): string[] {
  const rule = RULES[`${groupOf(live.apiVersion)} ${live.kind}`];
  return rule ? paths.filter((path) => rule(path, live)) : [];
}
