import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type HostedZone,
  type ResourceRecordSet,
  type RRType,
} from "@aws-sdk/client-route-53";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { RuntimeError } from "../../engine/errors.js";
import { formatDuration } from "../../playbook/duration.js";
import { fqdn } from "./names.js";
import {
  BatchRejectedError,
  type ChangeInfo,
  type DnsPort,
  type NameServers,
  parseSoa,
  type RecordChange,
  type RecordSet,
  type Soa,
  type WaitOptions,
  type Zone,
  type ZoneRef,
} from "./port.js";
import { recordKey } from "./records.js";
import { resolveHosts } from "./resolve.js";
import { pollUntilInSync } from "./wait.js";
import { checkZoneName, selectZone, zoneRefName } from "./zones.js";

export interface Route53Options {
  /** Default: the SDK's own, from `AWS_ENDPOINT_URL_ROUTE_53`, then `AWS_ENDPOINT_URL`, then AWS. */
  endpoint?: string;
  /** Route 53 is global; the region only picks the partition and signing region. */
  region?: string;
  /** Default: `AWS_PROFILE`, through the SDK's default credential chain. */
  profile?: string;
  /** Attempts per call; the SDK's standard retry strategy backs off on Throttling and PriorRequestNotComplete. */
  maxAttempts?: number;
  /** GetChange polling while PENDING. */
  pollIntervalMs?: number;
  syncTimeoutMs?: number;
  /** MaxItems of ListResourceRecordSets and ListHostedZonesByName pages. */
  pageSize?: number;
  /** Per DNS query when verifying at the authoritative name servers. */
  resolverTimeoutMs?: number;
  /** Query these (`ip` or `ip:port`) instead of the zone's delegation set, e.g. a VPC resolver for a private zone. */
  verifyServers?: string[];
  /**
   * Where to ask the delegation set's name servers (`host` → `ip` or `ip:port`) instead of resolving their
   * names: a split-horizon network, or a test that serves the zone on loopback. Hosts not listed are resolved.
   */
  nameServerAddresses?: Record<string, string>;
  /** How long the check after a change waits for a name server that still answers the old records. Default 60 s. */
  settleMs?: number;
  /**
   * The run's signal (SIGINT, SIGTERM): every API call stops with its reason. `dnsProvider` passes the run's;
   * a call also gives up after `callTimeoutMs` (default 2 min, retries included).
   */
  signal?: AbortSignal;
  callTimeoutMs?: number;
  /** Per attempt: TCP connect (default 10 s) and the wait for a reply (default 30 s); the SDK then retries. */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long the credential chain may take; default {@link CREDENTIALS_TIMEOUT_MS}. */
  credentialsTimeoutMs?: number;
}

const RETRIED = new Set(["Throttling", "ThrottlingException", "PriorRequestNotComplete"]);
const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
]);

/**
 * How long the SDK's credential chain may take: a `credential_process` or an SSO token refresh that hangs would
 * otherwise hang every Route 53 call, before any deadline of the call itself starts.
 */
export const CREDENTIALS_TIMEOUT_MS = 30_000;

type CredentialProvider = ReturnType<typeof defaultProvider>;

