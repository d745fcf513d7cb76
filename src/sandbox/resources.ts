import type { JsonObject } from "./json.js";

/** One served resource (built-in or from a CustomResourceDefinition), stored once whatever version is asked. */
export interface ResourceType {
  readonly group: string;
  /** Served versions, preferred first. */
  readonly versions: readonly string[];
  readonly storageVersion: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly statusSubresource: boolean;
  /** Serves `/scale` (autoscaling/v1 Scale over spec.replicas), as Deployments, StatefulSets and ReplicaSets do. */
  readonly scaleSubresource?: boolean;
  /** OpenAPI v3 schema per version, for custom resources. */
  readonly schemas?: ReadonlyMap<string, JsonObject>;
  /** Name of the CustomResourceDefinition that serves it. */
  readonly crd?: string;
}

export function resourceKey(group: string, plural: string): string {
  return group === "" ? plural : `${plural}.${group}`;
}

export function groupVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
}

const BUILTINS: BuiltinSpec[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
    shortNames: ["ns"],
    status: true,
  },
  {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
    status: true,
  },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"] },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    namespaced: true,
    shortNames: ["sa"],
  },
  {
    group: "",
    version: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    namespaced: true,
    shortNames: ["pvc"],
    status: true,
  },
  {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    status: true,
  },
  { group: "", version: "v1", kind: "Endpoints", plural: "endpoints", namespaced: true, shortNames: ["ep"] },
  { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"] },
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ["all"],
    status: true,
    scale: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    namespaced: true,
    shortNames: ["sts"],
    categories: ["all"],
    status: true,
    scale: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    namespaced: true,
    shortNames: ["ds"],
    categories: ["all"],
    status: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    namespaced: true,
    shortNames: ["rs"],
    categories: ["all"],
    status: true,
    scale: true,
  },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
    shortNames: ["ing"],
    status: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
    shortNames: ["netpol"],
  },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
    shortNames: ["pdb"],
    status: true,
  },
  {
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    namespaced: true,
    shortNames: ["hpa"],
    categories: ["all"],
    status: true,
  },
  {
    group: "batch",
    version: "v1",
    kind: "Job",
    plural: "jobs",
    namespaced: true,
    categories: ["all"],
    status: true,
  },
  {
    group: "batch",
    version: "v1",
    kind: "CronJob",
    plural: "cronjobs",
    namespaced: true,
    shortNames: ["cj"],
    categories: ["all"],
    status: true,
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    status: true,
  },
  { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
];

export const BUILTIN_RESOURCES: readonly ResourceType[] = BUILTINS.map((spec) => ({
  group: spec.group,
  versions: [spec.version],
  storageVersion: spec.version,
  kind: spec.kind,
  listKind: `${spec.kind}List`,
  plural: spec.plural,
  singular: spec.kind.toLowerCase(),
  namespaced: spec.namespaced,
  shortNames: spec.shortNames ?? [],
  categories: spec.categories ?? [],
  statusSubresource: spec.status ?? false,
  scaleSubresource: spec.scale ?? false,
}));

const VERSION_PATTERN = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kubernetes version priority: GA before beta before alpha, higher numbers first, then the rest by name. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = VERSION_PATTERN.exec(v);
    if (!m) return undefined;
    const stability = m[2] === undefined ? 2 : m[2] === "beta" ? 1 : 0;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (ra && rb) {
    for (let i = 0; i < 3; i++) {
      const d = (rb[i] ?? 0) - (ra[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (ra) return -1;
  if (rb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every resource type one cluster serves, indexed the ways requests look them up. */
export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();
  private readonly byPath = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();

  constructor(types: readonly ResourceType[] = BUILTIN_RESOURCES) {
    for (const type of types) this.add(type);
  }

  add(type: ResourceType): void {
    const previous = this.byKey.get(resourceKey(type.group, type.plural));
    if (previous) this.remove(previous);
    this.byKey.set(resourceKey(type.group, type.plural), type);
    for (const version of type.versions) {
      this.byPath.set(`${groupVersion(type.group, version)}/${type.plural}`, type);
      this.byKind.set(`${groupVersion(type.group, version)}/${type.kind}`, type);
    }
  }

  remove(type: ResourceType): void {
    this.byKey.delete(resourceKey(type.group, type.plural));
    for (const version of type.versions) {
      this.byPath.delete(`${groupVersion(type.group, version)}/${type.plural}`);
      this.byKind.delete(`${groupVersion(type.group, version)}/${type.kind}`);
    }
  }

  byResource(group: string, plural: string): ResourceType | undefined {
    return this.byKey.get(resourceKey(group, plural));
  }

  forPath(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(`${groupVersion(group, version)}/${plural}`);
  }

  forKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  /** Served groups with their versions, preferred first; the core group is not among them. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, Set<string>>();
    for (const type of this.byKey.values()) {
      if (type.group === "") continue;
      const versions = groups.get(type.group) ?? new Set<string>();
      for (const v of type.versions) versions.add(v);
      groups.set(type.group, versions);
    }
    const out = new Map<string, string[]>();
    for (const name of [...groups.keys()].sort()) {
      out.set(name, [...(groups.get(name) ?? [])].sort(compareVersions));
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.versions.includes(version));
  }
}
