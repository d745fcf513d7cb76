import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ReadEngine } from "../../engine/executor.js";
import { expandSteps } from "../../engine/planner.js";
import { renderReportHtml } from "../../render/report/html.js";
import { buildReport } from "../../render/report/model.js";

export interface ReportOptions {
  /** Where to write the page; `-` for stdout; absent: {@link defaultReportPath}. */
  out?: string;
  now?: () => Date;
}

/**
 * Beside the playbook's state folder, not inside it (`.clustershift/shop-report.html`): that folder belongs to the
 * journal store, which may clear it whole, and a report is worth keeping after the state is gone.
 */
export function defaultReportPath(stateDir: string, playbook: string): string {
  return join(stateDir, `${playbook}-report.html`);
}

/**
 * `clustershift report`: the journal (read-only, as `status` reads it) rendered as one self-contained HTML page.
 * Returns the path written, or undefined when the page went to stdout.
 */
export async function writeReport(
  engine: Pick<ReadEngine, "playbook" | "registry" | "store" | "options">,
  options: ReportOptions,
  stdout: { write(text: string): unknown },
): Promise<string | undefined> {
  const { playbook } = engine;
  const entries = await engine.store.read();
  const steps = expandSteps(engine.registry, { playbook }).map(({ step, instance }) => ({
    id: instance.id,
    title: instance.title,
    kind: step.kind,
  }));
  const remoteHost = playbook.spec.traffic?.remoteHost;
  const model = buildReport({
    playbook: playbook.metadata.name,
    location: engine.store.location,
    entries,
    steps,
    ...(remoteHost ? { remoteHost } : {}),
  });
  const html = renderReportHtml(model, (options.now ?? (() => new Date()))());
  if (options.out === "-") {
    stdout.write(html);
    return undefined;
  }
  const path = options.out ?? defaultReportPath(engine.options.stateDir, playbook.metadata.name);
  await mkdir(dirname(path), { recursive: true });
  // Written whole or not at all: a browser left open on the old page never reloads half a new one.
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, html);
  await rename(partial, path);
  return path;
}
