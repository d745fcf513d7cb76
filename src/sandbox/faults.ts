import { isObject } from "./json.js";
import { badRequest } from "./status.js";

/** Failures injected into a cluster's Kubernetes API paths (never the control API). */
export interface FaultConfig {
  /** Probability (0–1) that a request fails with one of `statuses`. */
  errorRate?: number;
  /** Statuses to fail with, picked at random; default [500, 503, 429]. */
  statuses?: number[];
  /** Retry-After on 429 responses; default 1. */
  retryAfterSeconds?: number;
  /** Added to every request before it is handled. */
  latencyMs?: number;
  /** Probability (0–1) that the connection is destroyed without a response. */
  dropRate?: number;
  /** Only requests with these methods are failed or dropped (latency applies to all); default all. */
  methods?: string[];
  /** Stop failing and dropping after this many injected faults; default unlimited. */
  maxFaults?: number;
}

export type FaultAction =
  { kind: "pass" } | { kind: "drop" } | { kind: "fail"; status: number; retryAfterSeconds: number };

const DEFAULT_STATUSES = [500, 503, 429];

function probability(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || value < 0 || value > 1)
    throw badRequest(`${field} must be a number between 0 and 1`);
  return value;
}

function nonNegative(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || value < 0) throw badRequest(`${field} must be a non-negative number`);
  return value;
}

/** Checks a FaultConfig arriving as JSON over the control API. */
export function parseFaultConfig(body: unknown): FaultConfig {
  if (body === undefined || body === null) return {};
  if (!isObject(body)) throw badRequest("faults must be a JSON object");
  const out: FaultConfig = {};
  const errorRate = probability(body["errorRate"], "errorRate");
  if (errorRate !== undefined) out.errorRate = errorRate;
  const dropRate = probability(body["dropRate"], "dropRate");
  if (dropRate !== undefined) out.dropRate = dropRate;
  const latencyMs = nonNegative(body["latencyMs"], "latencyMs");
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  const retryAfter = nonNegative(body["retryAfterSeconds"], "retryAfterSeconds");
  if (retryAfter !== undefined) out.retryAfterSeconds = retryAfter;
  const maxFaults = nonNegative(body["maxFaults"], "maxFaults");
  if (maxFaults !== undefined) out.maxFaults = maxFaults;
  const statuses = body["statuses"];
  if (statuses !== undefined) {
    if (!Array.isArray(statuses) || statuses.some((s) => typeof s !== "number" || s < 400 || s > 599)) {
      throw badRequest("statuses must be a list of HTTP error statuses (400–599)");
    }
    out.statuses = statuses as number[];
  }
  const methods = body["methods"];
  if (methods !== undefined) {
    if (!Array.isArray(methods) || methods.some((m) => typeof m !== "string"))
      throw badRequest("methods must be a list of strings");
    out.methods = (methods as string[]).map((m) => m.toUpperCase());
  }
  return out;
}

export class FaultInjector {
  private config: FaultConfig = {};
  private injected = 0;

  get current(): FaultConfig {
    return { ...this.config };
  }

  /** Faults injected since the last `set`. */
  get count(): number {
    return this.injected;
  }

  set(config: FaultConfig): void {
    this.config = parseFaultConfig(config);
    this.injected = 0;
  }

  get latencyMs(): number {
    return this.config.latencyMs ?? 0;
  }

  decide(method: string, random: () => number = Math.random): FaultAction {
    const c = this.config;
    if (c.maxFaults !== undefined && this.injected >= c.maxFaults) return { kind: "pass" };
    if (c.methods && !c.methods.includes(method.toUpperCase())) return { kind: "pass" };
    if (c.dropRate && random() < c.dropRate) {
      this.injected++;
      return { kind: "drop" };
    }
    if (c.errorRate && random() < c.errorRate) {
      this.injected++;
      const statuses = c.statuses && c.statuses.length > 0 ? c.statuses : DEFAULT_STATUSES;
      const status = statuses[Math.floor(random() * statuses.length)] ?? 500;
      return { kind: "fail", status, retryAfterSeconds: c.retryAfterSeconds ?? 1 };
    }
    return { kind: "pass" };
  }
}
