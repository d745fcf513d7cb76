import { readFile, stat } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { locate, type Position } from "../playbook/locate.js";
import type { PathSegment } from "../playbook/messages.js";
import { UsageError } from "./errors.js";
import type { ReadContext, StepKind, StepPlan } from "./types.js";

/**
 * One thing that stops a plan before its first write: a reference to something that is not there (a Service, a
 * DNS record), or a write the user may not make. `path` is where the playbook names it (`spec.traffic.service`).
 */
export interface Problem {
  path?: string;
  message: string;
  /**
   * The step kinds this problem stops: their own plan failures are its consequence (a missing record fails the
   * DNS steps' plans too), so they are not listed again.
   */
  steps?: StepKind[];
}

/**
 * What `plan` checks besides the steps' own plans, registered with the registry (the built-ins in steps/index.ts),
 * so that the engine itself calls no provider. `references` runs before any step is planned, `access` after, on
 * the changes of the steps that are not done. Each returns every problem it finds; none of them writes.
 */
export interface PreflightCheck {
  readonly name: string;
  /** `pending`: the kinds of the steps not done yet; a check of references only done steps made is skipped. */
  references?(ctx: ReadContext, pending: ReadonlySet<StepKind>): Promise<Problem[]>;
  access?(ctx: ReadContext, plans: readonly StepPlan[]): Promise<Problem[]>;
}

/** `spec.traffic.service: …` as the steps word a UsageError; a line without a spec path stays whole. */
const PATH_LINE = /^(spec(?:\.[A-Za-z_]\w*|\[[^\]]*\])*): ([\s\S]*)$/;

/** The problems a step's UsageError names, one a line, with the playbook path each line starts with. */
export function problemsOf(error: UsageError): Problem[] {
  return error.lines.map((line) => {
    const match = PATH_LINE.exec(line);
    return match ? { path: match[1] as string, message: match[2] as string } : { message: line };
  });
}

/**
 * Every problem at once, each as `file:line:col: spec.path: message` (the playbook position of its path; without
 * a path, its message alone), followed by what it means: nothing was written. Exit 2, as an invalid playbook.
 */
export async function preflightError(file: string, problems: readonly Problem[]): Promise<UsageError> {
  const at = await locator(file);
  const seen = new Set<string>();
  const found: { line: string; position: Position | undefined }[] = [];
  for (const problem of problems) {
    const position = problem.path === undefined ? undefined : at(problem.path);
    const where = position ? `${file}:${position.line}:${position.col}: ` : "";
    const line = problem.path === undefined ? problem.message : `${where}${problem.path}: ${problem.message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    found.push({ line, position });
  }
  // In playbook order, as validate reports (a stable sort: one position keeps the order found); unplaced last.
  const rank = (p: Position | undefined) => (p ? p.line * 1e6 + p.col : Number.MAX_SAFE_INTEGER);
  const lines = found.sort((a, b) => rank(a.position) - rank(b.position)).map((f) => f.line);
  const count = lines.length === 1 ? "1 problem" : `${lines.length} problems`;
  const fix = lines.length === 1 ? "Fix it" : "Fix them";
  lines.push(`${count} found before the first write; nothing was changed. ${fix} and plan again.`);
  return new UsageError(lines.join("\n"), lines);
}

/** `spec.traffic.steps[2].weight` → `["spec", "traffic", "steps", 2, "weight"]`. */
export function pathSegments(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const [, key, index] = match;
    if (key !== undefined) segments.push(key);
    else if (index !== undefined) segments.push(/^\d+$/.test(index) ? Number(index) : index);
  }
  return segments;
}

/**
 * Where a spec path is in the playbook as written, or nothing when the file cannot be read again (a pipe, a
 * test's in-memory playbook): the path alone still says where.
 */
async function locator(file: string): Promise<(path: string) => Position | undefined> {
  const none = () => undefined;
  try {
    if (!(await stat(file)).isFile()) return none;
    const text = await readFile(file, "utf8");
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
    return (path) => locate(doc, lines, pathSegments(path), undefined);
  } catch {
    return none;
  }
}
