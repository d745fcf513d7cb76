import type {
  ChangeRow,
  DnsPoint,
  GateRow,
  ReportModel,
  Series,
  StepRow,
  TrafficPoint,
  WaitSpan,
} from "./model.js";
import {
  escapeHtml as esc,
  formatDuration,
  PALETTE,
  round,
  timeScale,
  timeTicks,
  type TimeScale,
} from "./svg.js";

const WIDTH = 1200;
const LABEL = 230;
const CHART = WIDTH - LABEL - 30;

/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script, no font or image from anywhere, and
 * a Content-Security-Policy that forbids any load, so it opens the same offline, from a mail attachment or a CI
 * artifact, years later.
 */
export function renderReportHtml(model: ReportModel, generatedAt: Date): string {
  const start = model.start ?? generatedAt.getTime();
  const scale = timeScale(start, model.end ?? start, LABEL, CHART);
  const at = (time: number) => `+${formatDuration(time - start)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clustershift report: ${esc(model.playbook)}</title>
<style>${CSS}</style>
</head>
<body>
${header(model, start)}
<section id="timeline">
<h2>Timeline</h2>
<p class="legend"><span class="key step"></span>step <span class="key gate"></span>gate (waiting, then decided)
<span class="key wait"></span>wait <span class="key rollback"></span>rollback</p>
${timelineSvg(model, scale)}
${timelineTable(model, at)}
</section>
<section id="traffic">
<h2>Traffic to the target</h2>
${trafficSection(model.traffic, scale, at)}
</section>
<section id="dns">
<h2>DNS record</h2>
${dnsSection(model.dns, scale, at)}
</section>
<section id="rollback">
<h2>What a rollback would undo now</h2>
${rollbackSection(model)}
</section>
<footer>Rendered by <code>clustershift report</code> at ${esc(generatedAt.toISOString())} from the journal at
<code>${esc(model.location)}</code>. Secrets and credentials show only as <code>(sensitive: N keys)</code>.</footer>
</body>
</html>
`;
}

function header(model: ReportModel, start: number): string {
  const changes = model.steps.reduce((sum, step) => sum + step.changes.length, 0);
  const facts: [string, string][] = [];
  if (model.start !== undefined) facts.push(["started", new Date(start).toISOString()]);
  if (model.end !== undefined) facts.push(["last entry", new Date(model.end).toISOString()]);
  if (model.start !== undefined && model.end !== undefined)
    facts.push(["elapsed", formatDuration(model.end - model.start)]);
  facts.push(["changes journaled", String(changes)]);
  facts.push(["gates decided", String(model.gates.filter((g) => g.state !== "waiting").length)]);
  facts.push(["changes a rollback would undo", String(model.pendingChanges)]);
  return `<header>
<h1>${esc(model.playbook)}</h1>
<p class="phase phase-${phaseClass(model.summary)}">${esc(model.summary)}</p>
<dl>${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>
</header>`;
}

function phaseClass(summary: string): string {
  if (summary.startsWith("completed")) return "ok";
  if (summary.startsWith("rolled back")) return "back";
  if (summary.startsWith("not started")) return "idle";
  return "open";
}

const ROW = 28;

