import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { isObject } from "./json.js";
import { badRequest } from "./status.js";

/** Failures injected into a cluster's Kubernetes API paths (never the control API), or into the sandbox DNS. */
export interface FaultConfig {
  /** Probability (0–1) that a request fails with one of `statuses`. */
  errorRate?: number;
  /** Statuses to fail with, picked at random; default [500, 503, 429]. */
  statuses?: number[];
  /** Retry-After on 429 responses; default 1. */
  retryAfterSeconds?: number;
  /** Added to every request before it is handled. */
  latencyMs?: number;
  /** Probability (0–1) that the connection is destroyed without a response, before the request is carried out. */
  dropRate?: number;
  /** Only requests with these methods are failed or dropped (latency applies to all); default all. */
  methods?: string[];
  /**
   * Probability (0–1) that a write is carried out and stored, and then its connection destroyed instead of the
   * reply being sent: the client sees a socket error although the server changed state, the failure a
   * write-ahead journal exists for. Only writes that succeed lose their reply; a refused one (4xx) is answered.
   */
  replyLostRate?: number;
  /** Methods whose replies `replyLostRate` may lose; default POST, PUT, PATCH, DELETE. */
  replyLostMethods?: string[];
  /** Stop failing, dropping and losing replies after this many injected faults; default unlimited. */
  maxFaults?: number;
  /**
   * Seed (an unsigned 32-bit integer) of every random choice, so that a run is repeatable. Without one a fresh
   * seed is drawn, and `current` reports it.
   */
  seed?: number;
}

export type FaultAction =
  | { kind: "pass" }
  | { kind: "drop" }
  | { kind: "fail"; status: number; retryAfterSeconds: number }
  | { kind: "lose-reply" };

const DEFAULT_STATUSES = [500, 503, 429];
const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** mulberry32: a small, well-known 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a run that was given none. */
export function freshSeed(): number {
  return randomBytes(4).readUInt32BE(0);
}

/** FNV-1a of `text`, mixed with `seed`: the seed of one request key's own stream. */
function keyedSeed(seed: number, text: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

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

function methodList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((m) => typeof m !== "string"))
    throw badRequest(`${field} must be a list of strings`);
  return (value as string[]).map((m) => m.toUpperCase());
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
  const replyLostRate = probability(body["replyLostRate"], "replyLostRate");
  if (replyLostRate !== undefined) out.replyLostRate = replyLostRate;
  const latencyMs = nonNegative(body["latencyMs"], "latencyMs");
  if (latencyMs !== undefined) out.latencyMs = latencyMs;
  const retryAfter = nonNegative(body["retryAfterSeconds"], "retryAfterSeconds");
  if (retryAfter !== undefined) out.retryAfterSeconds = retryAfter;
  const maxFaults = nonNegative(body["maxFaults"], "maxFaults");
  if (maxFaults !== undefined) out.maxFaults = maxFaults;
  const seed = body["seed"];
  if (seed !== undefined) {
    if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw badRequest("seed must be an integer between 0 and 4294967295");
    out.seed = seed;
  }
  const statuses = body["statuses"];
  if (statuses !== undefined) {
    if (!Array.isArray(statuses) || statuses.some((s) => typeof s !== "number" || s < 400 || s > 599)) {
      throw badRequest("statuses must be a list of HTTP error statuses (400–599)");
    }
    out.statuses = statuses as number[];
  }
  const methods = methodList(body["methods"], "methods");
  if (methods !== undefined) out.methods = methods;
  const replyLostMethods = methodList(body["replyLostMethods"], "replyLostMethods");
  if (replyLostMethods !== undefined) out.replyLostMethods = replyLostMethods;
  return out;
}

export class FaultInjector {
  private config: FaultConfig = {};
  private seed = freshSeed();
  private injected = 0;
  /**
   * One random stream per request key (method and path), each seeded from the seed and the key. Requests that
   * run concurrently reach the server in a different order from run to run; with one shared stream, that order
   * would decide which request fails. Keyed, the fate of the n-th request to a key depends on the seed alone.
   */
  private streams = new Map<string, () => number>();

  /** The configuration with the seed in use, so that a run given no seed can still be repeated. */
  get current(): FaultConfig {
    return Object.keys(this.config).length === 0 ? {} : { ...this.config, seed: this.seed };
  }

  /** Faults injected since the last `set`. */
  get count(): number {
    return this.injected;
  }

  set(config: FaultConfig): void {
    this.config = parseFaultConfig(config);
    this.seed = this.config.seed ?? freshSeed();
    this.streams = new Map();
    this.injected = 0;
  }

  get latencyMs(): number {
    return this.config.latencyMs ?? 0;
  }

  /** What to do with a request of `method` to `path` (its path without the query). */
  decide(method: string, path = ""): FaultAction {
    const c = this.config;
    const verb = method.toUpperCase();
    const key = `${verb} ${path}`;
    let random = this.streams.get(key);
    if (!random) {
      random = mulberry32(keyedSeed(this.seed, key));
      this.streams.set(key, random);
    }
    // Every request takes the same four draws, whatever the configuration: a request's fate stays tied to its
    // place in its key's stream.
    const [drop, error, which, lost] = [random(), random(), random(), random()];
    if (c.maxFaults !== undefined && this.injected >= c.maxFaults) return { kind: "pass" };
    const faultable = !c.methods || c.methods.includes(verb);
    if (faultable && c.dropRate && drop < c.dropRate) {
      this.injected++;
      return { kind: "drop" };
    }
    if (faultable && c.errorRate && error < c.errorRate) {
      this.injected++;
      const statuses = c.statuses && c.statuses.length > 0 ? c.statuses : DEFAULT_STATUSES;
      const status = statuses[Math.floor(which * statuses.length)] ?? 500;
      return { kind: "fail", status, retryAfterSeconds: c.retryAfterSeconds ?? 1 };
    }
    if (c.replyLostRate && lost < c.replyLostRate && (c.replyLostMethods ?? WRITE_METHODS).includes(verb)) {
      this.injected++;
      return { kind: "lose-reply" };
    }
    return { kind: "pass" };
  }

  /** A reply chosen to be lost was an error and went out after all: it was no fault. */
  refund(): void {
    if (this.injected > 0) this.injected--;
  }
}

/**
 * Lets the handler carry the request out and answer into `res` as usual, but holds the answer back: a success
 * (below 400) is never sent, the connection is destroyed instead; an error goes out as written, and `delivered`
 * is called. Only for replies written with `writeHead` and one `end`, as every reply but a watch's is.
 */
export function holdReply(res: ServerResponse, delivered: () => void): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let head: unknown[] | undefined;
  res.writeHead = (...args: unknown[]) => {
    head = args;
    return res;
  };
  res.end = ((...args: unknown[]) => {
    const status = typeof head?.[0] === "number" ? head[0] : res.statusCode;
    if (status < 400) {
      res.socket?.destroy();
      return res;
    }
    delivered();
    if (head) writeHead(...head);
    return end(...args);
  }) as typeof res.end;
}
