import { describe, expect, it } from "vitest";
import { afterFailure, backoffSeconds } from "../../shared/webhooks/backoff";

const policy = { backoffBaseMs: 30_000, backoffMaxSeconds: 900, retrySeconds: 24 * 3600, maxAttempts: 200 };

describe("backoff with full jitter", () => {
  it("waits up to base * 2^(n-1), capped at SQS's 15 minutes", () => {
    const most = (n: number) => backoffSeconds(n, policy, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(most)).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
  });
  it("can wait anything from nothing to the ceiling", () => {
    expect(backoffSeconds(5, policy, () => 0)).toBe(0);
    expect(backoffSeconds(5, policy, () => 0.5)).toBe(240);
  });
  it("rounds up to whole seconds, as SQS delays are", () => {
    expect(backoffSeconds(1, { ...policy, backoffBaseMs: 500 }, () => 0.999)).toBe(1);
  });
});

describe("afterFailure", () => {
  const t0 = 1_700_000_000_000;
  it("retries while within the day and the attempt budget", () => {
    expect(afterFailure(1, t0, t0 + 1000, policy, () => 1)).toEqual({ retry: true, delaySeconds: 30 });
  });
  it("gives up after the attempt budget", () => {
    expect(afterFailure(200, t0, t0 + 1000, policy)).toEqual({ retry: false, reason: "200 attempts made" });
  });
  it("gives up when the next attempt would come more than the retry window after the first", () => {
    const late = t0 + 24 * 3600_000 - 100_000;
    expect(afterFailure(100, t0, late, policy, () => 0.01).retry).toBe(true);
    expect(afterFailure(100, t0, late, policy, () => 1)).toEqual({
      retry: false,
      reason: "retried for 86300 s",
    });
  });
  it("keeps retrying for about a day with the default settings", () => {
    // Expected waits (random = 0.5): the sum of half-ceilings until the window closes.
    let now = t0;
    let attempts = 1;
    for (;;) {
      const step = afterFailure(attempts, t0, now, policy, () => 0.5);
      if (!step.retry) break;
      now += step.delaySeconds * 1000;
      attempts++;
    }
    expect(now - t0).toBeGreaterThan(23.8 * 3600_000);
    expect(attempts).toBeLessThan(policy.maxAttempts);
  });
});
