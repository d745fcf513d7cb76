import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { NameServer, NameServers } from "./port.js";

/**
 * Where to ask each of the zone's name servers: `overrides` first (host → `ip` or `ip:port`), else the host's
 * IPv4 address through the system's resolvers. One entry per host, so the check can name the one that lags.
 */
export async function resolveHosts(
  hosts: readonly string[],
  timeoutMs: number,
  settleMs: number,
  overrides: ReadonlyMap<string, string> = new Map(),
): Promise<NameServers> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  const servers = await Promise.all(
    hosts.map(async (host): Promise<NameServer> => {
      const override = overrides.get(host);
      if (override !== undefined) return { host, address: override };
      if (isIP(host)) return { host, address: host };
      try {
        const [address] = (await resolver.resolve4(host)).sort();
        return address === undefined ? { host, problem: "no IPv4 address" } : { host, address };
      } catch (error) {
        return { host, problem: codeOf(error) };
      }
    }),
  );
  servers.sort((a, b) => a.host.localeCompare(b.host));
  if (servers.some((server) => server.address !== undefined)) return { kind: "servers", servers, settleMs };
  return {
    kind: "unreachable",
    reason: `cannot resolve the zone's name servers (${servers.map((s) => `${s.host}: ${s.problem ?? "?"}`).join(", ")})`,
  };
}

export interface Answer {
  values: string[];
  /** Seconds, as the server gave it; absent for CNAME answers (node:dns does not report their TTL). */
  ttl?: number;
}

export type QueryResult = { kind: "answer"; answer: Answer } | { kind: "unreachable"; reason: string };

const NO_RECORD = new Set(["ENODATA", "ENOTFOUND"]);

/** Asks `servers` directly (no recursion through local caches) for `name`'s records of `type`. */
export async function queryRecord(
  servers: readonly string[],
  name: string,
  type: string,
  timeoutMs: number,
): Promise<QueryResult> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  resolver.setServers([...servers]);
  try {
    return { kind: "answer", answer: await ask(resolver, name, type) };
  } catch (error) {
    const code = codeOf(error);
    if (NO_RECORD.has(code)) return { kind: "answer", answer: { values: [] } };
    return { kind: "unreachable", reason: code };
  }
}

async function ask(resolver: Resolver, name: string, type: string): Promise<Answer> {
  switch (type) {
    case "A":
      return answerOf(await resolver.resolve4(name, { ttl: true }));
    case "AAAA":
      return answerOf(await resolver.resolve6(name, { ttl: true }));
    case "CNAME":
      return { values: await resolver.resolveCname(name) };
    default:
      throw Object.assign(new Error(`cannot query ${type} records`), { code: "EUNSUPPORTED" });
  }
}

function answerOf(records: { address: string; ttl: number }[]): Answer {
  const ttls = records.map((r) => r.ttl);
  return { values: records.map((r) => r.address), ...(ttls.length > 0 ? { ttl: Math.max(...ttls) } : {}) };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}
