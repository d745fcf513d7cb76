import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { RuntimeError } from "../engine/errors.js";
import type { RunOptions } from "../engine/types.js";
import { loadKubeConfig } from "../providers/kubernetes/client.js";
import { cluster } from "../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject } from "../providers/kubernetes/port.js";
import { istioApiVersion } from "../steps/expose-target/istio.js";
import { Route53Dns } from "../providers/route53/client.js";
import type { Zone } from "../providers/route53/port.js";
import { SandboxDnsClient } from "../providers/sandbox-dns/client.js";
import type { ContextInfo, HostedZoneInfo, WizardDeps } from "./deps.js";
import {
  exposedServicesOf,
  gatewaysOf,
  ingressServicesOf,
  movableRecordsOf,
  virtualServicesOf,
} from "./discover.js";

export interface LiveDepsOptions {
  /** KUBECONFIG-style path list; absent: `$KUBECONFIG`, then `~/.kube/config`. */
  kubeconfig?: string;
}

/** How long listing hosted zones or records may take before the wizard asks for them as text. */
const DNS_TIMEOUT_MS = 10_000;

/** The wizard's view of the real kubeconfig, clusters and Route 53. */
export function liveWizardDeps(options: LiveDepsOptions = {}): WizardDeps {
  const runOptions: RunOptions = {
    playbookFile: "",
    stateDir: "",
    nonInteractive: false,
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
  };
  const ctx = { clients: new Map<string, unknown>(), options: runOptions };

  async function read<T>(
    context: string,
    what: string,
    action: (port: ClusterPort) => Promise<T>,
  ): Promise<T> {
    try {
      return await action(cluster(ctx, context));
    } catch (error) {
      throw new RuntimeError(`cannot list ${what} of context ${context}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Istio objects at the newest version the cluster serves; none when Istio's CRDs are not installed. */
  async function istio(context: string, kind: string): Promise<KubeObject[]> {
    return read(context, `Istio ${kind}s`, async (port) => {
      const apiVersion = await istioApiVersion(port);
      return apiVersion === undefined ? [] : port.list(apiVersion, kind);
    });
  }

  return {
    // A promise that rejects, not a throw: callers handle both the same way then.
    contexts: () =>
      Promise.resolve().then(() => {
        const { config } = loadContexts(options.kubeconfig);
        const current = config.getCurrentContext();
        return config.getContexts().map((context): ContextInfo => {
          const server = config.getCluster(context.cluster)?.server ?? "";
          return {
            name: context.name,
            server,
            current: context.name === current,
            sandbox: isSandboxServer(server),
          };
        });
      }),
    namespaces: (context) =>
      read(context, "namespaces", async (port) =>
        (await port.list("v1", "Namespace")).map((ns) => ns.metadata.name).sort((a, b) => a.localeCompare(b)),
      ),
    ingressServices: (context) =>
      read(context, "Services", async (port) => ingressServicesOf(await port.list("v1", "Service"))),
    gateways: async (context) => gatewaysOf(await istio(context, "Gateway")),
    virtualServices: async (context) => virtualServicesOf(await istio(context, "VirtualService")),
    namespaceLabels: (context, name) =>
      read(context, `namespace ${name}`, async (port) => {
        const namespace = await port.get({ apiVersion: "v1", kind: "Namespace", name });
        return namespace === undefined ? undefined : (namespace.metadata.labels ?? {});
      }),
    exposedServices: (context, namespaces) =>
      read(context, "Services", async (port) =>
        exposedServicesOf(await port.list("v1", "Service"), namespaces),
      ),
    ...dnsCatalog(options.kubeconfig),
  };
}

/** Where no kubeconfig was found, and how to get one: the wizard's choices all start from its contexts. */
export function noKubeconfigMessage(what: string): string {
  return [
    `no kubeconfig: ${what}. The wizard offers a kubeconfig's contexts as the source and target clusters.`,
    "Get one from your cloud, e.g. `gcloud container clusters get-credentials CLUSTER --location LOCATION`,",
    "and point KUBECONFIG at it; or rehearse on local clusters: in another terminal",
    "  clustershift sandbox --seed online-boutique --kubeconfig sandbox.kubeconfig",
    "then",
    "  KUBECONFIG=sandbox.kubeconfig clustershift wizard",
  ].join("\n");
}

/**
 * The kubeconfig's contexts; never client-node's stand-in: with no file at all, `loadFromDefault` makes up a
 * context `loaded-context` for http://localhost:8080 that leads nowhere. Inside a pod the in-cluster config
 * stays (a context that works).
 */
function loadContexts(kubeconfig: string | undefined): { config: KubeConfig; where: string } {
  const list = kubeconfig ?? process.env.KUBECONFIG;
  if (list === undefined || list === "") {
    const file = join(homedir(), ".kube", "config");
    if (!existsSync(file) && process.env.KUBERNETES_SERVICE_HOST === undefined) {
      throw new RuntimeError(noKubeconfigMessage(`KUBECONFIG is not set and ${file} does not exist`));
    }
  } else if (!list.split(delimiter).some((file) => file !== "" && existsSync(file))) {
    throw new RuntimeError(noKubeconfigMessage(`KUBECONFIG=${list}: no such file`));
  }
  const loaded = loadKubeConfig(kubeconfig);
  if (loaded.config.getContexts().length === 0) {
    throw new RuntimeError(noKubeconfigMessage(`${loaded.where} has no contexts`));
  }
  return loaded;
}

/**
 * The sandbox serves its clusters on loopback ports; a cluster of a cloud is reached at a routable address. That
 * is the sign the wizard uses to offer "a new sandbox cluster" as the target. A kind or minikube cluster on
 * loopback gets the offer too; choosing it there fails at plan time, with the sandbox provider's message.
 */
export function isSandboxServer(server: string): boolean {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(server).hostname);
  } catch {
    return false;
  }
}

