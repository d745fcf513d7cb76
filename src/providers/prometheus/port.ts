/** One series of an instant query; a scalar result is one sample without labels. */
export interface Sample {
  labels: Record<string, string>;
  /** May be NaN or ±Inf: Prometheus sends them as strings and a 0/0 ratio is NaN. */
  value: number;
}

/** What the analysis gate needs of Prometheus: its HTTP API's instant query. */
export interface PrometheusPort {
  readonly url: string;
  /** `GET /api/v1/query`; rejects with the API's `errorType: error` on a bad query or an HTTP failure. */
  query(expr: string, signal?: AbortSignal): Promise<Sample[]>;
}
