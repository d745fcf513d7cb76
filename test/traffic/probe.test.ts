import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeGate } from "../../src/engine/gates/probe.js";
import { closeServer, freePort, listenOnLoopback } from "../support/net.js";
import { gateContext } from "./gate-context.js";

let server: Server;
let base: string;
const hostsSeen: string[] = [];
let flaky = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hostsSeen.push(req.headers.host ?? "");
    const path = req.url ?? "/";
    // Never answers: only the probe's own timeout ends these requests (closeServer drops them at the end).
    if (path === "/slow") return;
    if (path === "/ok") res.statusCode = 200;
    else if (path === "/host") res.statusCode = req.headers.host === "shop.example.com" ? 200 : 404;
    else if (path === "/flaky") res.statusCode = flaky++ % 4 === 3 ? 503 : 200;
    else res.statusCode = 500;
    res.end();
  });
  base = `http://127.0.0.1:${await listenOnLoopback(server)}`;
});

afterAll(() => closeServer(server));

const probe = (spec: Record<string, unknown>) => ({
  type: "probe",
  requests: 4,
  expectStatus: 200,
  minSuccessRate: 1,
  timeout: "1s",
  ...spec,
});

describe("probe gate", () => {
  it("Given a healthy URL, When probed 4 times, Then it passes and journals the statuses", async () => {
    const ctx = gateContext();
    const outcome = await probeGate.run(probe({ url: `${base}/ok` }), ctx);
    expect(outcome).toEqual({ outcome: "passed", detail: "4/4 answered HTTP 200 (100%, need 100%)" });
    expect(ctx.notes).toEqual([
      {
        note: "probe",
        data: { url: `${base}/ok`, host: null, ok: 4, requests: 4, results: Array(4).fill({ status: 200 }) },
      },
    ]);
  });

  it("Given a Host header, When probed, Then the server sees it", async () => {
    hostsSeen.length = 0;
    const outcome = await probeGate.run(
      probe({ url: `${base}/host`, host: "shop.example.com", requests: 2 }),
      gateContext(),
    );
    expect(outcome.outcome).toBe("passed");
    expect(hostsSeen).toEqual(["shop.example.com", "shop.example.com"]);
  });

  it("Given a URL that answers 500, When probed, Then it fails naming the status", async () => {
    const ctx = gateContext();
    const outcome = await probeGate.run(probe({ url: `${base}/broken` }), ctx);
    expect(outcome).toEqual({
      outcome: "failed",
      detail: "0/4 answered HTTP 200 (0%, need 100%); 4 × HTTP 500",
    });
    expect(ctx.lines).toEqual([
      `! probe ${base}/broken: 0/4 answered HTTP 200 (0%, need 100%); 4 × HTTP 500`,
    ]);
  });

  it("Given an expected status other than 200, When probed, Then that status passes", async () => {
    const outcome = await probeGate.run(
      probe({ url: `${base}/broken`, expectStatus: 500, requests: 1 }),
      gateContext(),
    );
    expect(outcome.outcome).toBe("passed");
  });

  it("Given one 503 in four and a minimum success rate of 0.75, When probed, Then it passes; at 0.8 it fails", async () => {
    flaky = 0;
    expect(await probeGate.run(probe({ url: `${base}/flaky`, minSuccessRate: 0.75 }), gateContext())).toEqual(
      {
        outcome: "passed",
        detail: "3/4 answered HTTP 200 (75%, need 75%); 1 × HTTP 503",
      },
    );
    flaky = 0;
    expect(
      (await probeGate.run(probe({ url: `${base}/flaky`, minSuccessRate: 0.8 }), gateContext())).outcome,
    ).toBe("failed");
  });

  it("Given a server that never answers, When probed, Then each request times out and the gate fails", async () => {
    const outcome = await probeGate.run(
      probe({ url: `${base}/slow`, requests: 2, timeout: "200ms" }),
      gateContext(),
    );
    expect(outcome).toEqual({
      outcome: "failed",
      detail: "0/2 answered HTTP 200 (0%, need 100%); 2 × timeout after 200ms",
    });
  });

  it("Given nothing listening, When probed, Then the connection error is reported", async () => {
    const port = await freePort();
    const outcome = await probeGate.run(
      probe({ url: `http://127.0.0.1:${port}/`, requests: 1 }),
      gateContext(),
    );
    expect(outcome).toEqual({
      outcome: "failed",
      detail: "0/1 answered HTTP 200 (0%, need 100%); 1 × ECONNREFUSED",
    });
  });

  it("Given a gate, When described, Then the plan line says what it checks", () => {
    expect(
      probeGate.describe(probe({ url: "http://shop/", host: "shop.example.com", minSuccessRate: 0.9 })),
    ).toBe("probe http://shop/ (Host: shop.example.com): 4 × HTTP 200, ≥ 90% within 1s");
  });
});
