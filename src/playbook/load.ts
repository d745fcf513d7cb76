import { constants, open as openFd } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Socket } from "node:net";
import type { Document } from "yaml";
import { isScalar, LineCounter, parseAllDocuments, visit } from "yaml";
import { messageOf, UsageError } from "../engine/errors.js";
import { schemaIssues } from "./issues.js";
import { isEmptyNode, locate } from "./locate.js";
import type { PathIssue } from "./messages.js";
import { formatPath } from "./messages.js";
import { checkRules } from "./rules.js";
import type { Playbook } from "./schema.js";
import { playbookSchema } from "./schema.js";

/** One finding, located in the file as the user wrote it (`line`, `col` 1-based). */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** `spec.traffic.steps[2].weight`; `(root)` for the document, `(syntax)` for YAML syntax errors. */
  path: string;
  message: string;
}

export type ParseResult = { ok: true; playbook: Playbook } | { ok: false; diagnostics: Diagnostic[] };

export const SYNTAX_PATH = "(syntax)";

/**
 * YAML → schema → rules. Reports everything wrong at one stage at once, sorted by position: syntax
 * errors stop before the schema, schema errors before the rules (which need a well-typed playbook).
 */
export function parsePlaybook(text: string, file: string): ParseResult {
  const lines = new LineCounter();
  // The yaml package puts some errors (an unclosed quote) past the end: keep them on the last line.
  const at = (offset: number) => lines.linePos(Math.min(offset, Math.max(0, text.length - 1)));
  // The parser's own duplicate-key check compares each key with every earlier one: quadratic (100k keys took
  // minutes). The same check is done below with a set per mapping.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const documents = (Array.isArray(docs) ? docs : []).filter(
    (doc) => (doc.contents !== null && !isEmptyNode(doc.contents)) || doc.errors.length > 0,
  );

  const syntax: Diagnostic[] = documents.flatMap((doc) => [
    ...doc.errors.map((error) => ({ file, ...at(error.pos[0]), path: SYNTAX_PATH, message: error.message })),
    ...duplicateKeys(doc).map((offset) => ({
      file,
      ...at(offset),
      path: SYNTAX_PATH,
      message: DUPLICATE_KEY,
    })),
  ]);
  const [doc, second] = documents;
  if (second !== undefined) {
    syntax.push({
      file,
      ...at(second.range[0]),
      path: "(root)",
      message: `Too many: ${documents.length}: a playbook file must hold exactly one YAML document`,
    });
  }
  if (syntax.length > 0) return { ok: false, diagnostics: sortDiagnostics(syntax) };
  if (doc === undefined) {
    return {
      ok: false,
      diagnostics: [{ file, line: 1, col: 1, path: "(root)", message: "Required value: the file is empty" }],
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Alias bombs: the document is well-formed YAML that expands beyond reason.
    return {
      ok: false,
      diagnostics: [{ file, line: 1, col: 1, path: SYNTAX_PATH, message: messageOf(error) }],
    };
  }

  const parsed = schemaIssues(playbookSchema, data);
  if (parsed.ok) qualifyRecord(parsed.value);
  const issues = parsed.ok ? checkRules(parsed.value) : parsed.issues;
  if (parsed.ok && issues.length === 0) return { ok: true, playbook: parsed.value };
  return { ok: false, diagnostics: sortDiagnostics(issues.map((issue) => located(doc, lines, file, issue))) };
}

/**
 * `dns.record` given relative to `dns.zone`: a single label (`shop`) is a name in the zone, and `@` the zone
 * itself; from here on it is fully qualified (`shop.example.com.`), as every later message shows it. A name with
 * dots is taken as written, even without a final dot: `shop.example.net` in zone example.com is far likelier a
 * wrong zone than `shop.example.net.example.com.`, and the rules refuse it with its position.
 */
function qualifyRecord(playbook: Playbook): void {
  const dns = playbook.spec.dns;
  if (dns?.zone === undefined) return;
  const zone = dns.zone.replace(/\.$/, "");
  if (dns.record === "@") dns.record = `${zone}.`;
  else if (!dns.record.includes(".")) dns.record = `${dns.record}.${zone}.`;
}

/** The yaml package's words for a key given twice in one mapping, which Kubernetes refuses too. */
const DUPLICATE_KEY = "Map keys must be unique";

/** Offsets of the keys that repeat an earlier key of the same mapping (scalar keys: a playbook has no others). */
function duplicateKeys(doc: Document): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) offsets.push(pair.key.range?.[0] ?? 0);
        else seen.add(pair.key.value);
      }
    },
  });
  return offsets;
}

function located(doc: Document, lines: LineCounter, file: string, issue: PathIssue): Diagnostic {
  return {
    file,
    ...locate(doc, lines, issue.path, issue.at),
    path: formatPath(issue.path),
    message: issue.message,
  };
}

function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  // Array.prototype.sort is stable: findings at one position keep the order they were found in.
  return diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.path}: ${d.message}`;
}

/**
 * The largest playbook read: a real one is a few KiB; anything near this is a mistake (a log, a dump) or an
 * attack, and is refused before it is read, or as soon as a pipe has sent more.
 */
export const MAX_PLAYBOOK_BYTES = 4 * 1024 * 1024;

/**
 * Reads and validates a playbook; an unreadable or invalid one is a {@link UsageError} (exit 2) listing every
 * finding. `signal` stops a read that waits (a named pipe nobody writes to) with its reason.
 */
export async function loadPlaybook(file: string, signal?: AbortSignal): Promise<Playbook> {
  let text: string;
  try {
    text = await readPlaybookText(file, signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : messageOf(error);
    throw new UsageError(`${file}: cannot read the playbook: ${reason}`);
  }
  const result = parsePlaybook(text, file);
  if (result.ok) return result.playbook;
  const lines = result.diagnostics.map(formatDiagnostic);
  throw new UsageError(lines[0] as string, lines);
}

function tooBig(file: string, size: string): UsageError {
  return new UsageError(
    `${file}: cannot read the playbook: ${size}, over the limit of ${MAX_PLAYBOOK_BYTES / 1024 / 1024} MiB; ` +
      "a playbook is a few KiB: is this the right file?",
  );
}

async function readPlaybookText(file: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  // stat does not block on a named pipe, where open() would until a writer comes (and no signal stops it).
  const info = await stat(file);
  if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  if (info.isFile()) {
    if (info.size > MAX_PLAYBOOK_BYTES) throw tooBig(file, `${info.size} bytes`);
    return readFile(file, { encoding: "utf8", ...(signal ? { signal } : {}) });
  }
  if (!info.isFIFO()) return readFile(file, { encoding: "utf8", ...(signal ? { signal } : {}) });
  // A pipe (`-f <(…)`, /dev/stdin, mkfifo): opened without blocking and read as a stream, so that SIGTERM or
  // Ctrl-C stops a wait for a writer that never comes.
  // A plain descriptor, owned by the socket from here on (a FileHandle would close it a second time).
  const fd = await new Promise<number>((resolve, reject) =>
    openFd(file, constants.O_RDONLY | constants.O_NONBLOCK, (error, fd) =>
      error ? reject(error) : resolve(fd),
    ),
  );
  const socket = new Socket({ fd, readable: true, writable: false });
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: Error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onAbort = () => done(signal?.reason as Error);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PLAYBOOK_BYTES) return done(tooBig(file, "more than that came down the pipe"));
      chunks.push(chunk);
    });
    socket.on("end", () => done());
    socket.on("error", done);
  });
}
