import { describe, expect, it } from "vitest";
import { analysisGate, type Measurement } from "../../src/engine/gates/analysis.js";
import { prometheusClient } from "../../src/providers/prometheus/client.js";
import { gateContext } from "./gate-context.js";
import { hasPrometheus, successRate, useIstioPrometheus } from "./prometheus-server.js";
import { requireTool } from "../support/tools.js";

const prometheus = useIstioPrometheus(
  { healthy: { ok: 10, errors: 0 }, broken: { ok: 8, errors: 2 }, idle: { ok: 0, errors: 0 } },
  ["healthy", "broken"],
);

const gate = (query: string, extra: Record<string, unknown> = {}, metric: Record<string, unknown> = {}) => ({
  type: "analysis",
  prometheus: prometheus.url(),
  interval: "1s",
  count: 3,
  failureLimit: 0,
  inconclusiveLimit: 0,
  metrics: [{ name: "success-rate", query, successCondition: ">= 0.99", ...metric }],
  ...extra,
});

const measurements = (notes: { note: string; data?: unknown }[]) =>
  notes.filter((n) => n.note === "measurement").map((n) => n.data as Measurement);

describe("analysis gate against a real Prometheus", () => {
  requireTool("prometheus", hasPrometheus, "apt-get install prometheus (.ci/run does)");
  it("Given a client, When it runs an instant query, Then it gets the scraped counter as a sample", async () => {
    const samples = await prometheusClient(prometheus.url()).query(
      'istio_requests_total{destination_cluster="healthy",response_code="200"}',
    );
    expect(samples).toHaveLength(1);
    expect(samples[0]?.labels).toMatchObject({ destination_service_name: "frontend", job: "istio" });
    expect(samples[0]?.value).toBeGreaterThan(0);
  });

  it("Given a healthy target, When analysed 3 times 1s apart, Then every measurement succeeds and the gate passes", async () => {
    const ctx = gateContext();
    const started = Date.now();
    const outcome = await analysisGate.run(gate(successRate("healthy")), ctx);
    expect(outcome).toEqual({ outcome: "passed", detail: "success-rate 3/3 successful" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(measurements(ctx.notes)).toEqual(
      [1, 2, 3].map((index) => ({
        metric: "success-rate",
        index,
        count: 3,
        value: 1,
        phase: "successful",
        detail: "1 meets >= 0.99",
      })),
    );
    expect(ctx.lines).toEqual(
      [1, 2, 3].map((i) => `i analysis success-rate ${i}/3: 1 meets >= 0.99 → successful`),
    );
  });

  it("Given 20% of requests failing, When analysed with failureLimit 1, Then the second failure fails the gate", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(gate(successRate("broken"), { failureLimit: 1 }), ctx);
    expect(outcome).toEqual({
      outcome: "failed",
      detail: "success-rate: 2 failed measurement(s), limit 1; last 0.8 does not meet >= 0.99",
    });
    expect(measurements(ctx.notes).map((m) => [Number(Number(m.value).toFixed(6)), m.phase])).toEqual([
      [0.8, "failed"],
      [0.8, "failed"],
    ]);
    expect(ctx.lines[0]).toBe("! analysis success-rate 1/3: 0.8 does not meet >= 0.99 → failed");
  });

  it("Given an error-rate metric with only a failure condition, When it holds, Then the gate fails at once", async () => {
    const errorRate = `1 - (${successRate("broken")})`;
    const outcome = await analysisGate.run(
      gate(errorRate, {}, { name: "error-rate", successCondition: undefined, failureCondition: "> 0.1" }),
      gateContext(),
    );
    expect(outcome).toMatchObject({
      outcome: "failed",
      detail: expect.stringContaining("meets failure condition > 0.1") as string,
    });
  });

  it("Given a target without requests (0/0 is NaN), When analysed, Then the measurement is inconclusive and the gate fails", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(gate(successRate("idle")), ctx);
    expect(outcome).toEqual({
      outcome: "failed",
      detail:
        "success-rate: inconclusive, 1 measurement(s) without a verdict, limit 0; last NaN (no requests in the window?)",
    });
    expect(measurements(ctx.notes)).toEqual([
      expect.objectContaining({ value: "NaN", phase: "inconclusive" }) as Measurement,
    ]);
  });

  it("Given no series at all, When analysed, Then no data is inconclusive, never a success", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(
      gate(successRate("nowhere"), { inconclusiveLimit: 1, count: 2 }),
      ctx,
    );
    expect(outcome.outcome).toBe("failed");
    expect(measurements(ctx.notes).map((m) => [m.value, m.phase, m.detail])).toEqual([
      [null, "inconclusive", "no data (the query returned no series)"],
      [null, "inconclusive", "no data (the query returned no series)"],
    ]);
  });

  it("Given a query Prometheus rejects, When analysed, Then the API's error is the measurement's detail", async () => {
    const ctx = gateContext();
    const outcome = await analysisGate.run(gate("sum(rate(istio_requests_total[5s])", { count: 1 }), ctx);
    expect(outcome.outcome).toBe("failed");
    expect(measurements(ctx.notes)[0]?.detail).toMatch(
      /^Prometheus query failed \(bad_data\): .*parse error/,
    );
  });
});
