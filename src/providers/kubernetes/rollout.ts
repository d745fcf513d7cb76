import type { KubeObject } from "./port.js";

export type RolloutState =
  | { state: "complete"; detail: string }
  | { state: "progressing"; detail: string }
  | { state: "failed"; detail: string };

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const num = (value: unknown): number => (typeof value === "number" ? value : 0);

/** Where a rollout stands, by the rules `kubectl rollout status` uses. */
export function rolloutState(object: KubeObject | undefined): RolloutState {
  if (object === undefined) return { state: "progressing", detail: "waiting for the object to exist" };
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  const status = (object.status ?? {}) as Record<string, unknown>;
  const generation = object.metadata.generation ?? 0;
  if (generation > num(status.observedGeneration)) {
    return { state: "progressing", detail: "waiting for the controller to observe the new spec" };
  }
  switch (object.kind) {
    case "Deployment":
      return deploymentState(spec, status);
    case "StatefulSet":
      return statefulSetState(spec, status);
    case "DaemonSet":
      return daemonSetState(status);
    default:
      return { state: "failed", detail: `${object.kind} has no rollout` };
  }
}

function deploymentState(spec: Record<string, unknown>, status: Record<string, unknown>): RolloutState {
  const conditions = (status.conditions ?? []) as Condition[];
  const progressing = conditions.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return {
      state: "failed",
      detail: `exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ""}`,
    };
  }
  const desired = typeof spec.replicas === "number" ? spec.replicas : 1;
  const updated = num(status.updatedReplicas);
  const available = num(status.availableReplicas);
  if (updated < desired) return { state: "progressing", detail: `${updated}/${desired} replicas updated` };
  if (num(status.replicas) > updated) {
    return {
      state: "progressing",
      detail: `${num(status.replicas) - updated} old replicas pending termination`,
    };
  }
  if (available < updated) return { state: "progressing", detail: `${available}/${desired} replicas ready` };
  return { state: "complete", detail: `${available}/${desired} replicas ready` };
}

function statefulSetState(spec: Record<string, unknown>, status: Record<string, unknown>): RolloutState {
  const desired = typeof spec.replicas === "number" ? spec.replicas : 1;
  const ready = num(status.readyReplicas);
  if (ready < desired) return { state: "progressing", detail: `${ready}/${desired} replicas ready` };
  const strategy = (spec.updateStrategy ?? {}) as { type?: string };
  if (strategy.type !== "OnDelete" && status.updateRevision !== status.currentRevision) {
    return { state: "progressing", detail: `${num(status.updatedReplicas)}/${desired} replicas updated` };
  }
  return { state: "complete", detail: `${ready}/${desired} replicas ready` };
}

function daemonSetState(status: Record<string, unknown>): RolloutState {
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updated < desired) return { state: "progressing", detail: `${updated}/${desired} pods updated` };
  if (available < desired) return { state: "progressing", detail: `${available}/${desired} pods ready` };
  return { state: "complete", detail: `${available}/${desired} pods ready` };
}
