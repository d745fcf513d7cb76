import type { KubeObject } from "../../providers/kubernetes/port.js";
import { groupOf } from "./kinds.js";

/** The tools whose objects the mirror recognises; each keeps its own state of what it deployed. */
export type Manager = "Argo CD" | "Flux" | "Helm";

/** Who deploys an object: the tool, and the tool's unit (Application, Kustomization, HelmRelease, Helm release). */
export interface Management {
  tool: Manager;
  /** e.g. `application shop`, `kustomization flux-system/apps`, `release shop/frontend`. */
  owner: string;
}

/** Argo CD's annotation tracking (its default since 3.0): `<app>:<group>/<kind>:<namespace>/<name>`. */
const ARGO_TRACKING_ID = "argocd.argoproj.io/tracking-id";
/** The label Argo CD's label tracking is most often configured with (`application.instanceLabelKey`). */
const ARGO_INSTANCE = "argocd.argoproj.io/instance";
const FLUX_LABELS = {
  kustomization: ["kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"],
  helmrelease: ["helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"],
} as const;
const HELM_RELEASE_NAME = "meta.helm.sh/release-name";
const HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace";
/** Helm 3 keeps each revision of a release in a Secret of this type, labelled owner=helm, name=<release>. */
export const HELM_RELEASE_SECRET = "helm.sh/release.v1";

/**
 * API groups of the GitOps tools' own objects (Applications, Kustomizations, HelmReleases, their sources). The
 * mirror never copies them (they are not among MIRRORED_KINDS): copied, a target that runs the same tool would
 * deploy the app a second time over the mirrored objects. The plan names them, for the user to create on the target
 * when the tool is to manage it.
 */
export const GITOPS_GROUPS: ReadonlyMap<string, Manager> = new Map([
  ["argoproj.io", "Argo CD"],
  ["kustomize.toolkit.fluxcd.io", "Flux"],
  ["helm.toolkit.fluxcd.io", "Flux"],
  ["source.toolkit.fluxcd.io", "Flux"],
  ["notification.toolkit.fluxcd.io", "Flux"],
  ["image.toolkit.fluxcd.io", "Flux"],
]);

/** The tool whose own object this is (an Argo CD Application, a Flux Kustomization…), or undefined. */
export function gitOpsObject(object: KubeObject): Manager | undefined {
  return GITOPS_GROUPS.get(groupOf(object.apiVersion));
}

/**
 * Which tool deploys `object`, from the marks each tool leaves. Argo CD and Flux come before Helm: a Flux
 * HelmRelease's objects carry Helm's marks too, and Flux is what would deploy them again. Argo CD's default
 * label tracking (`app.kubernetes.io/instance`) is not read: Helm charts and kustomize set that label as well.
 */
export function managementOf(object: KubeObject): Management | undefined {
  const labels = object.metadata.labels ?? {};
  const annotations = object.metadata.annotations ?? {};
  const tracking = annotations[ARGO_TRACKING_ID];
  if (tracking !== undefined) return { tool: "Argo CD", owner: `application ${tracking.split(":")[0]}` };
  if (labels[ARGO_INSTANCE] !== undefined)
    return { tool: "Argo CD", owner: `application ${labels[ARGO_INSTANCE]}` };
  for (const [unit, [nameKey, namespaceKey]] of Object.entries(FLUX_LABELS)) {
    const name = labels[nameKey];
    if (name !== undefined) {
      const namespace = labels[namespaceKey];
      return { tool: "Flux", owner: `${unit} ${namespace ? `${namespace}/` : ""}${name}` };
    }
  }
  if (object.kind === "Secret" && object.type === HELM_RELEASE_SECRET && labels.owner === "helm") {
    return { tool: "Helm", owner: `release ${object.metadata.namespace ?? ""}/${labels.name ?? "?"}` };
  }
  const release = annotations[HELM_RELEASE_NAME];
  if (release !== undefined || labels["app.kubernetes.io/managed-by"] === "Helm") {
    const namespace = annotations[HELM_RELEASE_NAMESPACE] ?? object.metadata.namespace ?? "";
    const name = release ?? labels["app.kubernetes.io/instance"] ?? "?";
    return { tool: "Helm", owner: `release ${namespace}/${name}` };
  }
  return undefined;
}

/**
 * A copy without Argo CD's and Flux's marks: on the target no controller of theirs deploys the object yet, and a
 * mark would claim it for one (Argo CD shows it as its own, `flux tree` lists it). When the tool is pointed at the
 * target it adopts the objects by applying over them. Helm's marks stay, with the release Secrets mirrored beside
 * them: on the target `helm` sees the same release, and its next upgrade adopts what it finds.
 */
export function withoutGitOpsMarks(object: KubeObject): KubeObject {
  const metadata = object.metadata;
  const labels = metadata.labels ? { ...metadata.labels } : undefined;
  const annotations = metadata.annotations ? { ...metadata.annotations } : undefined;
  if (labels) {
    delete labels[ARGO_INSTANCE];
    for (const keys of Object.values(FLUX_LABELS)) for (const key of keys) delete labels[key];
  }
  if (annotations) delete annotations[ARGO_TRACKING_ID];
  const { labels: _labels, annotations: _annotations, ...rest } = metadata;
  return {
    ...object,
    metadata: {
      ...rest,
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
      ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
}
