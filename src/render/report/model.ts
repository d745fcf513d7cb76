import { describePhase, foldJournal, refuseIfFinished } from "../../engine/run-state.js";
import { messageOf } from "../../engine/errors.js";
import type { ChangeEntry, JournalEntry, NoteEntry, Verification } from "../../engine/types.js";
import { renderRollbackPreview } from "../status.js";

/**
 * What the HTML report shows, folded from the journal alone (plus the step titles and the remote host the
 * playbook names): a pure function, so that the page says what `status` and `rollback` would say about the same
 * journal, and tests can build it from entries without a cluster.
 */
export interface ReportModel {
  playbook: string;
  /** `describePhase`: the line `status` prints. */
  summary: string;
  location: string;
  /** Epoch ms of the first and last journal entries; absent for an empty journal. */
  start?: number;
  end?: number;
  steps: StepRow[];
  gates: GateRow[];
  waits: WaitSpan[];
  rollbacks: RollbackSpan[];
  traffic: Series<TrafficPoint>[];
  dns: Series<DnsPoint>[];
  /** What `rollback` would undo now: its own preview text, or absent when nothing is left. */
  rollbackPreview?: string;
  /** Why `rollback` would refuse now (`clustershift finish` closed the migration): its own words. */
  rollbackRefused?: string;
  pendingChanges: number;
}

export interface StepRow {
  id: string;
  title: string;
  kind: string;
  /** One per `step-started` (a resumed or re-applied step runs again). */
  runs: StepRun[];
  changes: ChangeRow[];
}

export interface StepRun {
  start: number;
  end?: number;
  verification?: Verification;
  /** Why the step stopped, as the run journaled it (a `step-failed` note); the gate that could not run, if one. */
  error?: string;
  gate?: string;
  /** The step that stopped the run while this one ran beside it: stopped, not failed (a `step-stopped` note). */
  stoppedBy?: string;
}

export interface ChangeRow {
  action: ChangeEntry["action"];
  address: string;
  time: number;
  /** `(sensitive: N keys)`: the journal's own summary; the values themselves never reach the report. */
  sensitive?: string;
  reverted?: number;
}

export interface GateRow {
  step: string;
  address: string;
  state: "waiting" | "passed" | "failed" | "promoted";
  detail: string;
  /** When the gate started waiting (the step's end, or the gate before it) and when it was decided. */
  start: number;
  time: number;
  measurements: Measurement[];
}

export interface Measurement {
  time: number;
  kind: "analysis" | "probe" | "comparison";
  text: string;
  ok: boolean | undefined;
}

export interface WaitSpan {
  step: string;
  label: string;
  start: number;
  end: number;
  /** The wait was still under way when the journal ends. */
  open: boolean;
}

export interface RollbackSpan {
  start: number;
  end?: number;
  reason: string;
  kinds?: string[];
}

export interface Series<P> {
  address: string;
  points: P[];
}

export interface TrafficPoint {
  time: number;
  /** Percent of the traffic sent to the target. */
  weight: number;
  cause: string;
}

export interface DnsPoint {
  time: number;
  value: string;
  ttl: string;
  cause: string;
}

export interface ReportInput {
  playbook: string;
  location: string;
  entries: readonly JournalEntry[];
  /** The playbook's steps in plan order, so steps not yet started are listed too. */
  steps: readonly { id: string; title: string; kind: string }[];
  /** `spec.traffic.remoteHost`, when the playbook still has it. */
  remoteHost?: string;
}

const DNS_KINDS = new Set(["lower-dns-ttl", "cutover-dns"]);
/** The note the executor journals when a step (or a gate that could not run) stops with an error. */
const STEP_FAILED = "step-failed";
/** The note of a step another branch of the run stopped. */
const STEP_STOPPED = "step-stopped";

