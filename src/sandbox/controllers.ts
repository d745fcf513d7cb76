import { createHash } from "node:crypto";
import { loadBalancerPool } from "./addresses.js";
import type { ClusterApi } from "./api.js";
import {
  deepEqual,
  isObject,
  metadataOf,
  objectAt,
  stringAt,
  timestamp,
  type Json,
  type JsonObject,
} from "./json.js";
import { resourceKey, type ResourceType } from "./resources.js";
import { DeletionControllers } from "./deletion.js";
import type { StoreEvent } from "./store.js";

/** Keeps a rollout from ever completing (Progressing → ProgressDeadlineExceeded) and a LoadBalancer pending. */
export const NEVER_READY_ANNOTATION = "sandbox.clustershift.dev/never-ready";

export interface ControllerOptions {
  readyDelayMs: number;
  loadBalancerDelayMs: number;
  /** How long a deleted namespace stays Terminating before its content is deleted (and, when it is all gone, itself). */
  namespaceDeletionDelayMs: number;
}

const ROOT_CA = `-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhzYW5kYm94
LWNsdXN0ZXJzaGlmdC1jYTAeFw0yNTAxMDEwMDAwMDBaFw0zNTAxMDEwMDAwMDBa
-----END CERTIFICATE-----
`;

/** How long after an event the garbage collector acts: after the request, as the real one does. */
const GARBAGE_COLLECTION_DELAY_MS = 20;

const WORKLOADS = new Set(["deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps"]);
const SERVICES = resourceKey("", "services");
const NAMESPACES = resourceKey("", "namespaces");

let clusterSerial = 0;

function neverReady(object: JsonObject): boolean {
  return stringAt(objectAt(metadataOf(object), "annotations"), NEVER_READY_ANNOTATION) === "true";
}

/** Zero counts are absent from real statuses (omitempty). */
function counts(fields: Record<string, number>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== 0) out[key] = value;
  return out;
}

function condition(type: string, status: boolean, reason: string, message: string, now: string): JsonObject {
  return {
    type,
    status: status ? "True" : "False",
    lastUpdateTime: now,
    lastTransitionTime: now,
    reason,
    message,
  };
}

function withoutTimes(status: Json | undefined): Json | undefined {
  if (!isObject(status)) return status;
  const conditions = status["conditions"];
  if (!Array.isArray(conditions)) return status;
  return {
    ...status,
    conditions: conditions.map((c) =>
      isObject(c) ? { ...c, lastUpdateTime: null, lastTransitionTime: null } : c,
    ),
  };
}

function templateHash(object: JsonObject): string {
  const spec = objectAt(object, "spec") ?? {};
  return createHash("sha256")
    .update(JSON.stringify(spec["template"] ?? null))
    .digest("hex")
    .slice(0, 10);
}

type Phase = "progressing" | "done";

