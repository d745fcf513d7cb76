import type { KubeconfigPatch } from "../kubernetes/kubeconfig-file.js";

/** What `gcloud container clusters get-credentials` writes, with the context renamed to `context`. */
export function gkeKubeconfigPatch(
  cluster: { project: string; location: string; name: string; endpoint: string; caCertificate?: string },
  context: string,
): KubeconfigPatch {
  const entry = `gke_${cluster.project}_${cluster.location}_${cluster.name}`;
  return {
    clusters: {
      [entry]: {
        ...(cluster.caCertificate ? { "certificate-authority-data": cluster.caCertificate } : {}),
        server: `https://${cluster.endpoint}`,
      },
    },
    users: {
      [entry]: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "gke-gcloud-auth-plugin",
          installHint:
            "Install gke-gcloud-auth-plugin for use with kubectl by following " +
            "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin",
          provideClusterInfo: true,
        },
      },
    },
    contexts: { [context]: { cluster: entry, user: entry } },
  };
}
