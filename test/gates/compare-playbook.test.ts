import { describe, expect, it } from "vitest";
import { analysisGate } from "../../src/engine/gates/analysis.js";
import { parsePlaybook } from "../../src/playbook/load.js";

const PLAYBOOK = `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata: {name: compare}
spec:
  source:
    context: source
    ingress: {namespace: istio-system, service: istio-ingressgateway, gateway: shop/gw}
  target:
    context: target
    ingress: {namespace: asm-ingress, service: asm-ingressgateway, gateway: asm-ingress/gw}
  traffic:
    namespace: shop
    service: frontend
    port: 80
    remoteHost: frontend.target.example
    steps:
      - weight: 50
        analysis:
          prometheus: http://prometheus.example:9090
          interval: 30s
          count: 10
          compare: {clusters: {source: old, target: new}, spending: pocock}
          metrics:
            - name: p99
              query: histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{destination_cluster="{cluster}"}[1m])))
              compare: {direction: increase, effectSize: 0.2, critical: true}
            - name: errors
              query: sum(rate(istio_requests_total{destination_cluster="{cluster}",response_code=~"5.."}[1m]))
              compare: {direction: increase, nanPolicy: replace, group: errors}
      - weight: 100
`;

describe("a playbook with a compared analysis", () => {
  it("Given metrics with compare and no conditions, When parsed, Then it is valid with the defaults filled in", () => {
    const parsed = parsePlaybook(PLAYBOOK, "compare.yaml");
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const analysis = parsed.playbook.spec.traffic?.steps[0]?.analysis;
    expect(analysis?.compare).toEqual({
      clusters: { source: "old", target: "new" },
      step: "10s",
      alpha: 0.05,
      spending: "pocock",
      minSamples: 10,
      groupWeights: {},
      passScore: 95,
      marginalScore: 75,
    });
    expect(analysis?.metrics[1]?.compare).toEqual({
      direction: "increase",
      effectSize: 0.1,
      critical: false,
      group: "errors",
      nanPolicy: "replace",
    });
    expect(analysisGate.describe({ type: "analysis", ...analysis })).toBe(
      "analysis compare old vs new (alpha 0.05 pocock): p99 increase ≥20% critical; errors increase ≥10%, 10 × 30s",
    );
  });

  it("Given a metric with neither a condition nor compare, When parsed, Then the condition is still required", () => {
    const parsed = parsePlaybook(
      PLAYBOOK.replace(/\n {14}compare: \{direction: increase, nanPolicy.*\n/, "\n"),
      "compare.yaml",
    );
    expect(parsed.ok).toBe(false);
    expect(JSON.stringify(parsed)).toContain("successCondition or failureCondition is required");
    expect(JSON.stringify(parsed)).toContain("metrics[1]");
  });
});
