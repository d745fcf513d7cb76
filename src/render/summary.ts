import type { EventSink, RunEvent } from "../engine/events.js";
import { foldJournal } from "../engine/run-state.js";
import { placeOf } from "../engine/targets.js";
import type { ChangeEntry, JournalEntry } from "../engine/types.js";
import { formatDuration } from "../playbook/duration.js";
import type { Playbook } from "../playbook/schema.js";
import { plural } from "./words.js";

/** What a run waited for, as the summary groups it. */
export type WaitKind = "pauses" | "gates" | "TTL" | "rollouts and sync";

const WAIT_KINDS: readonly WaitKind[] = ["TTL", "pauses", "gates", "rollouts and sync"];

export interface RunTiming {
  /** From the run's start (its plan approved) to the end of its last event. */
  totalMs: number;
  waitingMs: Record<WaitKind, number>;
}

interface OpenWait {
  kind: WaitKind;
  address: string;
  since: number;
  /** A gate's own countdown (`= pause 1s: 1s left`) belongs to the gate, not to a wait of its own. */
  gate: boolean;
}

/**
 * Passes every event on to `inner` and times the run from them: a wait lasts from its first progress event (or a
 * gate from `gate-waiting`) to the next other event of the same step. Steps run one after another, so the waits
 * never overlap; working time is what is left.
 */
export class RunClock implements EventSink {
  private started: number | undefined;
  private last = 0;
  private readonly open = new Map<string, OpenWait>();
  private readonly waited: Record<WaitKind, number> = {
    pauses: 0,
    gates: 0,
    TTL: 0,
    "rollouts and sync": 0,
  };

  constructor(
    private readonly inner: EventSink,
    private readonly now: () => number = () => Date.now(),
  ) {}

  emit(event: RunEvent): void {
    this.observe(event);
    this.inner.emit(event);
  }

  close(): void {
    this.inner.close();
  }

  /** Undefined until a run started: an apply that changed nothing has nothing to time. */
  timing(): RunTiming | undefined {
    if (this.started === undefined) return undefined;
    const at = this.last;
    const waitingMs = { ...this.waited };
    for (const wait of this.open.values()) waitingMs[wait.kind] += at - wait.since;
    return { totalMs: at - this.started, waitingMs };
  }

  private observe(event: RunEvent): void {
    const at = this.now();
    this.last = at;
    if (event.type === "run-started") {
      this.started ??= at;
      return;
    }
    const step = "step" in event ? event.step : undefined;
    if (step === undefined || step === "") {
      if (event.type === "run-finished") for (const key of [...this.open.keys()]) this.end(key, at);
      return;
    }
    const current = this.open.get(step);
    if (event.type === "gate-waiting") {
      // An approval says "waiting" twice (asked, then left waiting): one wait.
      if (current?.gate && current.address === event.address) return;
      this.end(step, at);
      this.open.set(step, { kind: gateKind(event.address), address: event.address, since: at, gate: true });
    } else if (event.type === "wait-progress") {
      if (current && (current.gate || current.address === event.address)) return;
      this.end(step, at);
      this.open.set(step, { kind: waitKind(event.address), address: event.address, since: at, gate: false });
    } else {
      this.end(step, at);
    }
  }

  private end(step: string, at: number): void {
    const wait = this.open.get(step);
    if (!wait) return;
    this.waited[wait.kind] += at - wait.since;
    this.open.delete(step);
  }
}

function gateKind(address: string): WaitKind {
  return address.endsWith("/pause") ? "pauses" : "gates";
}

function waitKind(address: string): WaitKind {
  if (/\bttl\b/i.test(address)) return "TTL";
  if (/^(pause|soak)\b/i.test(address)) return "pauses";
  return "rollouts and sync";
}

/** The summary's facts, for text and JSON alike. */
export interface ApplySummary {
  /** Per cluster: the namespaces mirror-workloads created and how many objects of each kind it wrote there. */
  mirrored: { cluster: string; namespaces: string[]; objects: Record<string, number> }[];
  /** What the other steps built (ingress gateway, ServiceEntry, …), per step and place. */
  built: { step: string; place: string; objects: number }[];
  /** Per shifted route: the share left on the source and the share sent to the target. */
  traffic: { virtualService: string; cluster: string; route: string; source: number; remote: number }[];
  dns?: { record: string; now: string[]; ttl?: number; before?: string[]; beforeTtl?: number };
  timing?: {
    totalMs: number;
    waitingMs: number;
    workingMs: number;
    waits: Partial<Record<WaitKind, number>>;
  };
}

