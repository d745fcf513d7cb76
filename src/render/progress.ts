import { formatDuration } from "../playbook/duration.js";
import type { EventSink, RunEvent } from "../engine/events.js";
import { ACTION_SYMBOL } from "../engine/types.js";
import { plural } from "./words.js";

export type OutputMode = "tty" | "plain" | "json";

interface Writable {
  write(text: string): unknown;
  /** A terminal's width: tree lines are cut to it, since a wrapped line would be redrawn twice. */
  columns?: number;
}

export function createSink(mode: OutputMode, out: Writable, now: () => Date = () => new Date()): EventSink {
  switch (mode) {
    case "json":
      return {
        emit: (event) => out.write(JSON.stringify({ time: now().toISOString(), ...event }) + "\n"),
        close() {},
      };
    case "plain":
      return new PlainSink(out, now);
    case "tty":
      return new TreeSink(out);
  }
}

/** One line of text per event; wait progress at most every 5 s per address, so CI logs stay readable. */
export function describeEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case "run-started":
      return `apply ${event.playbook}: ${plural(event.steps.length, "step")}`;
    case "step-started":
      return `${event.step}: ${event.title}`;
    case "step-skipped":
      return `${event.step}: skipped (${event.reason})`;
    case "step-finished":
      return `${event.step}: done in ${formatDuration(event.elapsedMs)}${verificationText(event)}`;
    case "step-failed":
      return `${event.step}: failed after ${formatDuration(event.elapsedMs)}: ${event.error}`;
    case "step-stopped":
      return `${event.step}: stopped after ${formatDuration(event.elapsedMs)} because ${event.by} stopped the run`;
    case "change-applied":
      return `${event.step}: ${ACTION_SYMBOL[event.action]} ${event.address}`;
    case "change-reverted":
      return `${event.step}: reverted ${event.address}`;
    case "wait-progress":
      return `${event.step}: = wait ${event.address}: ${event.detail}`;
    case "gate-waiting":
      return `${event.step}: ? ${gateName(event)}: ${event.detail}`;
    case "gate-passed":
      return `${event.step}: ? ${gateName(event)}: passed (${event.detail})`;
    case "gate-failed":
      return `${event.step}: ? ${gateName(event)}: FAILED (${event.detail})`;
    case "info":
      return event.step ? `${event.step}: ${event.message}` : event.message;
    case "warn":
      return `warning: ${event.step ? `${event.step}: ` : ""}${event.message}`;
    case "rollback-started": {
      const count = event.steps?.reduce((sum, step) => sum + step.changes, 0);
      const what = count === undefined ? "" : `: ${plural(count, "change")} to undo, newest first`;
      // Asked for: the command says so already; a gate's failure is the reason worth a line.
      return event.reason === "rollback requested" ? `rollback${what}` : `rollback (${event.reason})${what}`;
    }
    case "rollback-finished":
      return `rollback: ${plural(event.reverted, "change")} reverted`;
    case "run-finished":
      // A failure's message goes to stderr from the CLI; repeating it here would say it twice.
      return event.outcome === "failed" || event.outcome === "rolled-back" ? undefined : event.message;
  }
}

/** A gate's address names its step (`shift-traffic[2]/approval`), which the line names already: `approval`. */
function gateName(event: { step: string; address: string }): string {
  return event.address.startsWith(`${event.step}/`)
    ? event.address.slice(event.step.length + 1)
    : event.address;
}

function verificationText(event: Extract<RunEvent, { type: "step-finished" }>): string {
  const { verification } = event;
  if (verification.outcome === "not-supported")
    return ` (not verified${verification.detail ? `: ${verification.detail}` : ""})`;
  return verification.detail ? ` (${verification.detail})` : "";
}

/**
 * Notes (warnings, infos) of a command that draws no tree, `plan` and `status`: timestamped for a log, as the
 * plain sink's lines are, but not on a terminal, where `apply`'s tree shows the same warning without one.
 */
export function createNoteSink(
  out: Writable & { isTTY?: boolean },
  now: () => Date = () => new Date(),
): EventSink {
  return new PlainSink(out, now, out.isTTY !== true);
}

class PlainSink implements EventSink {
  private readonly lastWait = new Map<string, number>();

  constructor(
    private readonly out: Writable,
    private readonly now: () => Date,
    private readonly stamped = true,
  ) {}