/** The status a workload controller would report for this generation: mid-rollout, or settled. */
function workloadStatus(kind: string, object: JsonObject, phase: Phase): JsonObject {
  const now = timestamp();
  const metadata = metadataOf(object);
  const name = stringAt(metadata, "name") ?? "";
  const generation = Number(metadata["generation"] ?? 1);
  const spec = objectAt(object, "spec") ?? {};
  const previous = objectAt(object, "status") ?? {};
  const desired = kind === "DaemonSet" ? 1 : typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
  const failed = phase === "done" && neverReady(object);
  // Counts the last status had, until the rollout is done (all of them) or never gets ready (none).
  const count = (field: string): number =>
    phase === "done" && !failed ? desired : failed ? 0 : Math.min(desired, Number(previous[field] ?? 0));
  const ready = count("readyReplicas");
  const available = count("availableReplicas");
  const updated = phase === "done" ? desired : 0;
  const revision = `${name}-${templateHash(object)}`;
  const deadline = condition(
    "Progressing",
    false,
    "ProgressDeadlineExceeded",
    `ReplicaSet "${revision}" has timed out progressing.`,
    now,
  );
  switch (kind) {
    case "Deployment": {
      const progressing = failed
        ? deadline
        : phase === "done"
          ? condition(
              "Progressing",
              true,
              "NewReplicaSetAvailable",
              `ReplicaSet "${revision}" has successfully progressed.`,
              now,
            )
          : condition(
              "Progressing",
              true,
              "ReplicaSetUpdated",
              `ReplicaSet "${revision}" is progressing.`,
              now,
            );
      const availableCondition =
        available >= desired
          ? condition(
              "Available",
              true,
              "MinimumReplicasAvailable",
              "Deployment has minimum availability.",
              now,
            )
          : condition(
              "Available",
              false,
              "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability.",
              now,
            );
      return {
        observedGeneration: generation,
        ...counts({
          replicas: desired,
          updatedReplicas: updated,
          readyReplicas: ready,
          availableReplicas: available,
        }),
        ...counts({ unavailableReplicas: desired - available }),
        conditions: [availableCondition, progressing],
      };
    }
    case "StatefulSet": {
      const status: JsonObject = {
        observedGeneration: generation,
        replicas: desired,
        ...counts({
          readyReplicas: ready,
          currentReplicas: phase === "done" ? desired : Number(previous["currentReplicas"] ?? 0),
        }),
        ...counts({ updatedReplicas: updated, availableReplicas: available }),
        currentRevision: phase === "done" ? revision : (stringAt(previous, "currentRevision") ?? revision),
        updateRevision: revision,
        collisionCount: 0,
      };
      if (failed) status["conditions"] = [deadline];
      return status;
    }
    case "DaemonSet":
      return {
        currentNumberScheduled: 1,
        desiredNumberScheduled: 1,
        numberMisscheduled: 0,
        numberReady: ready,
        observedGeneration: generation,
        ...counts({
          numberAvailable: available,
          updatedNumberScheduled: updated,
          numberUnavailable: 1 - available,
        }),
      };
    default:
      return {
        replicas: desired,
        ...counts({ fullyLabeledReplicas: desired, readyReplicas: ready, availableReplicas: available }),
        observedGeneration: generation,
      };
  }
}

/**
 * What the kube-controller-manager and cloud controller would do, enough for rollouts and load balancers:
 * workloads become ready after a delay, LoadBalancer Services get an external IP, namespaces get their
 * `kube-root-ca.crt` ConfigMap and `default` ServiceAccount. Every change goes through the status subresource,
 * so it bumps resourceVersion and reaches watches.
 */
export class Controllers {
  private readonly timers = new Map<string, { signature: string; timer: NodeJS.Timeout }>();
  private readonly balancers = new Set<string>();
  private readonly id = `cluster-${++clusterSerial}`;
  private readonly unsubscribe: () => void;
  private readonly deletion: DeletionControllers;

  constructor(
    private readonly api: ClusterApi,
    private readonly options: ControllerOptions,
  ) {
    this.deletion = new DeletionControllers(api, {
      collectMs: GARBAGE_COLLECTION_DELAY_MS,
      namespaceMs: options.namespaceDeletionDelayMs,
    });
    this.unsubscribe = api.store.subscribe((event) => this.onEvent(event));
  }

