import { describe, expect, it } from "vitest";
import { mapLimit } from "../../src/providers/kubernetes/concurrency.js";
import {
  DEFAULT_RETRY,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelayMs,
} from "../../src/providers/kubernetes/retry.js";

describe("retry policy", () => {
  it.each([
    [429, true],
    [500, true],
    [503, true],
    [504, true],
    [501, false],
    [400, false],
    [404, false],
    [409, false],
    [422, false],
  ])("Given HTTP %i, Then retryable is %s", (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it.each<[unknown, boolean]>([
    [Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), true],
    [Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), true],
    [new Error("socket hang up"), true],
    [new Error("Unexpected token < in JSON"), false],
    ["ECONNRESET", false],
  ])("Given %s, Then it is a retryable network error: %s", (error, expected) => {
    expect(isRetryableNetworkError(error)).toBe(expected);
  });

  it("Given Retry-After in seconds or as a date, Then it is read as seconds", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("Given attempts, Then the delay doubles up to the cap, with at most half of it random", () => {
    const low = (attempt: number) => retryDelayMs(attempt, undefined, DEFAULT_RETRY, () => 0);
    const high = (attempt: number) => retryDelayMs(attempt, undefined, DEFAULT_RETRY, () => 1);
    expect([0, 1, 2, 3].map(low)).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map(high)).toEqual([100, 200, 400, 800]);
    expect(high(20)).toBe(DEFAULT_RETRY.maxMs);
  });

  it("Given a Retry-After, Then it is a floor, capped by the policy", () => {
    expect(retryDelayMs(0, 2, DEFAULT_RETRY, () => 0)).toBe(2000);
    expect(retryDelayMs(0, 3600, DEFAULT_RETRY, () => 0)).toBe(DEFAULT_RETRY.maxRetryAfterMs);
  });
});

describe("mapLimit", () => {
  it("Given 20 items and a limit of 3, Then at most 3 run at once and results keep their order", async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        running--;
        return i * 2;
      },
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  it("Given a failure, Then no new call starts, calls in flight finish, and the first error is thrown", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await expect(
      mapLimit(
        Array.from({ length: 10 }, (_, i) => i),
        2,
        async (i) => {
          started.push(i);
          await new Promise((r) => setTimeout(r, i === 0 ? 30 : 1));
          if (i === 1) throw new Error("boom");
          finished.push(i);
        },
      ),
    ).rejects.toThrow("boom");
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });
});