/** What the journal says the migration did so far, with this run's timing; computed, never assumed. */
export function applySummary(
  playbook: Playbook,
  entries: readonly JournalEntry[],
  timing?: RunTiming,
): ApplySummary {
  const pending = foldJournal(entries).pending;
  const summary: ApplySummary = { mirrored: [], built: [], traffic: [] };

  const mirrored = new Map<string, { namespaces: string[]; objects: Record<string, number> }>();
  const built = new Map<string, { step: string; place: string; objects: number }>();
  for (const entry of pending) {
    if (entry.kind === "shift-traffic" || entry.kind === "lower-dns-ttl" || entry.kind === "cutover-dns")
      continue;
    const place = placeOf(entry);
    const cluster = place.context ?? place.label;
    if (entry.kind === "mirror-workloads" && entry.action === "create") {
      const into = mirrored.get(cluster) ?? { namespaces: [], objects: {} };
      mirrored.set(cluster, into);
      const kind = objectKind(entry);
      if (kind === "Namespace") into.namespaces.push(entry.address.replace(/^Namespace /, ""));
      else into.objects[kind] = (into.objects[kind] ?? 0) + 1;
      continue;
    }
    const key = `${entry.step}\0${cluster}`;
    const row = built.get(key) ?? { step: entry.step, place: cluster, objects: 0 };
    built.set(key, row);
    row.objects += 1;
  }
  summary.mirrored = [...mirrored].map(([cluster, value]) => ({ cluster, ...value }));
  summary.built = [...built.values()];

  const remoteHosts = remoteHostsOf(playbook, pending);
  const latest = new Map<string, ChangeEntry>();
  for (const entry of pending) if (entry.kind === "shift-traffic") latest.set(entry.address, entry);
  for (const [address, entry] of latest) {
    const cluster = placeOf(entry).context ?? placeOf(entry).label;
    const http = (entry.after as { spec?: { http?: HttpRoute[] } } | undefined)?.spec?.http ?? [];
    for (const [index, route] of http.entries()) {
      const destinations = route.route ?? [];
      if (!destinations.some((d) => remoteHosts.has(d.destination?.host ?? ""))) continue;
      let source = 0;
      let remote = 0;
      for (const d of destinations) {
        // Istio: a lone destination without a weight takes all of the route's traffic.
        const weight = d.weight ?? (destinations.length === 1 ? 100 : 0);
        if (remoteHosts.has(d.destination?.host ?? "")) remote += weight;
        else source += weight;
      }
      summary.traffic.push({
        virtualService: address.replace(/^VirtualService /, ""),
        cluster,
        route: route.name ?? `http[${index}]`,
        source,
        remote,
      });
    }
  }

  const dns = pending.filter((e) => e.kind === "cutover-dns" || e.kind === "lower-dns-ttl");
  const first = dns[0];
  const last = dns.at(-1);
  if (first && last) {
    const now = recordSets(last.after);
    const before = recordSets(first.before);
    const ttl = now.find((r) => r.ttl !== undefined)?.ttl;
    const beforeTtl = before.find((r) => r.ttl !== undefined)?.ttl;
    summary.dns = {
      record: recordName(last),
      now: now.map(describeRecord),
      ...(ttl !== undefined ? { ttl } : {}),
      ...(before.length > 0 ? { before: before.map(describeRecord) } : {}),
      ...(beforeTtl !== undefined ? { beforeTtl } : {}),
    };
  }

  if (timing) {
    const waits: Partial<Record<WaitKind, number>> = {};
    let waitingMs = 0;
    for (const kind of WAIT_KINDS) {
      const ms = timing.waitingMs[kind];
      if (ms > 0) waits[kind] = ms;
      waitingMs += ms;
    }
    waitingMs = Math.min(waitingMs, timing.totalMs);
    summary.timing = { totalMs: timing.totalMs, waitingMs, workingMs: timing.totalMs - waitingMs, waits };
  }
  return summary;
}

