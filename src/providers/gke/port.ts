/** A GKE cluster by its resource name parts: `projects/P/locations/L/clusters/N`. */
export interface ClusterRef {
  project: string;
  /** Zone or region. */
  location: string;
  name: string;
}

/** What `gcloud container clusters create N --machine-type M --num-nodes C --workload-pool P` asks for. */
export interface ClusterSpec {
  machineType: string;
  nodeCount: number;
  workloadPool: string;
  releaseChannel?: "RAPID" | "REGULAR" | "STABLE";
  labels?: Record<string, string>;
}

/** A cluster as GKE reports it, reduced to what clustershift compares and connects with. */
export interface GkeCluster {
  ref: ClusterRef;
  /** PROVISIONING, RUNNING, RECONCILING, STOPPING, ERROR, DEGRADED. */
  status: string;
  statusMessage?: string;
  /** IP address or host of the control plane; absent while provisioning. */
  endpoint?: string;
  /** Base64 PEM of the cluster CA. */
  caCertificate?: string;
  /** Machine type of the `default-pool` node pool (or the first pool). */
  machineType?: string;
  /** Initial node count of that pool. */
  nodeCount?: number;
  workloadPool?: string;
  releaseChannel?: string;
  labels: Record<string, string>;
}

/** A GKE long-running operation. */
export interface GkeOperation {
  /** Full name, `projects/P/locations/L/operations/ID`. */
  name: string;
  /** PENDING, RUNNING, DONE, ABORTING. */
  status: string;
  /** Set when the operation ended in error: the API's own words. */
  error?: string;
  /** `3/5 stages` when the API reports progress. */
  progress?: string;
}

/** The GKE cluster manager calls the steps need. */
export interface GkePort {
  /** Undefined when there is no such cluster. */
  getCluster(ref: ClusterRef): Promise<GkeCluster | undefined>;
  createCluster(ref: ClusterRef, spec: ClusterSpec): Promise<GkeOperation>;
  /** Undefined when the cluster was already gone. */
  deleteCluster(ref: ClusterRef): Promise<GkeOperation | undefined>;
  getOperation(name: string): Promise<GkeOperation>;
  close(): Promise<void>;
}

/** A GKE Hub long-running operation (`google.longrunning.Operation`). */
export interface HubOperation {
  name: string;
  done: boolean;
  /** Set when the operation ended in error. */
  error?: string;
}

export interface Membership {
  /** `projects/P/locations/L/memberships/M`. */
  name: string;
  /** `//container.googleapis.com/projects/P/locations/Z/clusters/C` for GKE members. */
  resourceLink?: string;
  /** CREATING, READY, DELETING, UPDATING, SERVICE_UPDATING. */
  state?: string;
}

/** One detail of a controlPlaneManagement or dataPlaneManagement state. */
export interface MeshStateDetail {
  code?: string;
  details?: string;
}

/** `membershipStates[key].servicemesh` plus the generic state of that membership. */
export interface MembershipMeshState {
  /** `controlPlaneManagement.state`: DISABLED, PROVISIONING, ACTIVE, FAILED_PRECONDITION, STALLED, NEEDS_ATTENTION, DEGRADED. */
  controlPlane?: string;
  controlPlaneDetails: MeshStateDetail[];
  /** `state.code`: OK, WARNING, ERROR. */
  code?: string;
  description?: string;
}

/** The fleet's `servicemesh` feature. Map keys are membership names, with project number or id. */
export interface MeshFeature {
  name: string;
  /** `resourceState.state`: ENABLING, ACTIVE, DISABLING, UPDATING, SERVICE_UPDATING. */
  state?: string;
  /** `membershipSpecs`, values as the API gives them (`{mesh: {management: ...}}`). */
  specs: Record<string, Record<string, unknown>>;
  states: Record<string, MembershipMeshState>;
}

/** The GKE Hub (fleet) calls the steps need, v1 REST. */
export interface HubPort {
  /** Undefined when there is no such membership. */
  getMembership(name: string): Promise<Membership | undefined>;
  /**
   * `gcloud container fleet memberships register`. A retry after a try whose answer was lost finds the
   * membership for this cluster: that answers an operation already done.
   */
  createMembership(name: string, cluster: ClusterRef): Promise<HubOperation>;
  /** Undefined when it was already gone. */
  deleteMembership(name: string): Promise<HubOperation | undefined>;
  /** Undefined when the feature is not enabled in the project. */
  getFeature(project: string): Promise<MeshFeature | undefined>;
  /** `gcloud container fleet mesh enable`; as with a membership, a retry that finds it enabled is done. */
  enableFeature(project: string): Promise<HubOperation>;
  /** Undefined when it was already disabled. */
  disableFeature(project: string): Promise<HubOperation | undefined>;
  /** PATCH `membershipSpecs` with `updateMask=membershipSpecs`: the given keys are replaced, others kept; `{}` clears one. */
  updateMembershipSpecs(
    project: string,
    specs: Record<string, Record<string, unknown>>,
  ): Promise<HubOperation>;
  getOperation(name: string): Promise<HubOperation>;
}