function timelineSvg(model: ReportModel, scale: TimeScale): string {
  const rows = model.steps;
  if (model.start === undefined) return `<p class="empty">The journal is empty: the run has not started.</p>`;
  const top = 24;
  const height = top + rows.length * ROW + 10;
  const parts: string[] = [];
  for (const tick of timeTicks(scale)) {
    parts.push(
      `<line class="grid" x1="${tick.x}" y1="${top - 6}" x2="${tick.x}" y2="${height - 8}"/>`,
      `<text class="tick" x="${tick.x}" y="${top - 10}" text-anchor="middle">${esc(tick.label)}</text>`,
    );
  }
  for (const rollback of model.rollbacks) {
    const x = scale.x(rollback.start);
    const w = Math.max(scale.x(rollback.end ?? scale.end) - x, 3);
    parts.push(
      `<rect class="rollback" x="${x}" y="${top - 4}" width="${round(w)}" height="${height - top - 4}"><title>rollback: ${esc(rollback.reason)}</title></rect>`,
    );
  }
  rows.forEach((step, index) => {
    const y = top + index * ROW;
    if (index % 2 === 0) parts.push(`<rect class="band" x="0" y="${y}" width="${WIDTH}" height="${ROW}"/>`);
    parts.push(
      `<text class="label" x="8" y="${y + 18}">${esc(clip(step.id, 30))}<title>${esc(step.title)}</title></text>`,
    );
    for (const run of step.runs) {
      const x = scale.x(run.start);
      const end = run.end ?? scale.end;
      const outcome =
        run.verification?.outcome ??
        (run.error !== undefined ? "failed" : run.stoppedBy !== undefined ? "stopped" : "running");
      parts.push(
        `<rect class="bar ${outcome}" x="${x}" y="${y + 6}" width="${round(Math.max(scale.x(end) - x, 3))}" height="${ROW - 12}" rx="3"><title>${esc(`${step.title}: ${outcome}${run.verification?.detail ? ` (${run.verification.detail})` : ""}, ${formatDuration(end - run.start)}`)}</title></rect>`,
      );
    }
    for (const wait of model.waits.filter((w) => w.step === step.id)) parts.push(waitBar(wait, scale, y));
    for (const gate of model.gates.filter((g) => g.step === step.id)) parts.push(gateMark(gate, scale, y));
  });
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="timeline of steps, waits and gates">${parts.join("")}</svg>`;
}

function waitBar(wait: WaitSpan, scale: TimeScale, y: number): string {
  const x = scale.x(wait.start);
  return `<rect class="wait${wait.open ? " open" : ""}" x="${x}" y="${y + ROW - 9}" width="${round(Math.max(scale.x(wait.end) - x, 2))}" height="5" rx="2"><title>${esc(`${wait.label}: ${formatDuration(wait.end - wait.start)}${wait.open ? ", still waiting" : ""}`)}</title></rect>`;
}

function gateMark(gate: GateRow, scale: TimeScale, y: number): string {
  const x0 = scale.x(gate.start);
  const x = scale.x(gate.time);
  const cy = y + ROW / 2;
  const title = esc(`${gate.address}: ${gate.state}${gate.detail ? ` (${gate.detail})` : ""}`);
  return (
    `<rect class="gate-wait ${gate.state}" x="${x0}" y="${y + 9}" width="${round(Math.max(x - x0, 2))}" height="${ROW - 18}"><title>${title}</title></rect>` +
    `<path class="gate ${gate.state}" d="M${x} ${cy - 7} L${x + 7} ${cy} L${x} ${cy + 7} L${x - 7} ${cy} Z"><title>${title}</title></path>`
  );
}

function timelineTable(model: ReportModel, at: (time: number) => string): string {
  if (model.steps.length === 0) return "";
  const rows = model.steps.map((step) => stepRows(step, model, at)).join("");
  return `<table class="timeline"><thead><tr><th>step</th><th>started</th><th>took</th><th>outcome</th><th>what happened</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function stepRows(step: StepRow, model: ReportModel, at: (time: number) => string): string {
  const runs = step.runs.length === 0 ? [undefined] : step.runs;
  const lines = runs.map((run, index) => {
    const outcome = run
      ? run.error !== undefined
        ? "failed"
        : (run.verification?.outcome ??
          (run.stoppedBy !== undefined ? "stopped" : run.end ? "done" : "started, not finished"))
      : "not started";
    const took = run?.end !== undefined ? formatDuration(run.end - run.start) : "";
    const detail =
      run?.error !== undefined
        ? `${run.gate !== undefined ? `gate ${run.gate}: ` : ""}${run.error}`
        : run?.stoppedBy !== undefined
          ? `stopped because ${run.stoppedBy} stopped the run; \`clustershift apply\` resumes it`
          : (run?.verification?.detail ?? "");
    const name =
      index === 0
        ? `<strong>${esc(step.title)}</strong><br><code>${esc(step.id)}</code>`
        : `<span class="again">again</span>`;
    const what =
      index === 0 ? [esc(detail), changeSummary(step.changes)].filter(Boolean).join("<br>") : esc(detail);
    return `<tr class="step"><td>${name}</td><td>${run ? esc(at(run.start)) : ""}</td><td>${esc(took)}</td><td><span class="badge ${badgeClass(outcome)}">${esc(outcome)}</span></td><td>${what}</td></tr>`;
  });
  for (const wait of model.waits.filter((w) => w.step === step.id)) {
    lines.push(
      `<tr class="sub wait-row"><td>= wait</td><td>${esc(at(wait.start))}</td><td>${esc(formatDuration(wait.end - wait.start))}</td><td><span class="badge ${wait.open ? "open" : "ok"}">${wait.open ? "waiting" : "over"}</span></td><td>${esc(wait.label)}</td></tr>`,
    );
  }
  for (const gate of model.gates.filter((g) => g.step === step.id)) {
    const measurements = gate.measurements.length
      ? `<ul class="measurements">${gate.measurements
          .map(
            (m) =>
              `<li class="${m.ok === true ? "ok" : m.ok === false ? "bad" : "maybe"}">${esc(m.kind)}: ${esc(m.text)}</li>`,
          )
          .join("")}</ul>`
      : "";
    lines.push(
      `<tr class="sub gate-row"><td>? gate <code>${esc(gate.address)}</code></td><td>${esc(at(gate.start))}</td><td>${esc(formatDuration(gate.time - gate.start))}</td><td><span class="badge ${badgeClass(gate.state)}">${esc(gate.state)}</span></td><td>${esc(gate.detail)}${measurements}</td></tr>`,
    );
  }
  return lines.join("");
}

function badgeClass(outcome: string): string {
  switch (outcome) {
    case "passed":
    case "promoted":
    case "done":
      return "ok";
    case "failed":
      return "bad";
    case "not started":
      return "idle";
    default:
      return "open";
  }
}

const CREATED = { create: "created", update: "updated", delete: "deleted" } as const;

function changeSummary(changes: readonly ChangeRow[]): string {
  if (changes.length === 0) return "";
  const counts = new Map<string, number>();
  for (const change of changes)
    counts.set(CREATED[change.action], (counts.get(CREATED[change.action]) ?? 0) + 1);
  const reverted = changes.filter((c) => c.reverted !== undefined).length;
  const summary = [...counts].map(([what, n]) => `${n} ${what}`).join(", ");
  const list = changes
    .map(
      (c) =>
        `<li class="${c.reverted !== undefined ? "reverted" : ""}"><code>${SYMBOL[c.action]} ${esc(c.address)}</code>${c.sensitive ? ` ${esc(c.sensitive)}` : ""}${c.reverted !== undefined ? " <em>(rolled back)</em>" : ""}</li>`,
    )
    .join("");
  return `<details><summary>${esc(summary)}${reverted ? `, ${reverted} rolled back` : ""}</summary><ul class="changes">${list}</ul></details>`;
}

const SYMBOL = { create: "+", update: "~", delete: "-" } as const;

function trafficSection(
  series: readonly Series<TrafficPoint>[],
  scale: TimeScale,
  at: (time: number) => string,
): string {
  if (series.length === 0)
    return `<p class="empty">No traffic shifted yet: the journal has no shift-traffic change.</p>`;
  const top = 16;
  const plot = 180;
  const height = top + plot + 30;
  const y = (weight: number) => round(top + plot - (weight / 100) * plot);
  const parts: string[] = [];
  for (const weight of [0, 25, 50, 75, 100]) {
    parts.push(
      `<line class="grid" x1="${LABEL}" y1="${y(weight)}" x2="${LABEL + CHART}" y2="${y(weight)}"/>`,
      `<text class="tick" x="${LABEL - 8}" y="${y(weight) + 4}" text-anchor="end">${weight}%</text>`,
    );
  }
  for (const tick of timeTicks(scale))
    parts.push(
      `<text class="tick" x="${tick.x}" y="${height - 8}" text-anchor="middle">${esc(tick.label)}</text>`,
    );
  series.forEach((line, index) => {
    const colour = PALETTE[index % PALETTE.length] ?? "#2563eb";
    parts.push(
      `<path class="series" stroke="${colour}" d="${stepPath(
        line.points.map((p) => [scale.x(p.time), y(p.weight)]),
        scale.x(scale.end),
      )}"/>`,
    );
    let previous: number | undefined;
    for (const point of line.points) {
      if (point.weight === previous) continue;
      previous = point.weight;
      const x = scale.x(point.time);
      parts.push(
        `<circle cx="${x}" cy="${y(point.weight)}" r="4" fill="${colour}"><title>${esc(`${at(point.time)} ${point.weight}% (${point.cause})`)}</title></circle>`,
        `<text class="value" x="${x + 6}" y="${y(point.weight) - 6}" fill="${colour}">${point.weight}%</text>`,
      );
    }
  });
  const legend = series
    .map(
      (line, index) =>
        `<span class="key" style="background:${PALETTE[index % PALETTE.length] ?? "#2563eb"}"></span><code>${esc(line.address)}</code>`,
    )
    .join(" ");
  const svg = `<p class="legend">share of requests sent to the target: ${legend}</p><svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="share of traffic on the target over time">${parts.join("")}</svg>`;
  const rows = series
    .flatMap((line) =>
      line.points.map(
        (p) =>
          `<tr><td><code>${esc(line.address)}</code></td><td>${esc(at(p.time))}</td><td class="num">${p.weight}%</td><td>${esc(p.cause)}</td></tr>`,
      ),
    )
    .join("");
  return `${svg}<table class="series-table"><thead><tr><th>VirtualService</th><th>at</th><th>to the target</th><th>by</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A step line: flat until the next point, then straight up or down, and flat to `endX`. */
function stepPath(points: [number, number][], endX: number): string {
  const [first, ...rest] = points;
  if (!first) return "";
  let d = `M${first[0]} ${first[1]}`;
  for (const [x, y] of rest) d += ` H${x} V${y}`;
  return `${d} H${Math.max(endX, points.at(-1)?.[0] ?? endX)}`;
}

function dnsSection(
  series: readonly Series<DnsPoint>[],
  scale: TimeScale,
  at: (time: number) => string,
): string {
  if (series.length === 0)
    return `<p class="empty">No DNS change yet: the journal has no DNS record change.</p>`;
  const lane = 34;
  const parts: string[] = [];
  const colours = new Map<string, string>();
  const colourOf = (value: string) => {
    if (!colours.has(value)) colours.set(value, PALETTE[colours.size % PALETTE.length] ?? "#2563eb");
    return colours.get(value) ?? "#2563eb";
  };
  let y = 10;
  for (const line of series) {
    parts.push(`<text class="label" x="${LABEL}" y="${y + 14}">${esc(line.address)}</text>`);
    y += 22;
    for (const [name, field] of [
      ["value", "value"],
      ["TTL", "ttl"],
    ] as const) {
      parts.push(
        `<text class="tick" x="${LABEL - 8}" y="${y + lane / 2 + 4}" text-anchor="end">${name}</text>`,
      );
      line.points.forEach((point, index) => {
        const next = line.points[index + 1];
        const x = scale.x(point.time);
        const w = Math.max(scale.x(next?.time ?? scale.end) - x, 2);
        const text = point[field];
        const fill = field === "value" ? colourOf(text) : ttlShade(point.ttl);
        parts.push(
          `<rect class="segment" x="${x}" y="${y}" width="${round(w)}" height="${lane - 6}" fill="${fill}"><title>${esc(`${at(point.time)} ${name} ${text} (${point.cause})`)}</title></rect>`,
        );
        // Only a label that fits; the table below has every value.
        if (w > text.length * 7 + 8)
          parts.push(`<text class="on-bar" x="${round(x + 5)}" y="${y + lane / 2 + 1}">${esc(text)}</text>`);
      });
      y += lane;
    }
    y += 8;
  }
  for (const tick of timeTicks(scale))
    parts.push(
      `<text class="tick" x="${tick.x}" y="${y + 12}" text-anchor="middle">${esc(tick.label)}</text>`,
    );
  const height = y + 22;
  const legend = [...colours]
    .map(
      ([value, colour]) => `<span class="key" style="background:${colour}"></span><code>${esc(value)}</code>`,
    )
    .join(" ");
  const svg = `<p class="legend">values ${legend} &nbsp;·&nbsp; TTL: the lower, the darker</p><svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="DNS record value and TTL over time">${parts.join("")}</svg>`;
  const rows = series
    .flatMap((line) =>
      line.points.map(
        (p) =>
          `<tr><td><code>${esc(line.address)}</code></td><td>${esc(at(p.time))}</td><td><code>${esc(p.value)}</code></td><td class="num">${esc(p.ttl)}</td><td>${esc(p.cause)}</td></tr>`,
      ),
    )
    .join("");
  return `${svg}<table class="series-table"><thead><tr><th>record</th><th>at</th><th>value</th><th>TTL</th><th>by</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Lower TTLs darker: the lowered TTL is the one that makes a cutover quick. */
function ttlShade(ttl: string): string {
  const seconds = Number.parseInt(ttl, 10);
  if (Number.isNaN(seconds)) return "#94a3b8";
  if (seconds <= 10) return "#115e59";
  if (seconds <= 60) return "#0d9488";
  if (seconds <= 600) return "#2dd4bf";
  return "#5eead4";
}

function rollbackSection(model: ReportModel): string {
  if (model.rollbackRefused !== undefined)
    return `<p class="nothing">Nothing to roll back: ${esc(model.rollbackRefused)}</p>`;
  if (model.rollbackPreview === undefined)
    return `<p class="nothing">Nothing to roll back: the journal holds no change that is not undone already.</p>`;
  // The very text `clustershift rollback` shows before it asks, each line coloured by what undoing it does.
  const lines = model.rollbackPreview
    .trimEnd()
    .split("\n")
    .map((line) => {
      const symbol = line.trimStart()[0];
      const cls =
        line.startsWith("    ") && symbol === "-"
          ? "del"
          : line.startsWith("    ") && symbol === "~"
            ? "upd"
            : line.startsWith("    ") && symbol === "+"
              ? "add"
              : "";
      return cls ? `<span class="${cls}">${esc(line)}</span>` : esc(line);
    });
  return `<p>What <code>clustershift rollback -f PLAYBOOK</code> would undo, newest first, as it lists them before it asks:</p><pre class="preview">${lines.join("\n")}</pre>`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const CSS = `
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--ok:#16a34a;--bad:#dc2626;--open:#d97706;--idle:#94a3b8}
*{box-sizing:border-box}
body{margin:0;padding:28px 40px 40px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#f8fafc}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 20px;margin-bottom:12px}
h1{margin:0;font-size:26px}
h2{margin:0 0 10px;font-size:18px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:16px 0;overflow-x:auto}
dl{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0;width:100%}
dl div{display:flex;gap:6px}dt{color:var(--muted)}dd{margin:0;font-weight:600}
.phase{margin:0;padding:3px 12px;border-radius:999px;font-weight:600;color:#fff}
.phase-ok{background:var(--ok)}.phase-back{background:#475569}.phase-open{background:var(--open)}.phase-idle{background:var(--idle)}
.legend{margin:0 0 6px;color:var(--muted);font-size:12px}
.key{display:inline-block;width:14px;height:10px;border-radius:2px;margin:0 4px 0 12px;vertical-align:middle}
.key.step{background:var(--ok)}.key.gate{background:#a78bfa}.key.wait{background:#38bdf8}.key.rollback{background:#fecaca}
svg.chart{display:block;max-width:100%;height:auto}
.grid{stroke:var(--line);stroke-width:1}
.tick{fill:var(--muted);font-size:11px}
.label{font-size:12px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;fill:var(--fg)}
.band{fill:#f8fafc}
.bar.passed{fill:var(--ok)}.bar.failed{fill:var(--bad)}.bar.not-supported{fill:var(--idle)}.bar.running{fill:var(--open)}.bar.stopped{fill:var(--idle)}
.gate-wait{fill:#ddd6fe}.gate-wait.failed{fill:#fecaca}
.gate{stroke:#fff;stroke-width:1.5}.gate.passed,.gate.promoted{fill:#7c3aed}.gate.failed{fill:var(--bad)}.gate.waiting{fill:var(--open)}
.wait{fill:#38bdf8}.wait.open{fill:#fbbf24}
.rollback{fill:#fee2e2;opacity:.8}
.series{fill:none;stroke-width:2.5}
.value{font-size:12px;font-weight:700}
.segment{stroke:#fff;stroke-width:1}
.on-bar{fill:#fff;font-size:12px;font-weight:600;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
table{border-collapse:collapse;width:100%;margin-top:12px;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:5px 8px}
td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-weight:600}
tr.sub td:first-child{padding-left:26px;color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.open{background:var(--open)}.badge.idle{background:var(--idle)}
.again{color:var(--muted);font-style:italic}
ul.changes,ul.measurements{margin:4px 0 0;padding-left:18px}
ul.measurements li.ok{color:#15803d}ul.measurements li.bad{color:var(--bad)}ul.measurements li.maybe{color:var(--open)}
li.reverted code{text-decoration:line-through;color:var(--muted)}
summary{cursor:pointer;color:#334155}
pre.preview{background:#0f172a;color:#e2e8f0;padding:14px 16px;border-radius:8px;overflow-x:auto;font-size:12.5px}
pre .del{color:#fca5a5}pre .upd{color:#fcd34d}pre .add{color:#86efac}
.nothing{font-size:16px;font-weight:600;color:var(--ok)}
.empty{color:var(--muted)}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
footer{color:var(--muted);font-size:12px}
`;