/** The closing lines of `apply`, printed after the task tree. */
export function renderApplySummary(summary: ApplySummary): string {
  const rows: [string, string][] = [];
  for (const { cluster, namespaces, objects } of summary.mirrored) {
    const count = Object.values(objects).reduce((sum, n) => sum + n, 0);
    const kinds = Object.entries(objects)
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([kind, n]) => plural(n, kind, pluralKind(kind)))
      .join(", ");
    const spaces =
      namespaces.length > 0 ? `${plural(namespaces.length, "namespace")} (${namespaces.join(", ")}), ` : "";
    rows.push([
      "moved",
      `${spaces}${plural(count, "object")} mirrored to ${cluster}${kinds ? `: ${kinds}` : ""}`,
    ]);
  }
  if (summary.mirrored.length === 0) rows.push(["moved", "nothing mirrored"]);
  const steps = new Map<string, string[]>();
  for (const { step, place, objects } of summary.built) {
    const parts = steps.get(step) ?? [];
    steps.set(step, parts);
    // placeOf's word for a target it cannot place: no "on elsewhere".
    const where = place === "elsewhere" ? "" : ` on ${place}`;
    parts.push(`${parts.length === 0 ? plural(objects, "change") : objects}${where}`);
  }
  for (const [step, parts] of steps) rows.push(["built", `${step}: ${parts.join(", ")}`]);
  for (const t of summary.traffic) {
    rows.push([
      "traffic",
      `VirtualService ${t.virtualService} ${t.route} on ${t.cluster}: source ${t.source}%, target ${t.remote}%`,
    ]);
  }
  if (summary.traffic.length === 0) rows.push(["traffic", "not shifted"]);
  const { dns } = summary;
  if (dns) {
    const ttl = (value: number | undefined) => (value === undefined ? "" : `, TTL ${value}s`);
    const was = dns.before ? ` (was ${dns.before.join(", ")}${ttl(dns.beforeTtl)})` : "";
    rows.push(["dns", `${dns.record} → ${dns.now.join(", ")}${ttl(dns.ttl)}${was}`]);
  } else {
    rows.push(["dns", "not changed"]);
  }
  const { timing } = summary;
  if (timing) {
    const waits = WAIT_KINDS.filter((kind) => timing.waits[kind] !== undefined)
      .map((kind) => `${kind} ${formatDuration(timing.waits[kind] ?? 0)}`)
      .join(", ");
    rows.push([
      "time",
      `${formatDuration(timing.totalMs)} in all: ${formatDuration(timing.waitingMs)} waiting${waits ? ` (${waits})` : ""}, ` +
        `${formatDuration(timing.workingMs)} working`,
    ]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return ["Summary:", ...rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`)].join("\n") + "\n";
}

interface HttpRoute {
  name?: string;
  route?: { destination?: { host?: string }; weight?: number }[];
}

interface RecordLike {
  values?: string[];
  alias?: { dnsName?: string };
  ttl?: number;
  setIdentifier?: string;
  weight?: number;
}

function recordSets(value: unknown): RecordLike[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list.filter((item): item is RecordLike => typeof item === "object" && item !== null);
}

function describeRecord(record: RecordLike): string {
  const target = record.values?.join(",") ?? (record.alias?.dnsName ? `alias ${record.alias.dnsName}` : "?");
  return record.setIdentifier !== undefined
    ? `${target} (${record.setIdentifier}, weight ${record.weight ?? 0})`
    : target;
}

/** `bookinfo.example.com. A`, from the journaled target (the address says it too, with the provider before it). */
function recordName(entry: ChangeEntry): string {
  const target = entry.target;
  return target?.type === "dns.recordset" ? `${target.name} ${target.recordType}` : entry.address;
}

function objectKind(entry: ChangeEntry): string {
  const target = entry.target;
  return target?.type === "kube.object" ? target.kind : (entry.address.split(" ")[0] ?? "object");
}

/** Hosts that mean "the target cluster": the playbook's remoteHost and the hosts of the ServiceEntries journaled. */
function remoteHostsOf(playbook: Playbook, pending: readonly ChangeEntry[]): Set<string> {
  const hosts = new Set<string>();
  if (playbook.spec.traffic) hosts.add(playbook.spec.traffic.remoteHost);
  for (const entry of pending) {
    if (entry.kind !== "expose-target" || objectKind(entry) !== "ServiceEntry") continue;
    const spec = (entry.after as { spec?: { hosts?: string[] } } | undefined)?.spec;
    for (const host of spec?.hosts ?? []) hosts.add(host);
  }
  return hosts;
}

/** `Deployments`, `Ingresses`, `NetworkPolicies`. */
function pluralKind(kind: string): string {
  if (/(s|x|ch|sh)$/.test(kind)) return `${kind}es`;
  if (/[^aeiou]y$/.test(kind)) return `${kind.slice(0, -1)}ies`;
  return `${kind}s`;
}