export function buildReport(input: ReportInput): ReportModel {
  const { entries } = input;
  const state = foldJournal(entries);
  const time = (entry: JournalEntry) => Date.parse(entry.time);
  const steps = new Map<string, StepRow>();
  for (const step of input.steps) steps.set(step.id, { ...step, runs: [], changes: [] });
  const changes = new Map<number, ChangeRow>();
  const changeEntries = new Map<number, ChangeEntry>();
  const gates: GateRow[] = [];
  const waits: WaitSpan[] = [];
  const rollbacks: RollbackSpan[] = [];
  const notes: NoteEntry[] = [];
  /** Where each step's next gate starts waiting: its end, then each gate decided after it. */
  const gateFrom = new Map<string, number>();
  const waitingSince = new Map<string, { step: string; address: string; since: number }>();

  const stepOf = (id: string, kind = "?") => {
    let row = steps.get(id);
    if (!row) {
      row = { id, title: id, kind, runs: [], changes: [] };
      steps.set(id, row);
    }
    return row;
  };

  for (const entry of entries) {
    switch (entry.type) {
      case "step-started": {
        stepOf(entry.step, entry.kind).runs.push({ start: time(entry) });
        gateFrom.set(entry.step, time(entry));
        break;
      }
      case "step-finished": {
        const run = stepOf(entry.step).runs.at(-1);
        if (run) {
          run.end = time(entry);
          run.verification = entry.verification;
        }
        gateFrom.set(entry.step, time(entry));
        break;
      }
      case "change": {
        const row: ChangeRow = { action: entry.action, address: entry.address, time: time(entry) };
        // The journal line of a sensitive change holds only its summary; say that, never an image.
        if (entry.sensitive) row.sensitive = sensitiveText(entry.after ?? entry.before);
        changes.set(entry.seq, row);
        changeEntries.set(entry.seq, entry);
        stepOf(entry.step, entry.kind).changes.push(row);
        break;
      }
      case "change-reverted": {
        const row = changes.get(entry.ref);
        if (row) row.reverted = time(entry);
        break;
      }
      case "gate": {
        const key = `${entry.step} ${entry.address}`;
        if (entry.state === "waiting") {
          waitingSince.set(key, { step: entry.step, address: entry.address, since: time(entry) });
          break;
        }
        const start = waitingSince.get(key)?.since ?? gateFrom.get(entry.step) ?? time(entry);
        waitingSince.delete(key);
        gates.push({
          step: entry.step,
          address: entry.address,
          state: entry.state,
          detail: entry.detail ?? "",
          start,
          time: time(entry),
          measurements: [],
        });
        gateFrom.set(entry.step, time(entry));
        break;
      }
      case "note": {
        notes.push(entry);
        const run = entry.note === STEP_FAILED ? stepOf(entry.step).runs.at(-1) : undefined;
        if (run) {
          const data = (entry.data ?? {}) as { error?: unknown; gate?: unknown };
          run.end ??= time(entry);
          run.error = typeof data.error === "string" ? data.error : "failed";
          if (typeof data.gate === "string") run.gate = data.gate;
        }
        const stopped = entry.note === STEP_STOPPED ? stepOf(entry.step).runs.at(-1) : undefined;
        const by = (entry.data as { by?: unknown } | undefined)?.by;
        if (stopped && typeof by === "string") {
          stopped.end ??= time(entry);
          stopped.stoppedBy = by;
        }
        break;
      }
      case "rollback-started":
        rollbacks.push({
          start: time(entry),
          reason: entry.reason,
          ...(entry.kinds ? { kinds: entry.kinds } : {}),
        });
        break;
      case "rollback-finished": {
        const open = rollbacks.findLast((r) => r.end === undefined);
        if (open) open.end = time(entry);
        break;
      }
      case "run-started":
      case "change-applied":
      case "run-paused":
      case "run-finished":
      case "rollback-skipped":
      case "sensitive-dropped":
      case "journal-closed":
        break;
    }
  }

  const first = entries[0];
  const last = entries.at(-1);
  const end = last ? time(last) : undefined;
  // A gate still waiting (an approval nobody gave yet) is shown waiting up to the end of the journal.
  for (const { step, address, since } of waitingSince.values()) {
    gates.push({
      step,
      address,
      state: "waiting",
      detail: "waiting for approval",
      start: since,
      time: end ?? since,
      measurements: [],
    });
  }
  attachMeasurements(notes, gates);
  waits.push(...noteWaits(notes, end ?? 0));

  const model: ReportModel = {
    playbook: input.playbook,
    summary: describePhase(state),
    location: input.location,
    steps: [...steps.values()],
    gates,
    waits,
    rollbacks,
    traffic: trafficSeries(entries, changeEntries, input.remoteHost),
    dns: dnsSeries(entries, changeEntries),
    pendingChanges: state.pending.length,
  };
  if (first) model.start = time(first);
  if (end !== undefined) model.end = end;
  try {
    refuseIfFinished(input.playbook, state);
    if (state.pending.length > 0)
      model.rollbackPreview = renderRollbackPreview(input.playbook, state.pending);
  } catch (refused) {
    model.rollbackRefused = messageOf(refused);
  }
  return model;
}

