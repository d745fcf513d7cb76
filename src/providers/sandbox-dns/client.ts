import type { KubeConfig } from "@kubernetes/client-node";
import { RuntimeError } from "../../engine/errors.js";
import { sleep } from "../../engine/sleep.js";
import { jitteredBackoffMs } from "../backoff.js";
import { kubeConfigFor } from "../kubernetes/client.js";
import { requestWithContext } from "../kubernetes/context-request.js";
import { isRetryableNetworkError, isRetryableStatus } from "../kubernetes/retry.js";
import { fqdn } from "../route53/names.js";
import {
  BatchRejectedError,
  type ChangeInfo,
  type DnsPort,
  type NameServer,
  type NameServers,
  type RecordChange,
  type RecordSet,
  type Soa,
  type WaitOptions,
  type Zone,
  type ZoneRef,
} from "../route53/port.js";
import { pollUntilInSync } from "../route53/wait.js";
import { checkZoneName, selectZone, zoneRefName } from "../route53/zones.js";

export interface SandboxDnsClientOptions {
  /** The kubeconfig context of a sandbox cluster: its server and token reach the DNS service too. */
  context: string;
  /** KUBECONFIG-style path list; default `$KUBECONFIG`, then `~/.kube/config`. */
  kubeconfig?: string;
  /** The run's signal: no call or retry starts once it is aborted, and its reason is thrown. */
  signal?: AbortSignal;
  /** How long the check after a change waits for a name server still answering the old records. Default 10 s. */
  settleMs?: number;
}

/** Tries per call, the first included: the Route 53 client's default. */
const ATTEMPTS = 6;

/** A sandbox DNS change stays PENDING for a second or two (`pendingMs`), not Route 53's minute. */
const SYNC_TIMING = { intervalMs: 250, timeoutMs: 60_000 };

/** The sandbox DNS (`src/sandbox/dns`) over HTTP, at `/sandbox/v1/dns` of a sandbox cluster's API port. */
export class SandboxDnsClient implements DnsPort {
  readonly label = "sandbox-dns";
  private readonly config: KubeConfig;
  private readonly base: string;

  constructor(private readonly options: SandboxDnsClientOptions) {
    const { config } = kubeConfigFor(
      options.context,
      options.kubeconfig,
      (where) =>
        new RuntimeError(
          `dns.provider sandbox: the kubeconfig context "${options.context}" (spec.source.context) is not in ${where}; start the sandbox first`,
        ),
    );
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new RuntimeError(`kubeconfig context "${options.context}" names no cluster server`);
    this.config = config;
    this.base = `${server.replace(/\/+$/, "")}/sandbox/v1/dns`;
  }

  async findZone(ref: ZoneRef): Promise<Zone> {
    if (ref.zoneId !== undefined) {
      return checkZoneName(
        (await this.request("GET", `/zones/${encodeURIComponent(ref.zoneId)}`)) as Zone,
        ref,
      );
    }
    const name = fqdn(zoneRefName(ref));
    const { zones } = (await this.request("GET", `/zones?name=${encodeURIComponent(name)}`)) as {
      zones: Zone[];
    };
    return selectZone(zones, name, `the sandbox DNS at ${this.base}`);
  }

  async listRecordSets(zone: Zone, name: string): Promise<RecordSet[]> {
    const path = `/zones/${encodeURIComponent(zone.id)}/records?name=${encodeURIComponent(fqdn(name))}`;
    return ((await this.request("GET", path)) as { records: RecordSet[] }).records;
  }

