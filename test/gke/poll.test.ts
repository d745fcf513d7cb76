import { describe, expect, it } from "vitest";
import { gkeTimingFromEnv } from "../../src/cli/gke-timing.js";
import { poll } from "../../src/providers/gke/poll.js";

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

  it("Given CLUSTERSHIFT_GKE_POLL_INTERVAL and _RETRY_DELAY, When the CLI reads them, Then they become the run's gkeTiming, and junk or nothing keeps the providers' defaults", () => {
    expect(
      gkeTimingFromEnv({ CLUSTERSHIFT_GKE_POLL_INTERVAL: "20ms", CLUSTERSHIFT_GKE_RETRY_DELAY: "2ms" }),
    ).toEqual({ gkeTiming: { pollIntervalMs: 20, retryDelayMs: 2 } });
    expect(gkeTimingFromEnv({ CLUSTERSHIFT_GKE_POLL_INTERVAL: "soon" })).toEqual({});
    expect(gkeTimingFromEnv({ CLUSTERSHIFT_GKE_RETRY_DELAY: "later" })).toEqual({});
    expect(gkeTimingFromEnv({})).toEqual({});
  });
});
