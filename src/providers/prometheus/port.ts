/** One series of an instant query; a scalar result is one sample without labels. */
export interface Sample {
  labels: Record<string, string>;
  /** May be NaN or ±Inf: Prometheus sends them as strings and a 0/0 ratio is NaN. */
  value: number;
}

/** One series of a range query: its samples oldest first, `time` in Unix seconds. */
export interface RangeSeries {
  labels: Record<string, string>;
  /** Values may be NaN or ±Inf, as in {@link Sample}. */
  points: { time: number; value: number }[];
}

/** What the analysis gate needs of Prometheus: its HTTP API's instant query (and range query, to compare). */
export interface PrometheusPort {
  readonly url: string;
  /** `GET /api/v1/query`; rejects with the API's `errorType: error` on a bad query or an HTTP failure. */
  query(expr: string, signal?: AbortSignal): Promise<Sample[]>;
  /**
   * `GET /api/v1/query_range` from `start` to `end` (Unix seconds) every `stepSeconds`; rejects as `query` does.
   * Optional: the threshold gate needs only instant queries, and its fakes have none.
   */
  queryRange?(
    expr: string,
    range: { start: number; end: number; stepSeconds: number },
    signal?: AbortSignal,
  ): Promise<RangeSeries[]>;
}
