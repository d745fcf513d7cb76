import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";

/**
 * The parts of a node that a control plane without kubelets lacks, for tests only: one Node, Pods bound to it and
 * marked Running and Ready (a real kubelet's status), Pods being deleted removed once their grace starts (a real
 * kubelet confirms the kill with a delete of grace 0), and LoadBalancer Services given an address (a cloud
 * controller's job). Everything else (Deployments, ReplicaSets, garbage collection, namespace deletion) is done
 * by the real kube-controller-manager.
 */
export interface FakeKubelet {
  stop(): Promise<void>;
}

export const FAKE_NODE = "fake-node";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export async function startFakeKubelet(
  kc: KubeConfig,
  options: { addressBlock: number },
): Promise<FakeKubelet> {
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNode(core);
  let podIp = 1;
  let lbIp = 1;
  const pending = new Set<string>();
  // An event that arrives while the object's last write is in flight is handled again once that write ends
  // (the informer sends no further event for an object nobody changes).
  const deferred = new Map<string, () => void>();
  const once = (key: string, work: () => Promise<unknown>, again: () => void) => {
    if (pending.has(key)) {
      deferred.set(key, again);
      return;
    }
    pending.add(key);
    void work()
      .catch((error: unknown) => {
        // A write that failed for any reason but the object's being gone is tried again a little later.
        if ((error as { code?: number }).code !== 404 && !deferred.has(key)) {
          deferred.set(key, () => setTimeout(again, 500));
        }
      })
      .finally(() => {
        pending.delete(key);
        const next = deferred.get(key);
        deferred.delete(key);
        next?.();
      });
  };

  const onPod = (pod: V1Pod) => {
    const { name = "", namespace = "" } = pod.metadata ?? {};
    const key = `pod/${namespace}/${name}`;
    const again = () => {
      const latest = podCache().get(name, namespace);
      if (latest) onPod(latest);
    };
    if (pod.metadata?.deletionTimestamp) {
      once(key, () => core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }), again);
    } else if (!pod.spec?.nodeName) {
      once(
        key,
        () =>
          core.createNamespacedBinding({
            namespace,
            body: {
              apiVersion: "v1",
              kind: "Binding",
              metadata: { name, namespace },
              target: { apiVersion: "v1", kind: "Node", name: FAKE_NODE },
            },
          }),
        again,
      );
    } else if (!pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) {
      const ip = `10.${options.addressBlock}.${Math.floor(podIp / 250)}.${(podIp % 250) + 1}`;
      podIp++;
      once(
        key,
        () => core.patchNamespacedPodStatus({ name, namespace, body: runningStatus(pod, ip) }, mergePatch),
        again,
      );
    }
  };

  const onService = (service: V1Service) => {
    if (service.spec?.type !== "LoadBalancer" || service.status?.loadBalancer?.ingress?.length) return;
    const { name = "", namespace = "" } = service.metadata ?? {};
    const ip = `127.0.${options.addressBlock}.${lbIp++}`;
    const again = () => {
      const latest = serviceCache().get(name, namespace);
      if (latest) onService(latest);
    };
    once(
      `service/${namespace}/${name}`,
      () =>
        core.patchNamespacedServiceStatus(
          { name, namespace, body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
          mergePatch,
        ),
      again,
    );
  };

  const pods = watchAll<V1Pod>(kc, "/api/v1/pods", () => core.listPodForAllNamespaces(), onPod);
  const services = watchAll<V1Service>(
    kc,
    "/api/v1/services",
    () => core.listServiceForAllNamespaces(),
    onService,
  );
  const podCache = () => pods;
  const serviceCache = () => services;
  const informers = [pods, services];
  await Promise.all(informers.map((informer) => informer.start()));
  return {
    async stop() {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}

function watchAll<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
  handle: (object: T) => void,
): Informer<T> & ObjectCache<T> {
  const informer = makeInformer<T>(kc, path, list);
  informer.on("add", handle);
  informer.on("update", handle);
  informer.on("error", () => {
    // The informer stops on an error (a dropped watch): start it again unless it was stopped on purpose.
    setTimeout(() => void informer.start().catch(() => undefined), 500);
  });
  return informer;
}

async function ensureNode(core: CoreV1Api): Promise<void> {
  await core
    .createNode({
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: FAKE_NODE, labels: { "kubernetes.io/hostname": FAKE_NODE } },
      },
    })
    .catch(() => undefined);
  const capacity = { cpu: "64", memory: "256Gi", pods: "1000" };
  await core.patchNodeStatus(
    {
      name: FAKE_NODE,
      body: {
        status: {
          capacity,
          allocatable: capacity,
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "fake kubelet" }],
          addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
        },
      },
    },
    mergePatch,
  );
}

function runningStatus(pod: V1Pod, ip: string): object {
  const now = new Date().toISOString();
  const condition = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  const containerStatus = (container: { name: string; image?: string }) => ({
    name: container.name,
    image: container.image ?? "",
    imageID: "",
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: now } },
  });
  return {
    status: {
      phase: "Running",
      hostIP: "127.0.0.1",
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map(condition),
      containerStatuses: (pod.spec?.containers ?? []).map(containerStatus),
    },
  };
}
