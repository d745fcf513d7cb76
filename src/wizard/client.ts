import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RuntimeError } from "../engine/errors.js";
import type { RunOptions } from "../engine/types.js";
import { loadKubeConfig } from "../providers/kubernetes/client.js";
import { cluster } from "../providers/kubernetes/index.js";
import type { ClusterPort, KubeObject } from "../providers/kubernetes/port.js";
import { istioApiVersion } from "../steps/expose-target/istio.js";
import type { ContextInfo, HostedZoneInfo, WizardDeps } from "./deps.js";
import { gatewaysOf, ingressServicesOf, virtualServicesOf } from "./discover.js";

export interface LiveDepsOptions {
  /** KUBECONFIG-style path list; absent: `$KUBECONFIG`, then `~/.kube/config`. */
  kubeconfig?: string;
}

/** How long listing hosted zones may take before the wizard asks for the zone as text. */
const ZONES_TIMEOUT_MS = 10_000;

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
    contexts() {
      const { config } = loadKubeConfig(options.kubeconfig);
      const current = config.getCurrentContext();
      return Promise.resolve(
        config.getContexts().map((context): ContextInfo => {
          const server = config.getCluster(context.cluster)?.server ?? "";
          return {
            name: context.name,
            server,
            current: context.name === current,
            sandbox: isSandboxServer(server),
          };
        }),
      );
    },
    namespaces: (context) =>
      read(context, "namespaces", async (port) =>
        (await port.list("v1", "Namespace")).map((ns) => ns.metadata.name).sort((a, b) => a.localeCompare(b)),
      ),
    ingressServices: (context) =>
      read(context, "Services", async (port) => ingressServicesOf(await port.list("v1", "Service"))),
    gateways: async (context) => gatewaysOf(await istio(context, "Gateway")),
    virtualServices: async (context) => virtualServicesOf(await istio(context, "VirtualService")),
    hostedZones: () => listHostedZones(ZONES_TIMEOUT_MS),
  };
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

async function listHostedZones(timeoutMs: number): Promise<HostedZoneInfo[]> {
  if (!awsCredentialsConfigured())
    throw new RuntimeError("cannot list Route 53 hosted zones: no AWS credentials configured");
  // On Node 20 the SDK warns on stderr that later versions need Node 22: in the middle of a prompt's screen.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Loaded only when needed: the SDK takes a while to import.
  const { ListHostedZonesCommand, Route53Client } = await import("@aws-sdk/client-route-53");
  // Route 53 is global: the region only picks the partition and the signing region. The SDK reads
  // AWS_ENDPOINT_URL_ROUTE_53 / AWS_ENDPOINT_URL itself.
  const client = new Route53Client({
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    maxAttempts: 2,
  });
  const abortSignal = AbortSignal.timeout(timeoutMs);
  try {
    const zones: HostedZoneInfo[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(
        new ListHostedZonesCommand(marker === undefined ? {} : { Marker: marker }),
        {
          abortSignal,
        },
      );
      for (const zone of page.HostedZones ?? []) {
        if (!zone.Id || !zone.Name) continue;
        zones.push({
          id: zone.Id.replace(/^\/hostedzone\//, ""),
          name: zone.Name,
          private: zone.Config?.PrivateZone ?? false,
        });
      }
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    return zones.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  } catch (error) {
    throw new RuntimeError(`cannot list Route 53 hosted zones: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    client.destroy();
  }
}
