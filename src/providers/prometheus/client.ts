import type { PrometheusPort, RangeSeries, Sample } from "./port.js";

interface ApiResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: ApiData;
}

interface ApiData {
  resultType?: string;
  result?: unknown;
}

type SampleValue = [number, string];

export interface PrometheusClientOptions {
  /** The bound of one query, its body included (default 10 s): a server that never answers fails within it. */
  timeoutMs?: number;
  /**
   * The run's abort signal, for every query besides the one a caller passes: once either fires no query starts,
   * and one in flight is aborted (a query only reads) with the signal's reason, never as a failed query.
   */
  signal?: AbortSignal;
}

/** Prometheus HTTP API over fetch. `url` is the server's base, with or without a path prefix. */
export function prometheusClient(url: string, options: PrometheusClientOptions = {}): PrometheusPort {
  const base = url.endsWith("/") ? url : `${url}/`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  async function get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<ApiData> {
    const endpoint = new URL(path, base);
    for (const [key, value] of Object.entries(params)) endpoint.searchParams.set(key, value);
    const stops = [options.signal, signal].filter((s): s is AbortSignal => s !== undefined);
    const interrupted = () => stops.find((s) => s.aborted);
    const stopped = interrupted();
    if (stopped) throw stopped.reason;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      // The body is read under the same signals: a server that sends its headers and then stalls is stopped too.
      response = await fetch(endpoint, {
        headers: { accept: "application/json" },
        signal: AbortSignal.any([...stops, timeout]),
      });
      text = await response.text();
    } catch (error) {
      const stop = interrupted();
      if (stop) throw stop.reason;
      const why = timeout.aborted ? `no answer within ${formatSeconds(timeoutMs)}` : messageOf(error);
      throw new Error(`Prometheus at ${url} did not answer: ${why}`, { cause: error });
    }
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      throw new Error(
        `Prometheus at ${url} answered HTTP ${response.status} without JSON: ${text.slice(0, 200)}`,
      );
    }
    if (body.status !== "success" || !body.data) {
      throw new Error(
        `Prometheus query failed (${body.errorType ?? `HTTP ${response.status}`}): ${body.error ?? text}`,
      );
    }
    return body.data;
  }

  return {
    url,
    async query(expr, signal) {
      const data = await get("api/v1/query", { query: expr }, signal);
      return samplesOf(data.resultType, data.result);
    },
    async queryRange(expr, range, signal) {
      const params = {
        query: expr,
        start: String(range.start),
        end: String(range.end),
        step: String(range.stepSeconds),
      };
      const data = await get("api/v1/query_range", params, signal);
      if (data.resultType !== "matrix") {
        throw new Error(`Prometheus returned a ${data.resultType ?? "missing"} result to a range query`);
      }
      return (data.result as { metric: Record<string, string>; values: SampleValue[] }[]).map(
        (series): RangeSeries => ({
          labels: series.metric,
          points: series.values.map((point) => ({ time: point[0], value: numberOf(point) })),
        }),
      );
    },
  };
}

function samplesOf(resultType: string | undefined, result: unknown): Sample[] {
  if (resultType === "scalar") return [{ labels: {}, value: numberOf(result as SampleValue) }];
  if (resultType === "vector") {
    return (result as { metric: Record<string, string>; value: SampleValue }[]).map((series) => ({
      labels: series.metric,
      value: numberOf(series.value),
    }));
  }
  throw new Error(
    `Prometheus returned a ${resultType ?? "missing"} result; an instant query needs a vector or scalar`,
  );
}

/** Prometheus sends sample values as strings: "0.99", "NaN", "+Inf". */
function numberOf(value: SampleValue): number {
  const text = value[1];
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
