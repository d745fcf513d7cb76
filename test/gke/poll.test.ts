import { describe, expect, it } from "vitest";
import { poll, pollIntervalMs } from "../../src/providers/gke/poll.js";

describe("poll", () => {
  it("Given a wait that never ends, When its time is up, Then the error says what it waited for, what it saw last and that apply resumes", async () => {
    const seen: string[] = [];
    await expect(
      poll(() => Promise.resolve({ done: false, detail: "PROVISIONING" }), {
        what: "cluster c RUNNING",
        timeoutMs: 30,
        intervalMs: 5,
        signal: new AbortController().signal,
        onProgress: (detail) => seen.push(detail),
      }),
    ).rejects.toThrow(
      /^timed out after \d+ms waiting for cluster c RUNNING; last seen: PROVISIONING\. Run apply again to keep waiting: it resumes where it stopped\.$/,
    );
    expect(seen).toEqual(["PROVISIONING"]);
  });

  it("Given an aborted run, When polling, Then the wait stops with the abort reason", async () => {
    const controller = new AbortController();
    const waiting = poll(() => Promise.resolve({ done: false, detail: "DISABLED" }), {
      what: "x",
      timeoutMs: 60_000,
      intervalMs: 60_000,
      signal: controller.signal,
      onProgress: () => undefined,
    });
    controller.abort(new Error("interrupted"));
    await expect(waiting).rejects.toThrow("interrupted");
  });

  it("Given CLUSTERSHIFT_GKE_POLL_INTERVAL, When read, Then it is the interval, and junk falls back to 5s", () => {
    expect(pollIntervalMs({ CLUSTERSHIFT_GKE_POLL_INTERVAL: "20ms" })).toBe(20);
    expect(pollIntervalMs({ CLUSTERSHIFT_GKE_POLL_INTERVAL: "soon" })).toBe(5000);
  });
});
