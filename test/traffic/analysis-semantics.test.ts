import { describe, expect, it } from "vitest";
import { analysisGate } from "../../src/engine/gates/analysis.js";
import type { PrometheusPort, Sample } from "../../src/providers/prometheus/port.js";
import { gateContext } from "./gate-context.js";

const URL = "http://prometheus.test:9090";

/** Answers each query with the next scripted result: a number, NaN, "empty" or an Error. */
function scripted(results: (number | "empty" | Error)[]): PrometheusPort {
  let i = 0;
  return {
    url: URL,
    query(): Promise<Sample[]> {
      const next = results[i++];
      if (next === undefined) throw new Error("script exhausted");
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve(next === "empty" ? [] : [{ labels: {}, value: next }]);
    },
  };
}

function run(
  results: (number | "empty" | Error)[],
  spec: Record<string, unknown>,
  metric: Record<string, unknown> = {},
) {
  const ctx = gateContext(new Map([[`prometheus:${URL}`, scripted(results)]]));
  const gate = {
    type: "analysis",
    prometheus: URL,
    interval: "0s",
    count: results.length,
    failureLimit: 0,
    inconclusiveLimit: 0,
    metrics: [{ name: "m", query: "q", ...metric }],
    ...spec,
  };
  return analysisGate.run(gate, ctx).then((outcome) => ({
    outcome: outcome.outcome,
    phases: ctx.notes.map((n) => (n.data as { phase: string }).phase),
  }));
}

describe("analysis gate semantics (Argo Rollouts)", () => {
  it.each([
    { name: "all successful", results: [1, 1, 1], spec: {}, outcome: "passed", measured: 3 },
    {
      name: "one failure within failureLimit 1",
      results: [1, 0.5, 1],
      spec: { failureLimit: 1 },
      outcome: "passed",
      measured: 3,
    },
    {
      name: "failures beyond failureLimit stop early",
      results: [0.5, 0.5, 1, 1],
      spec: { failureLimit: 1 },
      outcome: "failed",
      measured: 2,
    },
    {
      name: "NaN within inconclusiveLimit 1",
      results: [NaN, 1, 1],
      spec: { inconclusiveLimit: 1 },
      outcome: "passed",
      measured: 3,
    },
    {
      name: "no data beyond inconclusiveLimit",
      results: ["empty", "empty"] as const,
      spec: { inconclusiveLimit: 1 },
      outcome: "failed",
      measured: 2,
    },
    {
      name: "a query error is inconclusive",
      results: [new Error("HTTP 503")],
      spec: {},
      outcome: "failed",
      measured: 1,
    },
  ])(
    "Given $name, When run, Then the gate is $outcome after $measured measurement(s)",
    async ({ results, spec, outcome, measured }) => {
      const result = await run(
        [...results],
        { ...spec, count: results.length },
        { successCondition: ">= 0.99" },
      );
      expect(result.outcome).toBe(outcome);
      expect(result.phases).toHaveLength(measured);
    },
  );

  it.each([
    {
      conditions: { successCondition: ">= 0.99", failureCondition: "< 0.9" },
      value: 0.95,
      phase: "inconclusive",
    },
    { conditions: { successCondition: ">= 0.99", failureCondition: "< 0.9" }, value: 0.5, phase: "failed" },
    { conditions: { successCondition: ">= 0.99", failureCondition: "< 0.9" }, value: 1, phase: "successful" },
    { conditions: { failureCondition: "> 500" }, value: 200, phase: "successful" },
    { conditions: { failureCondition: "> 500" }, value: 900, phase: "failed" },
    { conditions: { successCondition: "< 500" }, value: 900, phase: "failed" },
    { conditions: {}, value: 42, phase: "successful" },
    { conditions: {}, value: NaN, phase: "inconclusive" },
  ])(
    "Given $conditions and $value, When measured, Then the measurement is $phase",
    async ({ conditions, value, phase }) => {
      const result = await run([value], { inconclusiveLimit: 1, failureLimit: 1 }, conditions);
      expect(result.phases).toEqual([phase]);
    },
  );

  it("Given a condition that does not parse, When run, Then it says which one", async () => {
    await expect(run([1], {}, { successCondition: "at least 0.99" })).rejects.toThrow(
      'analysis metric m: successCondition "at least 0.99" is not a condition such as ">= 0.99"',
    );
  });

  it("Given a gate, When described, Then the plan line says what it measures", () => {
    const gate = {
      type: "analysis",
      prometheus: URL,
      interval: "30s",
      count: 5,
      metrics: [
        { name: "success-rate", query: "q", successCondition: ">= 0.99" },
        { name: "latency", query: "q", failureCondition: "> 500" },
      ],
    };
    expect(analysisGate.describe(gate)).toBe("analysis success-rate >= 0.99; latency fails > 500, 5 × 30s");
  });
});
