/** A cluster of the running sandbox, as its control API reports it. `token` is a credential: never print it. */
export interface SandboxCluster {
  name: string;
  /** What a kubeconfig names: `https://127.0.0.1:PORT` (self-signed), or plain `http://` from older sandboxes. */
  server: string;
  token: string;
}

/** Adds and removes clusters of a running sandbox (`clustershift sandbox`) through its control API. */
export interface SandboxProvisionerPort {
  /** The control API's base URL, for messages. */
  readonly url: string;
  /** Undefined when the sandbox has no cluster of that name. */
  getCluster(name: string): Promise<SandboxCluster | undefined>;
  addCluster(name: string): Promise<SandboxCluster>;
  /** False when it was already gone. */
  removeCluster(name: string): Promise<boolean>;
}
