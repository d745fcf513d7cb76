import type { AccessDecision, ResourceAttributes } from "./access.js";

/** A Kubernetes object as the API returns it; SDK types stay inside client.ts. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** A kind a group version serves, from discovery. */
export interface ApiResource {
  kind: string;
  /** Plural path segment: `deployments`. */
  name: string;
  namespaced: boolean;
  verbs: string[];
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Whether this context's user may do something (a SelfSubjectAccessReview): a question the server stores nothing
 * for, so readers may ask it. Optional so that test fakes need not answer it; preflight skips a port without it.
 */
export interface AccessReviewer {
  reviewAccess?(attributes: ResourceAttributes): Promise<AccessDecision>;
}

/** What the steps need of one cluster. One instance per kubeconfig context. */
export interface ClusterPort extends AccessReviewer {
  readonly context: string;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, options?: ListOptions): Promise<KubeObject[]>;
  /** Server-side apply, field manager `clustershift`, forced. Creates when absent. */
  apply(object: KubeObject): Promise<KubeObject>;
  /** Creates only: throws KubeApiError 409 (AlreadyExists) when it exists. */
  create(object: KubeObject): Promise<KubeObject>;
  /**
   * PUT the object as given (minus server-owned metadata) over the current one: exact restores.
   * Without `resourceVersion` it writes over whatever is there (creating it when absent); with it, only over
   * that version (compare-and-swap: KubeApiError 409 when someone else wrote in between).
   */
  replace(object: KubeObject, options?: { resourceVersion?: string }): Promise<KubeObject>;
  /** Deletes; false when it was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
  /**
   * The server's clock (its HTTP `Date`: epoch ms, true time within [ms, ms + resolutionMs)); optional so that
   * test fakes need not tell it.
   */
  serverTime?(): Promise<{ ms: number; resolutionMs: number }>;
  /** Versions the cluster serves for an API group, preferred first (`["v1", "v1beta1"]`); empty when none. */
  servedVersions(group: string): Promise<string[]>;
  /** Kinds served at `apiVersion` (`apps/v1`), without subresources; empty when it is not served. */
  apiResources(apiVersion: string): Promise<ApiResource[]>;
  /** Resolves when the Deployment/StatefulSet rollout is complete; rejects on ProgressDeadlineExceeded or timeout. */
  waitForRollout(ref: ObjectRef, timeoutMs: number, onProgress: (detail: string) => void): Promise<void>;
  /** Resolves with the object once `ready` returns a value for it; rejects on timeout. */
  waitFor<T>(
    ref: ObjectRef,
    ready: (object: KubeObject | undefined) => T | undefined,
    timeoutMs: number,
    onProgress: (detail: string) => void,
  ): Promise<T>;
}
