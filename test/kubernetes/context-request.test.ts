import { createServer, type IncomingMessage, type Server } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestWithContext } from "../../src/providers/kubernetes/context-request.js";
import { closeServer, listenOnLoopback } from "../support/net.js";
import { eventually } from "../support/wait.js";

/** The sandbox's own APIs (DNS, provisioning) over a server that takes requests and never answers them. */
describe("requestWithContext against a server that never answers", () => {
  let server: Server | undefined;
  const received: IncomingMessage[] = [];
  let url = "";
  const config = new KubeConfig();

  beforeAll(async () => {
    server = createServer((req) => void received.push(req));
    url = `http://127.0.0.1:${await listenOnLoopback(server)}/sandbox/v1/dns/zones`;
    config.loadFromOptions({
      clusters: [{ name: "c", server: url, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "c", cluster: "c", user: "u" }],
      currentContext: "c",
    });
  });
  afterAll(() => closeServer(server));

  it("Given a GET under way, When the run's signal aborts, Then it rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const before = received.length;
    const request = requestWithContext(config, "GET", url, undefined, { signal: controller.signal });
    await eventually(() => (received.length > before ? true : undefined), 30_000);

    controller.abort(new Error("interrupted by SIGTERM"));

    await expect(request).rejects.toThrow("interrupted by SIGTERM");
  });

  it("Given a write under way, When the signal aborts, Then the write is not cut off: it ends by its own timeout", async () => {
    const controller = new AbortController();
    const before = received.length;
    const request = requestWithContext(
      config,
      "POST",
      url,
      { a: 1 },
      { signal: controller.signal, timeoutMs: 1_000 },
    );
    await eventually(() => (received.length > before ? true : undefined), 30_000);

    controller.abort(new Error("interrupted by SIGTERM"));

    await expect(request).rejects.toMatchObject({ code: "ETIMEDOUT", message: "no answer within 1s" });
  });

  it("Given an aborted signal, When a request would start, Then none is sent", async () => {
    const before = received.length;
    await expect(
      requestWithContext(config, "GET", url, undefined, { signal: AbortSignal.abort(new Error("stopped")) }),
    ).rejects.toThrow("stopped");
    expect(received.length).toBe(before);
  });
});
