import type { Route53Options } from "./client.js";
import type {
  ChangeInfo,
  DnsPort,
  NameServers,
  RecordChange,
  RecordSet,
  Soa,
  WaitOptions,
  Zone,
  ZoneRef,
} from "./port.js";

/**
 * Route 53 with the AWS SDK (about half a second of module loading) loaded on the first call, so that a command
 * whose playbook never reaches Route 53 — or a plan on the sandbox's DNS — does not pay for it.
 */
export class LazyRoute53Dns implements DnsPort {
  readonly label = "route53";
  private loaded?: Promise<DnsPort>;

  constructor(private readonly options: Route53Options = {}) {}

  private get dns(): Promise<DnsPort> {
    this.loaded ??= import("./client.js").then(({ Route53Dns }) => new Route53Dns(this.options));
    return this.loaded;
  }

  async findZone(ref: ZoneRef): Promise<Zone> {
    return (await this.dns).findZone(ref);
  }

  async listRecordSets(zone: Zone, name: string): Promise<RecordSet[]> {
    return (await this.dns).listRecordSets(zone, name);
  }

  async changeRecordSets(zone: Zone, changes: RecordChange[], comment: string): Promise<ChangeInfo> {
    return (await this.dns).changeRecordSets(zone, changes, comment);
  }

  async waitForChange(change: ChangeInfo, options: WaitOptions): Promise<void> {
    return (await this.dns).waitForChange(change, options);
  }

  async nameServers(zone: Zone): Promise<NameServers> {
    return (await this.dns).nameServers(zone);
  }

  async soa(zone: Zone): Promise<Soa | undefined> {
    return (await this.dns).soa(zone);
  }
}