function sensitiveText(image: unknown): string {
  return typeof image === "string" && image.startsWith("(sensitive:") ? image : "(sensitive)";
}

/** A measurement belongs to the next gate its step decided after it was taken. */
function attachMeasurements(notes: readonly NoteEntry[], gates: GateRow[]): void {
  for (const note of notes) {
    const measurement = measurementOf(note);
    if (!measurement) continue;
    const gate = gates.find((g) => g.step === note.step && g.time >= measurement.time);
    gate?.measurements.push(measurement);
  }
}

function measurementOf(note: NoteEntry): Measurement | undefined {
  const time = Date.parse(note.time);
  const data = (note.data ?? {}) as Record<string, unknown>;
  switch (note.note) {
    case "measurement": {
      const phase = String(data.phase);
      return {
        time,
        kind: "analysis",
        text: `${String(data.metric)} ${String(data.index)}/${String(data.count)}: ${String(data.detail)} → ${phase}`,
        ok: phase === "successful" ? true : phase === "failed" ? false : undefined,
      };
    }
    case "probe": {
      const ok = Number(data.ok);
      const requests = Number(data.requests);
      const host = typeof data.host === "string" ? ` (Host: ${data.host})` : "";
      return {
        time,
        kind: "probe",
        text: `probe ${String(data.url)}${host}: ${ok}/${requests} answered as expected`,
        ok: ok === requests,
      };
    }
    case "comparison": {
      const outcome = String(data.outcome);
      return {
        time,
        kind: "comparison",
        text: `look ${String(data.look)}/${String(data.count)}: ${outcome}, ${String(data.reason)}`,
        ok: outcome === "Pass" ? true : outcome === "Fail" ? false : undefined,
      };
    }
    default:
      return undefined;
  }
}

/** Waits that steps journal as notes: a DNS change until INSYNC, the old TTL running out, a decommission soak. */
function noteWaits(notes: readonly NoteEntry[], end: number): WaitSpan[] {
  const waits: WaitSpan[] = [];
  const data = (note: NoteEntry) => (note.data ?? {}) as Record<string, unknown>;
  for (const [index, note] of notes.entries()) {
    const at = Date.parse(note.time);
    const later = notes.slice(index + 1).filter((n) => n.step === note.step);
    if (note.note === "dns-change") {
      const change = data(note).change;
      const insync = later.find((n) => n.note === "dns-insync" && data(n).change === change);
      waits.push({
        step: note.step,
        label: `DNS change ${String(change)}  INSYNC`,
        start: at,
        end: insync ? Date.parse(insync.time) : end,
        open: !insync,
      });
    } else if (note.note === "ttl-wait") {
      const until = Date.parse(String(data(note).until));
      if (Number.isNaN(until)) continue;
      waits.push({
        step: note.step,
        label: "old TTL  runs out of resolvers' caches",
        start: at,
        end: Math.min(until, Math.max(end, at)),
        open: until > end,
      });
    } else if (note.note === "soak-started") {
      const since = Date.parse(String(data(note).at));
      const quiet = later.find((n) => n.note === "source-quiet");
      const start = Number.isNaN(since) ? at : since;
      waits.push({
        step: note.step,
        label: "soak after the DNS cutover  the source ingress goes quiet",
        start,
        end: quiet ? Date.parse(quiet.time) : end,
        open: !quiet,
      });
    }
  }
  return waits;
}

interface Destination {
  destination?: { host?: string };
  weight?: number;
}

/**
 * The share of traffic on the target over time, per shifted VirtualService: each applied shift-traffic change
 * sets it to its after-image's share, each revert to its before-image's. The remote destination is the
 * playbook's `traffic.remoteHost`, or else the host the shift added (absent from the first before-image).
 */
function trafficSeries(
  entries: readonly JournalEntry[],
  changes: ReadonlyMap<number, ChangeEntry>,
  remoteHost: string | undefined,
): Series<TrafficPoint>[] {
  const isShift = (entry: ChangeEntry | undefined): entry is ChangeEntry =>
    entry !== undefined &&
    entry.kind === "shift-traffic" &&
    entry.target?.type === "kube.object" &&
    entry.target.kind === "VirtualService";
  const remotes = new Map<string, Set<string>>();
  const remotesOf = (entry: ChangeEntry) => {
    let hosts = remotes.get(entry.address);
    if (!hosts) {
      hosts = remoteHost
        ? new Set([remoteHost])
        : difference(hostsOf(entry.after), hostsOf(entry.before ?? undefined));
      remotes.set(entry.address, hosts);
    }
    return hosts;
  };
  return imageSeries<TrafficPoint>(
    entries,
    changes,
    isShift,
    (entry, image) => ({ weight: shareOf(image, remotesOf(entry)) }),
    "before the shift",
  );
}

