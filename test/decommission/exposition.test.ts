import { describe, expect, it } from "vitest";
import { parseSelector, sumSamples } from "../../src/providers/prometheus/exposition.js";

/** What Envoy's /stats/prometheus serves, trimmed: comments, several series, a label value with braces. */
const ENVOY = `# TYPE istio_requests_total counter
istio_requests_total{response_code="200",reporter="source",source_workload="istio-ingressgateway"} 120
istio_requests_total{response_code="503",reporter="source",source_workload="istio-ingressgateway"} 3
istio_requests_total{response_code="200",reporter="destination",source_workload="frontend"} 999
istio_requests_total{reporter="source",source_workload="x",request_path="/a{b}\\"c"} 7 1700000000000
istio_requests_total_other{reporter="source"} 1000
# HELP envoy_cluster_upstream_rq_total
envoy_cluster_upstream_rq_total 5
`;

describe("Prometheus text exposition", () => {
  it("Given a selector with exact matchers, When parsed, Then its name and labels come back; a regex matcher is refused", () => {
    expect(parseSelector('istio_requests_total{reporter="source", source_workload="gw"}')).toEqual({
      name: "istio_requests_total",
      labels: { reporter: "source", source_workload: "gw" },
    });
    expect(parseSelector("istio_requests_total")).toEqual({ name: "istio_requests_total", labels: {} });
    expect(parseSelector('istio_requests_total{code=~"5.."}')).toBeUndefined();
  });

  it("Given Envoy's stats, When the gateway's counters are summed, Then only matching series of that name count", () => {
    const gateway = parseSelector('istio_requests_total{source_workload="istio-ingressgateway"}');
    if (!gateway) throw new Error("selector");
    expect(sumSamples(ENVOY, gateway)).toEqual({ sum: 123, series: 2 });
    const source = parseSelector('istio_requests_total{reporter="source"}');
    if (!source) throw new Error("selector");
    expect(sumSamples(ENVOY, source)).toEqual({ sum: 130, series: 3 });
    expect(sumSamples(ENVOY, { name: "envoy_cluster_upstream_rq_total", labels: {} })).toEqual({
      sum: 5,
      series: 1,
    });
    expect(sumSamples(ENVOY, { name: "missing", labels: {} })).toEqual({ sum: 0, series: 0 });
  });
});