  stop(): void {
    this.unsubscribe();
    this.deletion.stop();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const holder of this.balancers) loadBalancerPool.release(holder);
    this.balancers.clear();
  }

  private onEvent(event: StoreEvent): void {
    this.deletion.onEvent(event);
    if (event.key === NAMESPACES) this.reconcileNamespace(event);
    else if (WORKLOADS.has(event.key)) this.reconcileWorkload(event);
    else if (event.key === SERVICES) this.reconcileService(event);
  }

  private type(key: string): ResourceType | undefined {
    const [plural = "", ...group] = key.split(".");
    return this.api.registry.byResource(group.join("."), plural);
  }

  private reconcileNamespace(event: StoreEvent): void {
    if (event.type === "ADDED") this.seedNamespace(stringAt(metadataOf(event.object), "name") ?? "");
  }

  private seedNamespace(namespace: string): void {
    const options = { version: "v1", fieldManager: "kube-controller-manager" };
    const seed = (kind: string, object: JsonObject): void => {
      const type = this.api.registry.forKind("v1", kind);
      if (
        type &&
        !this.api.store.get(
          resourceKey("", type.plural),
          namespace,
          stringAt(metadataOf(object), "name") ?? "",
        )
      ) {
        this.api.create(type, namespace, object, options);
      }
    };
    seed("ConfigMap", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "kube-root-ca.crt",
        annotations: {
          "kubernetes.io/description":
            "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.",
        },
      },
      data: { "ca.crt": ROOT_CA },
    });
    seed("ServiceAccount", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } });
  }

  private schedule(key: string, signature: string, delayMs: number, run: () => void): void {
    const pending = this.timers.get(key);
    if (pending?.signature === signature) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      run();
    }, delayMs);
    timer.unref();
    this.timers.set(key, { signature, timer });
  }

  private cancel(key: string): void {
    const pending = this.timers.get(key);
    if (pending) clearTimeout(pending.timer);
    this.timers.delete(key);
  }

  private current(event: StoreEvent): JsonObject | undefined {
    const metadata = metadataOf(event.object);
    return this.api.store.get(event.key, event.namespace, stringAt(metadata, "name") ?? "");
  }

  private reconcileWorkload(event: StoreEvent): void {
    const timerKey = `${event.key}/${event.namespace}/${stringAt(metadataOf(event.object), "name") ?? ""}`;
    if (event.type === "DELETED") {
      this.cancel(timerKey);
      return;
    }
    const type = this.type(event.key);
    const object = this.current(event);
    if (!type || !object) return;
    const generation = Number(metadataOf(object)["generation"] ?? 1);
    const settled = workloadStatus(type.kind, object, "done");
    if (deepEqual(withoutTimes(object["status"]), withoutTimes(settled))) return;
    if (objectAt(object, "status")?.["observedGeneration"] !== generation) {
      this.api.writeStatus(type, object, workloadStatus(type.kind, object, "progressing"));
    }
    this.schedule(timerKey, `${generation}/${neverReady(object)}`, this.options.readyDelayMs, () => {
      const latest = this.current(event);
      if (latest) this.api.writeStatus(type, latest, workloadStatus(type.kind, latest, "done"));
    });
  }

  private reconcileService(event: StoreEvent): void {
    const metadata = metadataOf(event.object);
    const name = stringAt(metadata, "name") ?? "";
    const holder = `${this.id}/${event.namespace}/${name}`;
    const timerKey = `${SERVICES}/${event.namespace}/${name}`;
    const type = this.type(SERVICES);
    if (event.type === "DELETED") {
      this.cancel(timerKey);
      this.api.addresses.release(`${event.namespace}/${name}`);
      loadBalancerPool.release(holder);
      this.balancers.delete(holder);
      return;
    }
    const object = this.current(event);
    if (!type || !object) return;
    const wantsBalancer =
      stringAt(objectAt(object, "spec"), "type") === "LoadBalancer" && !neverReady(object);
    const ingress = objectAt(objectAt(object, "status") ?? {}, "loadBalancer")?.["ingress"];
    const hasAddress = Array.isArray(ingress) && ingress.length > 0;
    if (wantsBalancer && !hasAddress) {
      this.schedule(timerKey, "balancer", this.options.loadBalancerDelayMs, () => {
        const latest = this.current(event);
        if (!latest) return;
        const ip = loadBalancerPool.acquire(holder);
        if (ip === undefined) return;
        this.balancers.add(holder);
        this.api.writeStatus(type, latest, { loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] } });
      });
    } else if (!wantsBalancer) {
      this.cancel(timerKey);
      if (hasAddress) this.api.writeStatus(type, object, { loadBalancer: {} });
      loadBalancerPool.release(holder);
      this.balancers.delete(holder);
    }
  }
}
