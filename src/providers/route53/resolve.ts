import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { NameServers } from "./port.js";

/** The addresses of the zone's name servers, through the system's resolvers. */
export async function resolveHosts(hosts: readonly string[], timeoutMs: number): Promise<NameServers> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  const failures: string[] = [];
  const servers: string[] = [];
  await Promise.all(
    hosts.map(async (host) => {
      if (isIP(host)) {
        servers.push(host);
        return;
      }
      try {
        servers.push(...(await resolver.resolve4(host)));
      } catch (error) {
        failures.push(`${host}: ${codeOf(error)}`);
      }
    }),
  );
  if (servers.length > 0) return { kind: "servers", servers: servers.sort() };
  return {
    kind: "unreachable",
    reason: `cannot resolve the zone's name servers (${failures.sort().join(", ")})`,
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
    return { kind: "unreachable", reason: `${servers.join(", ")}: ${code}` };
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
