import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { rolloutState } from "../../src/providers/kubernetes/rollout.js";

const deployment = (
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  generation = 2,
): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop", generation },
  spec,
  status,
});

describe("rolloutState", () => {
  it.each<[string, KubeObject | undefined, string, string]>([
    ["absent", undefined, "progressing", "waiting for the object to exist"],
    [
      "not yet observed",
      deployment({ replicas: 3 }, { observedGeneration: 1 }),
      "progressing",
      "waiting for the controller to observe the new spec",
    ],
    [
      "updating",
      deployment({ replicas: 3 }, { observedGeneration: 2, updatedReplicas: 1 }),
      "progressing",
      "1/3 replicas updated",
    ],
    [
      "old replicas left",
      deployment({ replicas: 3 }, { observedGeneration: 2, updatedReplicas: 3, replicas: 4 }),
      "progressing",
      "1 old replicas pending termination",
    ],
    [
      "becoming ready",
      deployment(
        { replicas: 3 },
        { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 },
      ),
      "progressing",
      "2/3 replicas ready",
    ],
    [
      "complete",
      deployment(
        { replicas: 3 },
        { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 },
      ),
      "complete",
      "3/3 replicas ready",
    ],
    [
      "complete with default replicas",
      deployment({}, { observedGeneration: 2, updatedReplicas: 1, replicas: 1, availableReplicas: 1 }),
      "complete",
      "1/1 replicas ready",
    ],
    [
      "past its deadline",
      deployment(
        { replicas: 1 },
        {
          observedGeneration: 2,
          conditions: [
            {
              type: "Progressing",
              status: "False",
              reason: "ProgressDeadlineExceeded",
              message: 'ReplicaSet "web-1" has timed out progressing.',
            },
          ],
        },
      ),
      "failed",
      'exceeded its progress deadline: ReplicaSet "web-1" has timed out progressing.',
    ],
    [
      "a StatefulSet becoming ready",
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "db", generation: 1 },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, readyReplicas: 1 },
      },
      "progressing",
      "1/2 replicas ready",
    ],
    [
      "a StatefulSet ready on its current revision",
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "db", generation: 1 },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, readyReplicas: 2, currentRevision: "r1", updateRevision: "r1" },
      },
      "complete",
      "2/2 replicas ready",
    ],
  ])("Given a workload %s, Then the rollout is %s: %s", (_, object, state, detail) => {
    expect(rolloutState(object)).toEqual({ state, detail });
  });
});
