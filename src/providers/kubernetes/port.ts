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

/**
 * What `plan`, `verify`, `status` and gates may use of a cluster: reads, discovery, watches and access reviews,
 * never a write (client-go's listers against its clientsets). A step's `plan` and `verify` get this type from
 * `cluster(ctx, …)`: a write there does not compile.
 */
export interface ClusterReader extends AccessReviewer {
  readonly context: string;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, options?: ListOptions): Promise<KubeObject[]>;
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

/** What the steps need of one cluster to carry out a plan: the reads, and the writes. One per kubeconfig context. */
export interface ClusterPort extends ClusterReader {
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
}

/** The methods of {@link ClusterPort} that write. */
export type ClusterWrites = "apply" | "create" | "replace" | "delete";

/**
 * What `cluster(ctx, …)` hands `plan`, `verify`, `status` and gates: a {@link ClusterReader} whose writes are typed
 * `never`, so that calling one does not compile. They are there as `never`, rather than absent, only so that step
 * helpers still typed `ClusterPort` for their reads accept it while the steps move to planners over readers
 * (issue 11.1); once every helper takes `ClusterReader`, this can be `ClusterReader` itself.
 */
export type ReadOnlyCluster = ClusterReader & { readonly [K in ClusterWrites]: never };