/** The provider, failing with what to check when it has given no credentials within `timeoutMs`. */
export function credentialsWithin(provider: CredentialProvider, timeoutMs: number): CredentialProvider {
  return async (options) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `the AWS credential chain gave no credentials within ${timeoutMs / 1000}s (a credential_process ` +
                "or SSO login that does not finish?)",
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([provider(options), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Route 53 through `@aws-sdk/client-route-53`, credentials from the SDK's default chain. */
export class Route53Dns implements DnsPort {
  readonly label = "route53";
  private readonly client: Route53Client;
  private readonly endpoint: string | undefined;

  constructor(private readonly options: Route53Options = {}) {
    // clustershift supports Node 20; the SDK's notice that its 2027 releases will not would land in our output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    this.endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_ROUTE_53 ?? process.env.AWS_ENDPOINT_URL;
    this.client = new Route53Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
      maxAttempts: options.maxAttempts ?? 6,
      // A black-holed endpoint must not hang a run: each attempt has a connect and a reply deadline.
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 10_000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
      },
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      credentials: credentialsWithin(
        defaultProvider(options.profile === undefined ? {} : { profile: options.profile }),
        options.credentialsTimeoutMs ?? CREDENTIALS_TIMEOUT_MS,
      ),
    });
  }

  async findZone(ref: ZoneRef): Promise<Zone> {
    if (ref.zoneId !== undefined) {
      const { HostedZone } = await this.call(`reading hosted zone ${ref.zoneId}`, (abortSignal) =>
        this.client.send(new GetHostedZoneCommand({ Id: ref.zoneId }), { abortSignal }),
      );
      return checkZoneName(zoneOf(required(HostedZone, "HostedZone")), ref);
    }
    const name = fqdn(zoneRefName(ref));
    const zones: Zone[] = [];
    let next: { DNSName?: string; HostedZoneId?: string } = { DNSName: name };
    for (;;) {
      const page = await this.call(`looking up hosted zone ${name}`, (abortSignal) =>
        this.client.send(
          new ListHostedZonesByNameCommand({ ...next, MaxItems: this.options.pageSize ?? 100 }),
          { abortSignal },
        ),
      );
      zones.push(...(page.HostedZones ?? []).map(zoneOf));
      // Zones come sorted by name from DNSName on: once past the name, no further page can hold it.
      if (!page.IsTruncated || page.NextDNSName === undefined || fqdn(page.NextDNSName) !== name) break;
      next = {
        DNSName: page.NextDNSName,
        ...(page.NextHostedZoneId ? { HostedZoneId: page.NextHostedZoneId } : {}),
      };
    }
    return selectZone(zones, name, `the AWS account of ${this.credentialSource()}`);
  }

  async listRecordSets(zone: Zone, name: string): Promise<RecordSet[]> {
    const wanted = fqdn(name);
    const found = new Map<string, RecordSet>();
    let start: PageStart = { StartRecordName: wanted };
    for (;;) {
      const page = await this.recordPage(zone, start, `listing ${wanted} in zone ${zone.name}`);
      for (const set of page.ResourceRecordSets ?? []) {
        // Sets come in Route 53's order from the start name on; the first other name ends ours.
        if (fqdn(set.Name ?? "") !== wanted) return [...found.values()];
        const record = fromSdk(set);
        found.set(recordKey(record), record);
      }
      if (!page.IsTruncated || fqdn(page.NextRecordName ?? "") !== wanted) return [...found.values()];
      const next = nextStart(page, wanted);
      if (
        next.StartRecordType === start.StartRecordType &&
        next.StartRecordIdentifier === start.StartRecordIdentifier
      ) {
        throw new RuntimeError(
          `listing ${wanted} in zone ${zone.name}: the record set pages do not advance past ${wanted} ${next.StartRecordType ?? ""}; ` +
            "cannot read the whole record. This is a bug of the Route 53 endpoint in use.",
        );
      }
      start = next;
    }
  }

  /** One page of the zone's record sets from `start` on, in Route 53's order. */
  private recordPage(zone: Zone, start: PageStart, what: string, signal?: AbortSignal) {
    return this.call(
      what,
      (abortSignal) =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zone.id,
            MaxItems: this.options.pageSize ?? 300,
            ...start,
          }),
          { abortSignal },
        ),
      signal,
    );
  }

  /** Every hosted zone of the account, sorted by name then id: for choosing one (the wizard). Reads only. */
  async listZones(options: { signal?: AbortSignal } = {}): Promise<Zone[]> {
    const zones: Zone[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call(
        "listing hosted zones",
        (abortSignal) =>
          this.client.send(
            new ListHostedZonesCommand({
              MaxItems: this.options.pageSize ?? 100,
              ...(marker === undefined ? {} : { Marker: marker }),
            }),
            { abortSignal },
          ),
        options.signal,
      );
      zones.push(...(page.HostedZones ?? []).map(zoneOf));
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    return zones.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Every record set of the zone, in Route 53's order: for choosing one (the wizard). Reads only. */
  async listAllRecordSets(zone: Zone, options: { signal?: AbortSignal } = {}): Promise<RecordSet[]> {
    const found: RecordSet[] = [];
    let start: PageStart = {};
    for (;;) {
      const page = await this.recordPage(
        zone,
        start,
        `listing the records of zone ${zone.name}`,
        options.signal,
      );
      found.push(...(page.ResourceRecordSets ?? []).map(fromSdk));
      if (!page.IsTruncated || page.NextRecordName === undefined) return found;
      start = nextStart(page, page.NextRecordName);
    }
  }

  async changeRecordSets(zone: Zone, changes: RecordChange[], comment: string): Promise<ChangeInfo> {
    const { ChangeInfo } = await this.call(
      `changing ${describeNames(changes)} in zone ${zone.name}`,
      (abortSignal) =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone.id,
            ChangeBatch: {
              Comment: comment,
              Changes: changes.map(({ action, record }) => ({
                Action: action,
                ResourceRecordSet: toSdk(record),
              })),
            },
          }),
          { abortSignal },
        ),
      undefined,
      "write",
    );
    return changeOf(required(ChangeInfo, "ChangeInfo"));
  }

  async waitForChange(change: ChangeInfo, options: WaitOptions): Promise<void> {
    await pollUntilInSync(
      change,
      async (id) => {
        const { ChangeInfo } = await this.call(`reading DNS change ${id}`, (abortSignal) =>
          this.client.send(new GetChangeCommand({ Id: id }), { abortSignal }),
        );
        return changeOf(required(ChangeInfo, "ChangeInfo")).status;
      },
      {
        intervalMs: this.options.pollIntervalMs ?? 5000,
        timeoutMs: this.options.syncTimeoutMs ?? 15 * 60_000,
      },
      options,
    );
  }

  async nameServers(zone: Zone): Promise<NameServers> {
    const { verifyServers } = this.options;
    const settleMs = this.options.settleMs ?? 60_000;
    if (verifyServers) {
      return verifyServers.length > 0
        ? { kind: "servers", servers: verifyServers.map((address) => ({ host: address, address })), settleMs }
        : { kind: "unreachable", reason: "no name servers to ask are configured" };
    }
    if (zone.private) {
      return {
        kind: "unreachable",
        reason: `${zone.name} is a private zone: only resolvers inside its VPCs answer for it`,
      };
    }
    const { DelegationSet } = await this.call(`reading hosted zone ${zone.id}`, (abortSignal) =>
      this.client.send(new GetHostedZoneCommand({ Id: zone.id }), { abortSignal }),
    );
    const hosts = (DelegationSet?.NameServers ?? []).map(fqdn);
    if (hosts.length === 0) return { kind: "unreachable", reason: `${zone.name} has no delegation set` };
    return resolveHosts(hosts, this.options.resolverTimeoutMs ?? 2000, settleMs, this.addressOverrides());
  }

  /** The SOA record at the zone's apex, as ListResourceRecordSets shows it (Route 53 creates it with the zone). */
  async soa(zone: Zone): Promise<Soa | undefined> {
    const apex = await this.listRecordSets(zone, zone.name);
    const set = apex.find((record) => record.type === "SOA");
    const value = set?.values?.[0];
    return set && value !== undefined ? parseSoa(set.ttl ?? 0, value) : undefined;
  }

  private addressOverrides(): Map<string, string> {
    return new Map(
      Object.entries(this.options.nameServerAddresses ?? {}).map(([host, address]) => [fqdn(host), address]),
    );
  }

  /**
   * Runs one API call, turning SDK errors into messages that say what to do. The call stops with the run's
   * signal (its reason is thrown as is: an interrupted run says so), with `extra`, or after `callTimeoutMs`.
   */
  private async call<T>(
    what: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    extra?: AbortSignal,
    kind: "read" | "write" = "read",
  ): Promise<T> {
    const timeoutMs = this.options.callTimeoutMs ?? 120_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const stops = [this.options.signal, extra].filter((s): s is AbortSignal => s !== undefined);
    for (const stop of stops) if (stop.aborted) throw stop.reason;
    // A write already on its way finishes (its change is journaled ahead, and the run stops after it): only
    // reads and waits are cut short by the signal. The deadline bounds both.
    const signals = kind === "write" ? [timeout] : [...stops, timeout];
    try {
      return await send(AbortSignal.any(signals));
    } catch (error) {
      const stopped = kind === "read" ? stops.find((stop) => stop.aborted) : undefined;
      if (stopped) throw stopped.reason;
      if (timeout.aborted) {
        throw new RuntimeError(
          `${what}: Route 53${this.endpoint ? ` at ${this.endpoint}` : ""} did not answer within ${formatDuration(timeoutMs)}: ` +
            "check the network or AWS_ENDPOINT_URL_ROUTE_53, then run the command again (apply resumes)",
          { cause: error },
        );
      }
      throw this.explain(what, error);
    }
  }

  private explain(what: string, error: unknown): Error {
    const name = (error as { name?: unknown }).name;
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    const cause = { cause: error };
    if (name === "InvalidChangeBatch" || name === "InvalidInput")
      return new BatchRejectedError(message, cause);
    if (name === "NoSuchHostedZone" || name === "HostedZoneNotFound") {
      return new RuntimeError(
        `${what}: ${message}. Check dns.zoneId, and that ${this.credentialSource()} belongs to the zone's AWS account.`,
        cause,
      );
    }
    if (name === "CredentialsProviderError") {
      return new RuntimeError(
        `${what}: no AWS credentials (${message}). Set AWS_PROFILE (after \`aws sso login\` for an SSO profile), ` +
          "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
        cause,
      );
    }
    if (typeof name === "string" && DENIED.has(name)) {
      return new RuntimeError(
        `${what}: Route 53 refused ${this.credentialSource()} (${name}: ${message}). It needs route53:ListHostedZonesByName, ` +
          "GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets and GetChange on the zone.",
        cause,
      );
    }
    if (typeof name === "string" && RETRIED.has(name)) {
      return new RuntimeError(
        `${what}: Route 53 still throttled the call after ${attempts ?? "several"} attempts (${name}). ` +
          "Another tool may be changing the account's DNS: wait a minute, then run the command again (apply resumes).",
        cause,
      );
    }
    if (
      typeof code === "string" &&
      /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)$/.test(code)
    ) {
      return new RuntimeError(
        `${what}: cannot reach Route 53${this.endpoint ? ` at ${this.endpoint}` : ""} (${code}): check the network or AWS_ENDPOINT_URL_ROUTE_53`,
        cause,
      );
    }
    return new RuntimeError(
      `${what}: Route 53 answered ${typeof name === "string" ? `${name}: ` : ""}${message}`,
      cause,
    );
  }

  private credentialSource(): string {
    const profile = this.options.profile ?? process.env.AWS_PROFILE;
    return profile ? `the AWS profile ${profile}` : "the credentials of the default AWS chain";
  }
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new RuntimeError(`Route 53 answered without ${what}: this is a bug of the endpoint in use`);
  return value;
}

