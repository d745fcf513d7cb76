import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { durationMs } from "../../playbook/duration.js";
import type { ProbeSpec } from "../../playbook/schema.js";
import { RuntimeError } from "../errors.js";
import type { GateRunner, GateSpec } from "../types.js";

/** One request's result: the status, or why there was none (`timeout after 5s`, `ECONNREFUSED`). */
export type ProbeResult = { status: number } | { error: string };

/**
 * `requests` sequential GETs of `url` (with `host` as the Host header, and as TLS server name, when given);
 * a request succeeds when it answers `expectStatus` within `timeout`. Passes when the success rate is at least
 * `minSuccessRate`. Redirects are not followed: a 301 is a 301.
 */
export const probeGate: GateRunner = {
  type: "probe",
  describe(gate) {
    const spec = probeOf(gate);
    const host = spec.host ? ` (Host: ${spec.host})` : "";
    return `probe ${spec.url}${host}: ${spec.requests} × HTTP ${spec.expectStatus}, ≥ ${percent(spec.minSuccessRate)} within ${spec.timeout}`;
  },
  async run(gate, ctx) {
    const spec = probeOf(gate);
    const timeoutMs = durationMs(spec.timeout);
    const results: ProbeResult[] = [];
    for (let i = 0; i < spec.requests; i++) {
      ctx.signal.throwIfAborted();
      results.push(await probeOnce(spec.url, spec.host, timeoutMs, ctx.signal));
    }
    const ok = results.filter((r) => "status" in r && r.status === spec.expectStatus).length;
    const rate = ok / spec.requests;
    const detail = `${ok}/${spec.requests} answered HTTP ${spec.expectStatus} (${percent(rate)}, need ${percent(spec.minSuccessRate)})${tallyOf(results, spec.expectStatus)}`;
    await ctx.note("probe", { url: spec.url, host: spec.host ?? null, ok, requests: spec.requests, results });
    if (rate >= spec.minSuccessRate) {
      ctx.progress.info(`probe ${spec.url}: ${detail}`);
      return { outcome: "passed", detail };
    }
    ctx.progress.warn(`probe ${spec.url}: ${detail}`);
    return { outcome: "failed", detail };
  },
};

export function probeOnce(
  url: string,
  host: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs}ms`)), timeoutMs);
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => req.destroy(new Error("aborted"));
    const req = request(
      target,
      {
        method: "GET",
        agent: false,
        headers: host ? { host } : {},
        ...(host && target.protocol === "https:" ? { servername: host } : {}),
      },
      (res) => {
        // The status decides; the body is read to the end so the socket closes cleanly.
        res.resume();
        res.on("end", () => done({ status: res.statusCode ?? 0 }));
        res.on("error", (error) => done({ error: error.message }));
        res.on("close", () => done({ error: "connection closed before the response ended" }));
      },
    );
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    req.on("close", () => done({ error: "connection closed without a response" }));
    req.end();
  });
}

/** `; 2 × HTTP 503, 1 × timeout after 5000ms` for what did not succeed. */
function tallyOf(results: ProbeResult[], expected: number): string {
  const counts = new Map<string, number>();
  for (const result of results) {
    const key =
      "status" in result ? (result.status === expected ? undefined : `HTTP ${result.status}`) : result.error;
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts.size ? `; ${[...counts].map(([key, n]) => `${n} × ${key}`).join(", ")}` : "";
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

function probeOf(gate: GateSpec): ProbeSpec {
  const spec = gate as unknown as Partial<ProbeSpec>;
  if (typeof spec.url !== "string") throw new RuntimeError("probe gate needs `url`: this is a bug");
  const probe: ProbeSpec = {
    url: spec.url,
    requests: spec.requests ?? 10,
    expectStatus: spec.expectStatus ?? 200,
    minSuccessRate: spec.minSuccessRate ?? 1,
    timeout: spec.timeout ?? "5s",
  };
  if (spec.host !== undefined) probe.host = spec.host;
  return probe;
}