/**
 * Only with credentials configured: without them the SDK's default chain ends at the EC2 instance metadata
 * service, which off EC2 costs seconds of timeouts before failing anyway.
 */
function awsCredentialsConfigured(): boolean {
  const env = process.env;
  if (
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI
  ) {
    return true;
  }
  const dir = join(homedir(), ".aws");
  return [
    env.AWS_SHARED_CREDENTIALS_FILE ?? join(dir, "credentials"),
    env.AWS_CONFIG_FILE ?? join(dir, "config"),
  ].some((file) => existsSync(file));
}

/** The zones and records the wizard offers, through the product's own DNS clients (reads only). */
function dnsCatalog(kubeconfig: string | undefined): Pick<WizardDeps, "dnsZones" | "dnsRecords"> {
  const route53 = memo(() => {
    if (!awsCredentialsConfigured())
      throw new RuntimeError("cannot list Route 53 hosted zones: no AWS credentials configured");
    return new Route53Dns({ maxAttempts: 2 });
  });
  const sandboxes = new Map<string, SandboxDnsClient>();
  const sandbox = (context: string) => {
    let client = sandboxes.get(context);
    if (!client) {
      client = new SandboxDnsClient({ context, ...(kubeconfig === undefined ? {} : { kubeconfig }) });
      sandboxes.set(context, client);
    }
    return client;
  };
  const zoneOf = (zone: HostedZoneInfo): Zone => ({ id: zone.id, name: zone.name, private: zone.private });
  return {
    async dnsZones(provider, context) {
      if (provider === "route53") {
        return withTimeout("cannot list Route 53 hosted zones", (signal) => route53().listZones({ signal }));
      }
      try {
        return await sandbox(context).listZones();
      } catch (error) {
        throw new RuntimeError(`cannot list the sandbox DNS zones: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
    async dnsRecords(provider, context, zone) {
      const records =
        provider === "route53"
          ? await withTimeout(`cannot list the records of ${zone.name}`, (signal) =>
              route53().listAllRecordSets(zoneOf(zone), { signal }),
            )
          : await sandbox(context).listAllRecordSets(zoneOf(zone));
      return movableRecordsOf(records);
    },
  };
}

function memo<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** A slow or unreachable Route 53 costs the user {@link DNS_TIMEOUT_MS}, then the wizard asks for text. */
async function withTimeout<T>(what: string, action: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await action(AbortSignal.timeout(DNS_TIMEOUT_MS));
  } catch (error) {
    const message = (error as Error).message;
    throw new RuntimeError(message.startsWith("cannot ") ? message : `${what}: ${message}`, { cause: error });
  }
}