function zoneOf(zone: HostedZone): Zone {
  return {
    id: stripPrefix(zone.Id ?? "", "/hostedzone/"),
    name: fqdn(zone.Name ?? ""),
    private: zone.Config?.PrivateZone === true,
  };
}

function changeOf(info: { Id?: string | undefined; Status?: string | undefined }): ChangeInfo {
  return {
    id: stripPrefix(info.Id ?? "", "/change/"),
    status: info.Status === "INSYNC" ? "INSYNC" : "PENDING",
  };
}

function stripPrefix(id: string, prefix: string): string {
  return id.startsWith(prefix) ? id.slice(prefix.length) : id;
}

const ROUTING_FIELDS = [
  "Region",
  "Failover",
  "GeoLocation",
  "MultiValueAnswer",
  "CidrRoutingConfig",
  "GeoProximityLocation",
  "TrafficPolicyInstanceId",
] as const;

function fromSdk(set: ResourceRecordSet): RecordSet {
  const record: RecordSet = { name: fqdn(set.Name ?? ""), type: set.Type ?? "" };
  if (set.SetIdentifier !== undefined) record.setIdentifier = set.SetIdentifier;
  if (set.Weight !== undefined) record.weight = set.Weight;
  if (set.AliasTarget) {
    // An alias answers with its target's TTL; some emulators still report TTL 0 for it.
    record.alias = {
      hostedZoneId: set.AliasTarget.HostedZoneId ?? "",
      dnsName: set.AliasTarget.DNSName ?? "",
      evaluateTargetHealth: set.AliasTarget.EvaluateTargetHealth ?? false,
    };
  } else {
    if (set.TTL !== undefined) record.ttl = set.TTL;
    record.values = (set.ResourceRecords ?? []).map((r) => r.Value ?? "");
  }
  if (set.HealthCheckId !== undefined) record.healthCheckId = set.HealthCheckId;
  const routing: Record<string, unknown> = {};
  for (const field of ROUTING_FIELDS) if (set[field] !== undefined) routing[field] = set[field];
  if (Object.keys(routing).length > 0) record.routing = routing;
  return record;
}