  /** Every zone of the sandbox DNS, sorted by name then id: for choosing one (the wizard). Reads only. */
  async listZones(): Promise<Zone[]> {
    const { zones } = (await this.request("GET", "/zones")) as { zones: Zone[] };
    return [...zones].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Every record set of the zone: for choosing one (the wizard). Reads only. */
  async listAllRecordSets(zone: Zone): Promise<RecordSet[]> {
    const path = `/zones/${encodeURIComponent(zone.id)}/records`;
    return ((await this.request("GET", path)) as { records: RecordSet[] }).records;
  }

  async changeRecordSets(zone: Zone, changes: RecordChange[], comment: string): Promise<ChangeInfo> {
    return (await this.request("POST", `/zones/${encodeURIComponent(zone.id)}/changes`, {
      changes,
      comment,
    })) as ChangeInfo;
  }

  async waitForChange(change: ChangeInfo, options: WaitOptions): Promise<void> {
    await pollUntilInSync(
      change,
      async (id) => ((await this.request("GET", `/changes/${encodeURIComponent(id)}`)) as ChangeInfo).status,
      SYNC_TIMING,
      options,
    );
  }

  /** The zone's name servers: the sandbox DNS serves each on its own loopback UDP port. */
  async nameServers(zone: Zone): Promise<NameServers> {
    if (zone.private) {
      // As in Route 53: a private zone has no public name servers; only resolvers inside its VPCs answer it.
      return {
        kind: "unreachable",
        reason: `${zone.name} is a private zone: only resolvers inside its VPCs answer for it`,
      };
    }
    const { nameServers } = await this.authority(zone);
    if (nameServers.length === 0) return { kind: "unreachable", reason: `${zone.name} has no name servers` };
    return { kind: "servers", servers: nameServers, settleMs: this.options.settleMs ?? 10_000 };
  }

  async soa(zone: Zone): Promise<Soa | undefined> {
    return (await this.authority(zone)).soa;
  }

  private async authority(zone: Zone): Promise<{ soa?: Soa; nameServers: NameServer[] }> {
    return (await this.request("GET", `/zones/${encodeURIComponent(zone.id)}/authority`)) as {
      soa?: Soa;
      nameServers: NameServer[];
    };
  }

  /**
   * One call, retried like the Route 53 SDK retries: on a lost connection, 429 and 5xx. A retried batch cannot
   * apply twice: its exact DELETEs refuse it once an earlier try went through (see the DNS steps' `submit`).
   */
  private async request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const url = `${this.base}${path}`;
    let reply: { status: number; body: unknown } | undefined;
    const { signal } = this.options;
    for (let attempt = 0; reply === undefined; attempt++) {
      if (signal?.aborted) throw signal.reason;
      const last = attempt + 1 >= ATTEMPTS;
      try {
        const { status, text } = await requestWithContext(this.config, method, url, body, { signal });
        if (!last && isRetryableStatus(status)) {
          await sleep(jitteredBackoffMs(attempt, 100, 2_000, Math.random), signal);
          continue;
        }
        reply = { status, body: parseBody(text) };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!last && isRetryableNetworkError(error)) {
          await sleep(jitteredBackoffMs(attempt, 100, 2_000, Math.random), signal);
          continue;
        }
        throw new RuntimeError(
          `cannot reach the sandbox DNS at ${url} (${(error as Error).message}): is the sandbox of context "${this.options.context}" running?`,
          { cause: error },
        );
      }
    }
    if (reply.status < 300) return reply.body;
    // Our own errors carry `code`; the sandbox's API server answers with a Kubernetes Status (`reason`).
    const { code, reason, message } = (reply.body ?? {}) as {
      code?: unknown;
      reason?: unknown;
      message?: unknown;
    };
    const name = typeof code === "string" ? code : typeof reason === "string" ? reason : String(reply.status);
    const said = `${name}: ${typeof message === "string" ? message : "(no message)"}`;
    if (name === "InvalidChangeBatch")
      throw new BatchRejectedError(typeof message === "string" ? message : said);
    if (reply.status === 401 || reply.status === 403) {
      throw new RuntimeError(
        `the sandbox DNS at ${url} refused the credentials of context "${this.options.context}" (${said})`,
      );
    }
    if (name === "NoSuchHostedZone") {
      throw new RuntimeError(
        `the sandbox DNS at ${this.base} has no such hosted zone (${said}): check dns.zoneId`,
      );
    }
    if (reply.status === 404 && name !== "NoSuchChange") {
      throw new RuntimeError(
        `the sandbox at ${this.base} serves no DNS (${said}): start it with the DNS extension`,
      );
    }
    throw new RuntimeError(`sandbox DNS ${method} ${path}: ${said}`);
  }
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 200) };
  }
}
