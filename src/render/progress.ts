import { formatDuration } from "../playbook/duration.js";
import type { EventSink, RunEvent } from "../engine/events.js";
import { ACTION_SYMBOL } from "../engine/types.js";

export type OutputMode = "tty" | "plain" | "json";

interface Writable {
  write(text: string): unknown;
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
      return `apply ${event.playbook}: ${event.steps.length} steps`;
    case "step-started":
      return `${event.step}: ${event.title}`;
    case "step-skipped":
      return `${event.step}: skipped (${event.reason})`;
    case "step-finished":
      return `${event.step}: done in ${formatDuration(event.elapsedMs)}${verificationText(event)}`;
    case "step-failed":
      return `${event.step}: failed after ${formatDuration(event.elapsedMs)}: ${event.error}`;
    case "change-applied":
      return `${event.step}: ${ACTION_SYMBOL[event.action]} ${event.address}`;
    case "change-reverted":
      return `${event.step}: reverted ${event.address}`;
    case "wait-progress":
      return `${event.step}: = ${event.address}: ${event.detail}`;
    case "gate-waiting":
      return `${event.step}: ? ${event.address}: ${event.detail}`;
    case "gate-passed":
      return `${event.step}: ? ${event.address}: passed (${event.detail})`;
    case "gate-failed":
      return `${event.step}: ? ${event.address}: FAILED (${event.detail})`;
    case "info":
      return event.step ? `${event.step}: ${event.message}` : event.message;
    case "warn":
      return `warning: ${event.step ? `${event.step}: ` : ""}${event.message}`;
    case "rollback-started":
      return `rollback: ${event.reason}`;
    case "rollback-finished":
      return `rollback: ${event.reverted} change(s) reverted`;
    case "run-finished":
      // A failure's message goes to stderr from the CLI; repeating it here would say it twice.
      return event.outcome === "failed" || event.outcome === "rolled-back" ? undefined : event.message;
  }
}

function verificationText(event: Extract<RunEvent, { type: "step-finished" }>): string {
  const { verification } = event;
  if (verification.outcome === "not-supported")
    return ` (not verified${verification.detail ? `: ${verification.detail}` : ""})`;
  return verification.detail ? ` (${verification.detail})` : "";
}

class PlainSink implements EventSink {
  private readonly lastWait = new Map<string, number>();

  constructor(
    private readonly out: Writable,
    private readonly now: () => Date,
  ) {}

  emit(event: RunEvent): void {
    if (event.type === "wait-progress") {
      const key = `${event.step} ${event.address}`;
      const at = this.now().getTime();
      if (at - (this.lastWait.get(key) ?? -Infinity) < 5000) return;
      this.lastWait.set(key, at);
    }
    const line = describeEvent(event);
    if (line !== undefined) this.out.write(`${this.now().toISOString()} ${line}\n`);
  }

  close(): void {}
}

type TaskState = "pending" | "running" | "done" | "failed" | "skipped";

interface Task {
  id: string;
  title: string;
  state: TaskState;
  started?: number | undefined;
  elapsedMs?: number | undefined;
  detail?: string | undefined;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const ICON: Record<Exclude<TaskState, "running">, string> = {
  pending: "○",
  done: "✔",
  failed: "✖",
  skipped: "↷",
};

/** A task tree redrawn in place: a spinner and the elapsed time on the running step, its latest wait below it. */
class TreeSink implements EventSink {
  private tasks: Task[] = [];
  private drawnLines = 0;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly out: Writable) {
    this.timer = setInterval(() => this.redraw(), 100);
    this.timer.unref();
  }

  emit(event: RunEvent): void {
    const task = "step" in event && event.step ? this.task(event.step, event) : undefined;
    switch (event.type) {
      case "run-started":
        this.tasks = event.steps.map((s) => ({ id: s.id, title: s.title, state: "pending" }));
        break;
      case "step-started":
        if (task) Object.assign(task, { state: "running", started: Date.now(), detail: undefined });
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
      case "wait-progress":
      case "change-applied":
        if (task) task.detail = describeEvent(event)?.slice(event.step.length + 2);
        break;
      case "gate-waiting":
        // A gate runs after its step is done: the step spins again while it waits.
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
      case "change-reverted":
      case "info":
      case "warn":
      case "rollback-started":
      case "rollback-finished":
      case "run-finished":
        // A line of its own above the tree.
        this.printAbove(describeEvent(event));
    }
    this.redraw();
  }

  close(): void {
    clearInterval(this.timer);
    this.redraw(true);
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
      lines.push(`${icon} ${task.title}${elapsed !== undefined ? ` [${formatDuration(elapsed)}]` : ""}`);
      if (task.detail && (task.state === "running" || task.state === "failed"))
        lines.push(`  └ ${task.detail}`);
    }
    this.clear();
    if (lines.length > 0) this.out.write(lines.join("\n") + "\n");
    this.drawnLines = lines.length;
  }
}
