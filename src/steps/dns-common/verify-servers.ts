import { sleep } from "../../engine/sleep.js";
import type { ReadContext, Verification } from "../../engine/types.js";
import type { NameServer, RecordSet } from "../../providers/route53/port.js";
import { canonicalRecordSet, describeRecordSets } from "../../providers/route53/records.js";
import { queryRecord } from "../../providers/route53/resolve.js";

/** Per DNS query; a server that answers nothing in this time counts as not answering. */
const QUERY_TIMEOUT_MS = 3000;
/** Between rounds while a server still answers the old records. */
const RETRY_MS = 500;

export interface ServerCheck {
  name: string;
  /** The record sets as the stage left them: what every server must answer. */
  after: readonly RecordSet[];
  /** `wait route53 change shop.example.com. A`: where progress lines go while a server lags. */
  progressAddress: string;
  viaApi: string;
}

type Outcome =
  | { kind: "ok"; server: NameServer; got: string }
  | { kind: "wrong"; server: NameServer; got: string }
  | { kind: "silent"; server: NameServer; reason: string };

/**
 * Asks every authoritative name server on its own (a resolver given several asks one and stops there): a change
 * is out only when each answers it, since a resolver may ask any of them. While one still answers the old
 * records it is asked again, for up to `settleMs`; then the check fails naming it. A server that does not answer
 * at all is reported, not waited for: resolvers skip it.
 */
export async function checkEveryServer(
  servers: readonly NameServer[],
  settleMs: number,
  check: ServerCheck,
  ctx: Pick<ReadContext, "progress" | "signal">,
): Promise<Verification> {
  const answering = check.after.filter((set) => set.weight !== 0);
  const [first] = answering;
  if (!first || answering.some((set) => set.alias)) {
    return {
      outcome: "not-supported",
      detail: `${check.viaApi}; an alias answers with its target's addresses, not checked`,
    };
  }
  const unresolved = servers.filter((server) => server.address === undefined);
  const asked = servers.filter((server) => server.address !== undefined);
  const started = Date.now();
  let outcomes = await askAll(asked, check, answering, first.type);
  for (;;) {
    const wrong = outcomes.filter((o) => o.kind === "wrong");
    const waited = Date.now() - started;
    if (wrong.length === 0 || waited >= settleMs) break;
    ctx.progress.wait(
      check.progressAddress,
      `waiting for ${wrong.map((o) => o.server.host).join(", ")} to answer as planned (${Math.round(waited / 1000)}s)`,
    );
    await sleep(Math.min(RETRY_MS, settleMs - waited), ctx.signal);
    // Only the laggards again: the others already answered as planned.
    const again = await askAll(
      wrong.map((o) => o.server),
      check,
      answering,
      first.type,
    );
    outcomes = outcomes.map((o) => again.find((a) => a.server.host === o.server.host) ?? o);
  }
  const wrong = outcomes.filter((o) => o.kind === "wrong");
  const ok = outcomes.filter((o) => o.kind === "ok");
  const silent = [
    ...outcomes.filter((o) => o.kind === "silent").map((o) => `${label(o.server)}: ${o.reason}`),
    ...unresolved.map((server) => `${server.host}: ${server.problem ?? "no address"}`),
  ];
  const expected = describeRecordSets(answering);
  if (wrong.length > 0) {
    const lagging = wrong.map((o) => `${label(o.server)} answers ${first.type} ${o.got}`).join("; ");
    const fine = ok.length > 0 ? `; ${ok.map((o) => o.server.host).join(", ")} answer as planned` : "";
    return {
      outcome: "failed",
      detail:
        `the name server${wrong.length > 1 ? "s" : ""} ${lagging} for ${check.name} after ${Math.round(settleMs / 1000)}s, ` +
        `expected ${expected}${fine}`,
    };
  }
  if (ok.length === 0) {
    return {
      outcome: "not-supported",
      detail: `${check.viaApi}; the name servers did not answer (${silent.join(", ")})`,
    };
  }
  const [answer] = ok;
  const all = `${ok.length === servers.length ? "every" : `${ok.length} of ${servers.length}`} name server`;
  const detail = `${all} of the zone (${ok.map((o) => label(o.server)).join(", ")}) answers ${first.type} ${answer?.got ?? ""} for ${check.name}`;
  return silent.length === 0
    ? { outcome: "passed", detail }
    : { outcome: "not-supported", detail: `${detail}; not asked or not answering: ${silent.join(", ")}` };
}

function label(server: NameServer): string {
  return server.address === server.host ? server.host : `${server.host} (${server.address ?? "?"})`;
}

async function askAll(
  servers: readonly NameServer[],
  check: ServerCheck,
  answering: readonly RecordSet[],
  type: string,
): Promise<Outcome[]> {
  return Promise.all(servers.map((server) => askOne(server, check, answering, type)));
}

async function askOne(
  server: NameServer,
  check: ServerCheck,
  answering: readonly RecordSet[],
  type: string,
): Promise<Outcome> {
  const result = await queryRecord([server.address ?? ""], check.name, type, QUERY_TIMEOUT_MS);
  if (result.kind === "unreachable") return { kind: "silent", server, reason: result.reason };
  const expected = new Set(answering.flatMap((set) => canonicalRecordSet(set).values ?? []));
  const got = canonicalRecordSet({ name: check.name, type, values: result.answer.values }).values ?? [];
  const weighted = answering.length > 1;
  const valuesOk =
    got.length > 0 && got.every((v) => expected.has(v)) && (weighted || got.length === expected.size);
  const maxTtl = Math.max(...answering.map((set) => set.ttl ?? 0));
  const ttlOk = result.answer.ttl === undefined || result.answer.ttl <= maxTtl;
  const ttl = result.answer.ttl === undefined ? "" : ` ttl ${result.answer.ttl}`;
  const shown = `${got.join(",") || "(nothing)"}${valuesOk && ttlOk ? "" : ttl}`;
  return valuesOk && ttlOk ? { kind: "ok", server, got: shown } : { kind: "wrong", server, got: shown };
}
