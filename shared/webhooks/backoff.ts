import type { WebhookSettings } from "./settings";

// When to try a failed delivery again: exponential backoff with full jitter (a random wait between 0
// and base * 2^(n-1), capped), so that an endpoint coming back is not hit by every delivery at once.
// The cap is SQS's longest message delay (15 minutes), since the wait is a delayed message. Retries go
// on for about a day (RELAIS_WEBHOOK_RETRY_SECONDS) or a number of attempts, whichever ends first.

export type Policy = Pick<
  WebhookSettings,
  "backoffBaseMs" | "backoffMaxSeconds" | "retrySeconds" | "maxAttempts"
>;

/** Seconds to wait after the `failedAttempts`-th failure (1-based); whole seconds, as SQS delays are. */
export function backoffSeconds(
  failedAttempts: number,
  policy: Policy,
  random: () => number = Math.random,
): number {
  const ceilingMs = Math.min(
    policy.backoffMaxSeconds * 1000,
    policy.backoffBaseMs * 2 ** Math.max(0, failedAttempts - 1),
  );
  return Math.min(policy.backoffMaxSeconds, Math.ceil((random() * ceilingMs) / 1000));
}

export type NextStep = { retry: true; delaySeconds: number } | { retry: false; reason: string };

/** After a failed attempt: wait and retry, or give up (park). Times in epoch ms. */
export function afterFailure(
  attempts: number,
  firstAttemptAt: number,
  now: number,
  policy: Policy,
  random: () => number = Math.random,
): NextStep {
  if (attempts >= policy.maxAttempts) return { retry: false, reason: `${attempts} attempts made` };
  const delaySeconds = backoffSeconds(attempts, policy, random);
  if (now + delaySeconds * 1000 - firstAttemptAt > policy.retrySeconds * 1000) {
    return { retry: false, reason: `retried for ${Math.round((now - firstAttemptAt) / 1000)} s` };
  }
  return { retry: true, delaySeconds };
}
