import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { InterruptedError } from "../../src/engine/errors.js";
import { analysisGate, type Measurement } from "../../src/engine/gates/analysis.js";
import { prometheus } from "../../src/providers/prometheus/index.js";
import { prometheusClient } from "../../src/providers/prometheus/client.js";
import { closeServer, listenOnLoopback } from "../support/net.js";
import { eventually } from "../support/wait.js";
import { gateContext } from "./gate-context.js";

/** Far longer than any test waits: a query that ends did so by the signal, or by a timeout the test set itself. */
const NEVER_MS = 600_000;

/**
 * A Prometheus that receives every query and never answers it (or, with `headersOnly`, sends its headers and
 * then stalls the body); `closed` counts the queries whose client hung up.
 */
class SilentPrometheus {
  readonly received: string[] = [];
  closed = 0;
  private server: Server | undefined;
  private readonly open = new Set<ServerResponse>();
  url = "";

  constructor(private readonly headersOnly = false) {}

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.received.push(req.url ?? "");
      this.open.add(res);
      res.on("close", () => {
        this.open.delete(res);
        this.closed += 1;
      });
      if (this.headersOnly) {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"status":"success","data":{"resultType":"vector","result":[');
      }
    });
    this.url = `http://127.0.0.1:${await listenOnLoopback(this.server)}/`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    await closeServer(this.server);
  }
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe("Prometheus queries under the run's signal", () => {
  const servers: SilentPrometheus[] = [];
  const silent = async (headersOnly = false) => {
    const server = await new SilentPrometheus(headersOnly).start();
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });

  it("Given a query the server never answers, When SIGTERM aborts the run, Then the query rejects with the interrupt itself (not a failed query) and its connection is closed", async () => {
    const server = await silent();
    const controller = new AbortController();
    const client = prometheusClient(server.url, { timeoutMs: NEVER_MS });
    const query = settle(client.query("up", controller.signal));
    await eventually(() => (server.received.length > 0 ? true : undefined), 30_000);

    const reason = new InterruptedError("SIGTERM");
    controller.abort(reason);
    expect(await query).toEqual({ error: reason });
    await eventually(() => (server.closed > 0 ? true : undefined), 30_000);
  });

  it("Given a server that sends its headers and stalls the body, When the run's signal (given to the client, not the call) aborts, Then the query rejects with the interrupt", async () => {
    const server = await silent(true);
    const controller = new AbortController();
    const ctx = { clients: new Map<string, unknown>(), signal: controller.signal };
    const query = settle(prometheus(ctx, server.url).query("up"));
    await eventually(() => (server.received.length > 0 ? true : undefined), 30_000);

    const reason = new InterruptedError("SIGINT");
    controller.abort(reason);
    expect(await query).toEqual({ error: reason });
    await eventually(() => (server.closed > 0 ? true : undefined), 30_000);
  });

  it("Given a run already interrupted, When a query or a range query is asked for, Then none is sent", async () => {
    const server = await silent();
    const controller = new AbortController();
    const reason = new InterruptedError("SIGTERM");
    controller.abort(reason);
    const client = prometheusClient(server.url, { signal: controller.signal });
    expect(await settle(client.query("up"))).toEqual({ error: reason });
    const range = { start: 0, end: 60, stepSeconds: 15 };
    expect(await settle(client.queryRange!("up", range))).toEqual({ error: reason });
    expect(server.received).toEqual([]);
  });

  it("Given a query the server never answers and no signal, When its timeout passes, Then it fails saying so", async () => {
    const server = await silent();
    const result = await settle(prometheusClient(server.url, { timeoutMs: 300 }).query("up"));
    expect("error" in result && (result.error as Error).message).toBe(
      `Prometheus at ${server.url} did not answer: no answer within 300ms`,
    );
  });

  it("Given an analysis gate whose query hangs, When SIGTERM aborts the run, Then the gate ends with the interrupt: no failed verdict (which would roll back) and no measurement journaled", async () => {
    const server = await silent();
    const controller = new AbortController();
    const ctx = gateContext(new Map(), controller.signal);
    const gate = {
      type: "analysis",
      prometheus: server.url,
      interval: "1s",
      count: 3,
      failureLimit: 0,
      inconclusiveLimit: 0,
      metrics: [{ name: "success-rate", query: "up", successCondition: ">= 0.99" }],
    };
    const run = settle(analysisGate.run(gate, ctx));
    await eventually(() => (server.received.length > 0 ? true : undefined), 30_000);

    const reason = new InterruptedError("SIGTERM");
    controller.abort(reason);
    expect(await run).toEqual({ error: reason });
    const measurements = ctx.notes.filter((n) => n.note === "measurement").map((n) => n.data as Measurement);
    expect(measurements).toEqual([]);
  });
});
