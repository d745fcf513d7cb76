import { ApiError } from "./status.js";

function ipv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function parseIpv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Hands out the lowest free address of a range, remembering who holds what. */
export class AddressPool {
  private readonly held = new Map<string, string>();
  private readonly byHolder = new Map<string, string>();

  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly format: (n: number) => string = String,
  ) {}

  /** The address `holder` has, or a new one; undefined when the pool is exhausted. */
  acquire(holder: string): string | undefined {
    const existing = this.byHolder.get(holder);
    if (existing !== undefined) return existing;
    for (let n = this.first; n <= this.last; n++) {
      const candidate = this.format(n);
      if (!this.held.has(candidate)) {
        this.reserve(candidate, holder);
        return candidate;
      }
    }
    return undefined;
  }

  /** The address that `acquire` would return, without taking it (dry runs). */
  peek(): string | undefined {
    for (let n = this.first; n <= this.last; n++) if (!this.held.has(this.format(n))) return this.format(n);
    return undefined;
  }

  holderOf(address: string): string | undefined {
    return this.held.get(address);
  }

  reserve(address: string, holder: string): void {
    this.held.set(address, holder);
    this.byHolder.set(holder, address);
  }

  release(holder: string): void {
    const address = this.byHolder.get(holder);
    if (address === undefined) return;
    this.byHolder.delete(holder);
    if (this.held.get(address) === holder) this.held.delete(address);
  }
}

/** External load-balancer addresses (TEST-NET-3), unique across every cluster of the process. */
export const loadBalancerPool = new AddressPool(
  parseIpv4("203.0.113.1") ?? 0,
  parseIpv4("203.0.113.254") ?? 0,
  ipv4,
);

/** One cluster's Service ClusterIPs (10.96.0.0/12) and NodePorts (30000–32767). */
export class ServiceAddresses {
  private readonly clusterIps = new AddressPool(
    parseIpv4("10.96.0.1") ?? 0,
    parseIpv4("10.111.255.254") ?? 0,
    ipv4,
  );
  private readonly nodePorts = new Map<number, string>();
  private readonly portsByService = new Map<string, number[]>();

  /** Takes `requested` (or a free address) for the service; 422 when another service holds it. */
  clusterIp(service: string, requested: string | undefined, dryRun: boolean): string {
    if (requested !== undefined) {
      const n = parseIpv4(requested);
      if (n === undefined) throw invalidField("spec.clusterIP", requested, "must be a valid IP address");
      const holder = this.clusterIps.holderOf(requested);
      if (holder !== undefined && holder !== service)
        throw invalidField("spec.clusterIP", requested, "provided IP is already allocated");
      if (!dryRun) {
        this.clusterIps.release(service);
        this.clusterIps.reserve(requested, service);
      }
      return requested;
    }
    const ip = dryRun ? this.clusterIps.peek() : this.clusterIps.acquire(service);
    if (ip === undefined)
      throw new ApiError(500, "InternalError", "failed to allocate a serviceIP: range is full");
    return ip;
  }

  /** Reconciles the service's NodePorts: keeps `requested` (0 = allocate one), frees the rest. */
  nodePortsFor(service: string, requested: number[], dryRun: boolean): number[] {
    const mine = new Set(this.portsByService.get(service) ?? []);
    const out: number[] = [];
    const taken = new Set<number>();
    for (const port of requested) {
      if (port === 0) continue;
      const holder = this.nodePorts.get(port);
      if ((holder !== undefined && holder !== service) || taken.has(port)) {
        throw invalidField("spec.ports[].nodePort", port, "provided port is already allocated");
      }
      taken.add(port);
    }
    let candidate = 30000;
    for (const port of requested) {
      if (port !== 0) {
        out.push(port);
        continue;
      }
      while (
        candidate <= 32767 &&
        ((this.nodePorts.has(candidate) && !mine.has(candidate)) || taken.has(candidate))
      )
        candidate++;
      if (candidate > 32767)
        throw new ApiError(500, "InternalError", "failed to allocate a nodePort: range is full");
      taken.add(candidate);
      out.push(candidate);
    }
    if (!dryRun) {
      this.releaseNodePorts(service);
      for (const port of out) this.nodePorts.set(port, service);
      if (out.length > 0) this.portsByService.set(service, out);
    }
    return out;
  }

  release(service: string): void {
    this.clusterIps.release(service);
    this.releaseNodePorts(service);
  }

  private releaseNodePorts(service: string): void {
    for (const port of this.portsByService.get(service) ?? []) {
      if (this.nodePorts.get(port) === service) this.nodePorts.delete(port);
    }
    this.portsByService.delete(service);
  }
}

function invalidField(field: string, value: string | number, detail: string): ApiError {
  return new ApiError(
    422,
    "Invalid",
    `Service is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`,
    {
      kind: "Service",
      causes: [
        { reason: "FieldValueInvalid", field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` },
      ],
    },
  );
}