  emit(event: RunEvent): void {
    if (event.type === "wait-progress") {
      const key = `${event.step} ${event.address}`;
      const at = this.now().getTime();
      if (at - (this.lastWait.get(key) ?? -Infinity) < 5000) return;
      this.lastWait.set(key, at);
    }
    const line = describeEvent(event);
    if (line !== undefined)
      this.out.write(this.stamped ? `${this.now().toISOString()} ${line}\n` : `${line}\n`);
  }

  close(): void {}
}

type TaskState = "pending" | "running" | "done" | "failed" | "stopped" | "skipped";

interface Task {
  id: string;
  title: string;
  state: TaskState;
  started?: number | undefined;
  elapsedMs?: number | undefined;
  detail?: string | undefined;
  /** The steps that were running when this one started: the branches it ran beside. */
  beside?: string[];
  /** Of an undo task: changes reverted so far, of how many. */
  reverted?: number;
  toRevert?: number | undefined;
}

const UNDO_PREFIX = "undo:";

/** Cut to `width` columns: a line the terminal wraps takes two rows, and the redraw would leave one behind. */
function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join("")}…`;
}

/** `  ∥ beside provision-cluster`: the branch marker of a step that ran beside others (two named, then a count). */
function besideText(task: Task): string {
  const ids = task.beside ?? [];
  if (ids.length === 0) return "";
  const named = ids.slice(0, 2).join(", ");
  return `  ∥ beside ${ids.length > 2 ? `${named} and ${ids.length - 2} more` : named}`;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const ICON: Record<Exclude<TaskState, "running">, string> = {
  pending: "○",
  done: "✔",
  failed: "✖",
  stopped: "■",
  skipped: "↷",
};

/**
 * A task tree redrawn in place: a spinner and the elapsed time on the running step, its latest wait below it. A
 * rollback adds one task per step it undoes. Once the run (or a rollback on its own) ends, the tree is drawn one
 * last time and left alone: what follows is written below it, never redrawn over.
 */
class TreeSink implements EventSink {
  private tasks: Task[] = [];
  private drawnLines = 0;
  private frame = 0;
  private frozen = false;
  private rollingBack = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly out: Writable) {
    this.timer = setInterval(() => this.redraw(), 100);
    this.timer.unref();
  }

  emit(event: RunEvent): void {
    if (this.frozen) {
      const line = describeEvent(event);
      if (line !== undefined) this.out.write(`${line}\n`);
      return;
    }
    if (event.type === "change-reverted") {
      this.reverted(event.step, event.address);
      this.redraw();
      return;
    }
    // While a rollback runs, a step's waits (a DNS change getting in sync) are its undo task's, not the step's.
    if (this.rollingBack && event.type === "wait-progress") {
      this.undoTask(event.step).detail = describeEvent(event)?.slice(event.step.length + 2);
      this.redraw();
      return;
    }
    // A note of a step is a line above the tree, never a task of its own (a rollback's notes name the steps undone).
    const hasTask = "step" in event && event.step && event.type !== "info" && event.type !== "warn";
    const task = hasTask ? this.task(event.step, event) : undefined;
    switch (event.type) {
      case "run-started":
        this.tasks = event.steps.map((s) => ({ id: s.id, title: s.title, state: "pending" }));
        break;
      case "step-started":
        if (task) {
          this.joined(task);
          Object.assign(task, { state: "running", started: Date.now(), detail: undefined });
        }
        break;
      case "step-skipped":
        if (task) Object.assign(task, { state: "skipped", detail: event.reason });
        break;
      case "step-finished":
        if (task) Object.assign(task, { state: "done", elapsedMs: event.elapsedMs, detail: undefined });
        break;
      case "step-failed":
        if (task) Object.assign(task, { state: "failed", elapsedMs: event.elapsedMs, detail: event.error });
        break;
      case "step-stopped":
        if (task)
          Object.assign(task, {
            state: "stopped",
            elapsedMs: event.elapsedMs,
            detail: `because ${event.by} stopped the run`,
          });
        break;
      case "wait-progress":
      case "change-applied":
        if (task) task.detail = describeEvent(event)?.slice(event.step.length + 2);
        break;
      case "gate-waiting":
        // A gate runs after its step is done: the step spins again while it waits.
        if (task && task.state !== "running") this.joined(task);
        if (task)
          Object.assign(task, {
            state: "running",
            detail: describeEvent(event)?.slice(event.step.length + 2),
          });
        break;
      case "gate-passed":
      case "gate-failed":
        if (task) {
          const elapsedMs = task.started === undefined ? task.elapsedMs : Date.now() - task.started;
          Object.assign(task, { state: event.type === "gate-passed" ? "done" : "failed", elapsedMs });
        }
        this.printAbove(describeEvent(event));
        break;
      case "rollback-started":
        this.rollingBack = true;
        this.printAbove(describeEvent(event));
        for (const { step, changes } of event.steps ?? []) this.undoTask(step, changes);
        break;
      case "rollback-finished":
        this.rollingBack = false;
        for (const undo of this.tasks.filter((t) => t.id.startsWith(UNDO_PREFIX))) {
          if (undo.state === "running") this.finish(undo, "done");
          // Nothing of it reverted: its changes were on a context the rollback skipped.
          else if (undo.state === "pending")
            Object.assign(undo, { state: "skipped", detail: "left as it is" });
        }
        break;
      case "info":
      case "warn":
        // A line of its own above the tree.
        this.printAbove(describeEvent(event));
        break;
      case "run-finished":
        this.freeze();
        this.printAbove(describeEvent(event));
        return;
    }
    this.redraw();
  }

  close(): void {
    this.freeze();
  }

  /** The last frame, kept: the command's closing lines follow it. */
  private freeze(): void {
    if (this.frozen) return;
    clearInterval(this.timer);
    this.redraw(true);
    this.drawnLines = 0;
    this.frozen = true;
  }

  /**
   * Steps run side by side (the schedule's branches): a step that starts while others run is marked with them.
   * Its own lines stay under its own heading whatever order the events of the branches come in.
   */
  private joined(task: Task): void {
    const running = this.tasks.filter(
      (t) => t !== task && t.state === "running" && !t.id.startsWith(UNDO_PREFIX),
    );
    if (running.length === 0) return;
    task.beside = [...new Set([...(task.beside ?? []), ...running.map((t) => t.id)])];
  }

  private undoTask(step: string, changes?: number): Task {
    const id = `${UNDO_PREFIX}${step}`;
    let task = this.tasks.find((t) => t.id === id);
    if (!task) {
      task = { id, title: `Undo ${step}`, state: "pending", reverted: 0, toRevert: changes };
      this.tasks.push(task);
    }
    return task;
  }

  /** Changes are reverted newest first, step by step: the step before is done when the next one starts. */
  private reverted(step: string, address: string): void {
    const task = this.undoTask(step);
    for (const other of this.tasks) {
      if (other !== task && other.id.startsWith(UNDO_PREFIX) && other.state === "running")
        this.finish(other, "done");
    }
    if (task.state !== "running") Object.assign(task, { state: "running", started: Date.now() });
    task.reverted = (task.reverted ?? 0) + 1;
    task.detail = `reverted ${address}`;
  }

  private finish(task: Task, state: "done" | "failed"): void {
    const elapsedMs = task.started === undefined ? task.elapsedMs : Date.now() - task.started;
    Object.assign(task, { state, elapsedMs, detail: undefined });
  }

  private task(id: string, event: RunEvent): Task {
    let task = this.tasks.find((t) => t.id === id);
    if (!task) {
      task = { id, title: "title" in event ? event.title : id, state: "pending" };
      this.tasks.push(task);
    }
    return task;
  }

  private printAbove(line: string | undefined): void {
    if (line === undefined) return;
    this.clear();
    this.out.write(`${line}\n`);
  }

  private clear(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(final = false): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    const lines: string[] = [];
    for (const task of this.tasks) {
      const icon = task.state === "running" ? (final ? "…" : FRAMES[this.frame]) : ICON[task.state];
      const elapsed =
        task.state === "running" && task.started !== undefined ? Date.now() - task.started : task.elapsedMs;
      const count =
        task.reverted !== undefined
          ? ` (${task.toRevert !== undefined ? `${task.reverted}/${plural(task.toRevert, "change")}` : plural(task.reverted, "change")})`
          : "";
      lines.push(
        `${icon} ${task.title}${count}${elapsed !== undefined ? ` [${formatDuration(elapsed)}]` : ""}${besideText(task)}`,
      );
      if (task.detail && task.state !== "done" && task.state !== "pending") lines.push(`  └ ${task.detail}`);
    }
    this.clear();
    const width = this.out.columns;
    const fitted = width && width > 1 ? lines.map((line) => fit(line, width - 1)) : lines;
    if (fitted.length > 0) this.out.write(fitted.join("\n") + "\n");
    this.drawnLines = fitted.length;
  }
}