function toSdk(record: RecordSet): ResourceRecordSet {
  return {
    ...(record.routing as Partial<ResourceRecordSet> | undefined),
    Name: record.name,
    Type: record.type as RRType,
    ...(record.setIdentifier === undefined ? {} : { SetIdentifier: record.setIdentifier }),
    ...(record.weight === undefined ? {} : { Weight: record.weight }),
    ...(record.alias
      ? {
          AliasTarget: {
            HostedZoneId: record.alias.hostedZoneId,
            DNSName: record.alias.dnsName,
            EvaluateTargetHealth: record.alias.evaluateTargetHealth,
          },
        }
      : { TTL: record.ttl, ResourceRecords: (record.values ?? []).map((Value) => ({ Value })) }),
    ...(record.healthCheckId === undefined ? {} : { HealthCheckId: record.healthCheckId }),
  };
}

function describeNames(changes: RecordChange[]): string {
  return [...new Set(changes.map(({ record }) => `${fqdn(record.name)} ${record.type}`))].join(", ");
}

/** Where a ListResourceRecordSets page starts: from the zone's first record when empty. */
interface PageStart {
  StartRecordName?: string;
  StartRecordType?: RRType;
  StartRecordIdentifier?: string;
}

/** The start of the page after `page`, from its Next* markers, at record name `name`. */
function nextStart(
  page: { NextRecordType?: RRType | undefined; NextRecordIdentifier?: string | undefined },
  name: string,
): PageStart {
  return {
    StartRecordName: name,
    ...(page.NextRecordType ? { StartRecordType: page.NextRecordType } : {}),
    ...(page.NextRecordIdentifier ? { StartRecordIdentifier: page.NextRecordIdentifier } : {}),
  };
}