function routesOf(image: unknown): Destination[][] {
  const spec = (image as { spec?: { http?: { route?: Destination[] }[] } } | undefined)?.spec;
  return (spec?.http ?? []).map((route) => route.route ?? []);
}

function hostsOf(image: unknown): Set<string> {
  return new Set(
    routesOf(image)
      .flat()
      .map((d) => d.destination?.host)
      .filter((host): host is string => host !== undefined),
  );
}

function difference(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => !b.has(x)));
}

/** Percent to the remote hosts on the routes that split at all (every shifted route carries the same split). */
function shareOf(image: unknown, remotes: ReadonlySet<string>): number {
  let share = 0;
  for (const route of routesOf(image)) {
    // Istio: a lone destination without a weight takes all of the route's traffic.
    const weights = route.map((d) => d.weight ?? (route.length === 1 ? 100 : 0));
    const total = weights.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const remote = route.reduce(
      (sum, d, i) => sum + (remotes.has(d.destination?.host ?? "") ? (weights[i] ?? 0) : 0),
      0,
    );
    share = Math.max(share, Math.round((remote / total) * 100));
  }
  return share;
}

interface RecordImage {
  name?: string;
  type?: string;
  ttl?: number;
  values?: string[];
  alias?: { dnsName?: string };
  setIdentifier?: string;
  weight?: number;
}

/** The DNS record's value and TTL over time, per record: each applied change's after-image, each revert's before. */
function dnsSeries(
  entries: readonly JournalEntry[],
  changes: ReadonlyMap<number, ChangeEntry>,
): Series<DnsPoint>[] {
  const isDns = (entry: ChangeEntry | undefined): entry is ChangeEntry =>
    entry !== undefined && DNS_KINDS.has(entry.kind) && !entry.sensitive;
  return imageSeries<DnsPoint>(entries, changes, isDns, (_, image) => recordOf(image), "before the run");
}

/**
 * A line per address of the changes `keep` selects, with a point each time the thing took another image: its
 * first before-image at the run's start, then each applied change's after-image and each revert's before-image.
 */
function imageSeries<P extends { time: number; cause: string }>(
  entries: readonly JournalEntry[],
  changes: ReadonlyMap<number, ChangeEntry>,
  keep: (entry: ChangeEntry | undefined) => entry is ChangeEntry,
  point: (entry: ChangeEntry, image: unknown) => Omit<P, "time" | "cause">,
  startCause: string,
): Series<P>[] {
  const series = new Map<string, Series<P>>();
  const add = (entry: ChangeEntry, time: number, image: unknown, cause: string) => {
    let line = series.get(entry.address);
    if (!line) {
      line = { address: entry.address, points: [] };
      series.set(entry.address, line);
      const start = Date.parse(entries[0]?.time ?? entry.time);
      line.points.push({ time: start, ...point(entry, entry.before), cause: startCause } as P);
    }
    line.points.push({ time, ...point(entry, image), cause } as P);
  };
  for (const entry of entries) {
    if (entry.type !== "change-applied" && entry.type !== "change-reverted") continue;
    const change = changes.get(entry.ref);
    if (!keep(change)) continue;
    if (entry.type === "change-applied") add(change, Date.parse(entry.time), change.after, entry.step);
    else add(change, Date.parse(entry.time), change.before, `rollback of ${change.step}`);
  }
  return [...series.values()];
}

function recordOf(image: unknown): { value: string; ttl: string } {
  const sets = (Array.isArray(image) ? image : image === undefined ? [] : [image]) as RecordImage[];
  if (sets.length === 0) return { value: "(no record)", ttl: "–" };
  const value = sets
    .map((set) => {
      const target = set.values?.join(", ") ?? (set.alias?.dnsName ? `alias ${set.alias.dnsName}` : "?");
      const policy =
        set.setIdentifier !== undefined
          ? ` [${set.setIdentifier}${set.weight !== undefined ? ` weight ${set.weight}` : ""}]`
          : "";
      return `${target}${policy}`;
    })
    .join(" | ");
  const ttls = [...new Set(sets.map((set) => (set.ttl === undefined ? "alias" : `${set.ttl}s`)))];
  return { value, ttl: ttls.join(", ") };
}
