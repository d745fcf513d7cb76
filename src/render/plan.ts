import { placementOf } from "../engine/change-context.js";
import { NO_CHANGES, type RunPlan } from "../engine/planner.js";
import { branchesBeside, hasBranches, type PlanSchedule } from "../engine/schedule.js";
import { formatDuration } from "../playbook/duration.js";
import { plural } from "./words.js";
import { ACTION_SYMBOL, type Change, type ChangeAction, type StepPlan } from "../engine/types.js";
import { painter, type Paint, type Tone } from "./color.js";
import { afterUnknown, fieldDiff, formatValue, withoutUnknowns, type FieldChange } from "./diff.js";
import { sensitiveSummary } from "./redact.js";

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  waits: number;
  gates: number;
  unchanged: number;
}

export function summarize(steps: readonly StepPlan[]): PlanSummary {
  const summary: PlanSummary = { create: 0, update: 0, delete: 0, waits: 0, gates: 0, unchanged: 0 };
  for (const step of steps) {
    for (const change of step.changes) {
      if (change.action === "wait") summary.waits += 1;
      else if (change.action === "no-op") summary.unchanged += 1;
      else summary[change.action] += 1;
    }
    summary.gates += step.gates.length;
  }
  return summary;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

export function summaryLine(summary: PlanSummary): string {
  return `Plan: ${summary.create} to create, ${summary.update} to update, ${summary.delete} to delete, ${count(summary.waits, "wait")}, ${count(summary.gates, "gate")}.`;
}

export interface PlanTextOptions {
  /** ANSI colour (a terminal that wants it: see `colorWanted`); plain text otherwise. */
  color?: boolean;
}

/** Each action's colour; a gate is cyan like a wait: both are where the run holds. */
const TONE: Record<Exclude<ChangeAction, "no-op">, Tone> = {
  create: "create",
  update: "update",
  delete: "delete",
  wait: "wait",
};

/** What the legend says of each symbol, in the order it lists them. */
const LEGEND: [symbol: string, word: string, tone: Tone][] = [
  ["+", "create", "create"],
  ["~", "update", "update"],
  ["-", "delete", "delete"],
  ["=", "wait", "wait"],
  ["?", "gate", "gate"],
];

/** At most this many fields of one update are listed; the JSON plan has them all. */
const MAX_FIELDS = 12;

/**
 * Terraform-like plan text: a legend of the symbols and contexts used, then per step one line per change with its
 * context (`+ [target] Namespace shop`), an update's fields as old → new values, unchanged objects as a count, the
 * gates; steps the journal shows done say `(done)` and propose nothing. Secret values never appear.
 */
export function renderPlanText(plan: RunPlan, source: string, options: PlanTextOptions = {}): string {
  const paint = painter(options.color === true);
  const steps = plan.steps.map((s) => s.plan);
  const done = new Set(plan.steps.filter((s) => s.done).map((s) => s.plan.id));
  const shown = steps.filter((step) => !done.has(step.id));
  const contexts = [
    ...new Set(shown.flatMap((step) => step.changes.map((change) => placementOf(change).context ?? ""))),
  ]
    .filter((context) => context !== "")
    .sort((a, b) => rank(a) - rank(b));
  const width = Math.max(0, ...contexts.map((context) => context.length + 2));

  const lines = [paint("bold", `Plan for ${plan.playbook} (${source}):`), ""];
  const legend = legendLines(plan, steps, done, contexts, paint);
  if (legend.length > 0) lines.push(...legend, "");
  if (steps.length === 0) lines.push("  No steps are enabled: the playbook has only source and target.", "");
  for (const step of steps) {
    if (done.has(step.id)) {
      lines.push(paint("dim", `${step.id}: ${step.title}  (done)`));
      for (const gate of step.gates) lines.push(gateLine(gate, paint));
      lines.push("");
      continue;
    }
    lines.push(`${paint("bold", `${step.id}:`)} ${step.title}`);
    let unchanged = 0;
    for (const change of step.changes) {
      if (change.action === "no-op" && !change.detail) {
        unchanged += 1;
        continue;
      }
      lines.push(...changeLines(change, width, paint));
    }
    if (unchanged > 0) lines.push(paint("dim", `    ${unchanged} unchanged`));
    for (const gate of step.gates) lines.push(gateLine(gate, paint));
    if (step.changes.length === 0 && step.gates.length === 0) lines.push("    (nothing to do)");
    lines.push("");
  }
  if (plan.complete) {
    lines.push(NO_CHANGES);
    return lines.join("\n") + "\n";
  }
  if (plan.schedule) lines.push(...scheduleLines(plan.schedule, paint));
  if (done.size > 0) lines.push(`${done.size} of ${steps.length} steps done; the plan shows what remains.`);
  lines.push(paint("bold", summaryLine(summarize(steps))));
  return lines.join("\n") + "\n";
}

/**
 * Only when some steps run side by side (a run one step after another says nothing new here): how many branches,
 * the critical path (the chain whose expected waits add up to the longest, which the run takes at least) and what
 * runs beside it, each step with its expected wait. Wait-less steps inside a chain are elided as `…`.
 */
function scheduleLines(schedule: PlanSchedule, paint: Paint): string[] {
  if (!hasBranches(schedule.steps)) return [];
  const waits = new Map(schedule.steps.map((s) => [s.id, s.expectedMs]));
  const chain = (ids: readonly string[]) => chainText(ids, waits);
  const beside = branchesBeside(schedule);
  const { steps, expectedMs } = schedule.criticalPath;
  const timed =
    expectedMs > 0
      ? `critical path ${formatDuration(expectedMs)} of expected waits` +
        (schedule.sumMs > expectedMs ? ` (${formatDuration(schedule.sumMs)} if run one after another)` : "")
      : "critical path (no wait the plan can time)";
  return [
    `${paint("bold", "Schedule:")} ${plural(beside.length + 1, "branch", "branches")} side by side; ${timed}:`,
    `  ${chain(steps)}`,
    ...beside.map((ids) => `  ${paint("dim", "beside it:")} ${chain(ids)}`),
    "",
  ];
}

/** `a (6m) → b (10m) → … → e`: the first and last step, every step with a wait, and runs of others as `…`. */
function chainText(ids: readonly string[], waits: ReadonlyMap<string, number | undefined>): string {
  const parts: string[] = [];
  let elided: string[] = [];
  ids.forEach((id, i) => {
    const ms = waits.get(id);
    if (ms === undefined && i > 0 && i < ids.length - 1) {
      elided.push(id);
      return;
    }
    // One step elided reads shorter as itself than as `…`.
    if (elided.length > 0) parts.push(elided.length === 1 ? (elided[0] ?? "") : "…");
    elided = [];
    parts.push(ms === undefined ? id : `${id} (${formatDuration(ms)})`);
  });
  return parts.join(" → ");
}

/** `Symbols: + create  ~ update …` with only the symbols the plan uses, and what each context stands for. */
function legendLines(
  plan: RunPlan,
  steps: readonly StepPlan[],
  done: ReadonlySet<string>,
  contexts: readonly string[],
  paint: Paint,
): string[] {
  const used = new Set<string>();
  for (const step of steps) {
    if (step.gates.length > 0) used.add("?");
    if (done.has(step.id)) continue;
    for (const change of step.changes) used.add(ACTION_SYMBOL[change.action]);
  }
  const symbols = LEGEND.filter(([symbol]) => used.has(symbol)).map(
    ([symbol, word, tone]) => `${paint(tone, symbol)} ${word}`,
  );
  const lines: string[] = [];
  if (symbols.length > 0) lines.push(`Symbols: ${symbols.join("  ")}`);
  if (contexts.length > 0) {
    const where = contexts.map((context) => `[${context}] ${paint("dim", describeContext(context, plan))}`);
    lines.push(`Where:   ${where.join("  ")}`);
  }
  return lines;
}

/** The clusters first, in the playbook's order, then the rest as the plan meets them. */
const rank = (context: string) => ["source", "target"].indexOf(context) >>> 0;

function describeContext(context: string, plan: RunPlan): string {
  if (context === "source" || context === "target") {
    const name = plan.contexts?.[context];
    return name === undefined ? `the ${context} cluster` : `context ${name}`;
  }
  const known: Record<string, string> = {
    dns: "DNS provider",
    gcp: "Google Cloud",
    sandbox: "sandbox control API",
    local: "kubeconfig file",
  };
  return known[context] ?? context;
}

function changeLines(change: Change, width: number, paint: Paint): string[] {
  const context = placementOf(change).context;
  const where = context === undefined ? "" : `[${context}]`.padEnd(width) + " ";
  const detail = change.detail ? `  ${change.detail}` : "";
  if (change.action === "no-op") return [paint("dim", `    ${where}${change.address}${detail}`)];
  const symbol = paint(TONE[change.action], ACTION_SYMBOL[change.action]);
  // Every wait reads the same: `= wait <what>  <condition>, up to <timeout>` (the progress lines say `= wait` too).
  const what = change.action === "wait" ? `wait ${change.address}` : change.address;
  const head = `  ${symbol} ${where}${what}${detail}`;
  if (change.action !== "update") return [head];
  if (change.sensitive) return [head, `      ${paint("dim", sensitiveSummary(change.after))}`];
  const fields = fieldDiff(change.before, change.after, { merge: placementOf(change).merge === true });
  const shown = fields.slice(0, MAX_FIELDS).map((field) => `      ${fieldLine(field, paint)}`);
  if (fields.length > MAX_FIELDS)
    shown.push(paint("dim", `      … ${fields.length - MAX_FIELDS} more fields (plan -o json has them all)`));
  return [head, ...shown];
}

function fieldLine(field: FieldChange, paint: Paint): string {
  // The path "" is the whole value (a scalar image, or one known only after apply): no path to name.
  const path = field.path === "" ? "" : `${field.path}: `;
  switch (field.op) {
    case "change":
      return `${paint("update", "~")} ${path}${formatValue(field.before)} → ${formatValue(field.after)}`;
    case "add":
      return `${paint("create", "+")} ${path}${formatValue(field.after)}`;
    case "remove":
      return `${paint("delete", "-")} ${field.path === "" ? formatValue(field.before) : field.path}`;
  }
}

function gateLine(gate: StepPlan["gates"][number], paint: Paint): string {
  return `  ${paint("gate", "?")} ${gate.detail}  (on failure: ${gate.onFailure})`;
}

/**
 * Version of the JSON plan. 2: each change carries `context`, and values known only after apply are left out of
 * `after` and marked `true` in `after_unknown` (1 put "(known after apply)" strings in `after`).
 */
export const PLAN_FORMAT_VERSION = 2;

/** The plan as data for tools (`-o json`); sensitive images are replaced by `(sensitive: N keys)`. */
export function planJson(plan: RunPlan): object {
  const steps = plan.steps.map((s) => s.plan);
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    playbook: plan.playbook,
    complete: plan.complete,
    ...(plan.complete ? { message: NO_CHANGES } : {}),
    ...(plan.contexts ? { contexts: plan.contexts } : {}),
    steps: plan.steps.map(({ plan: step, done }) => ({
      id: step.id,
      kind: step.kind,
      title: step.title,
      done: done === true,
      changes: step.changes.map(jsonChange),
      gates: step.gates,
    })),
    summary: summarize(steps),
    ...(plan.schedule ? { schedule: plan.schedule } : {}),
  };
}

/** One change as Terraform's JSON plan shows a resource change: `after` and a parallel `after_unknown`. */
function jsonChange(change: Change): object {
  const redacted = redactChange(change) as Change & {
    before?: unknown;
    after?: unknown;
    sensitive?: boolean;
  };
  const { context } = placementOf(change);
  const { action, address } = redacted;
  return {
    action,
    address,
    ...(context === undefined ? {} : { context }),
    ...("before" in redacted ? { before: redacted.before } : {}),
    ...("after" in redacted
      ? { after: withoutUnknowns(redacted.after), after_unknown: afterUnknown(redacted.after) }
      : {}),
    ...(redacted.detail === undefined ? {} : { detail: redacted.detail }),
    ...(redacted.sensitive === true ? { sensitive: true } : {}),
  };
}

export function redactChange(change: Change): Change {
  if (!("sensitive" in change) || !change.sensitive) return change;
  const copy = { ...change } as Record<string, unknown>;
  for (const key of ["before", "after"]) if (key in copy) copy[key] = sensitiveSummary(copy[key]);
  return copy as Change;
}
