import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterFailure } from "./backoff";
import { claimAttempt, failDelivery, finishAttempt, getDelivery } from "./deliveries";
import { endpointRecord, signingSecrets } from "./endpoints";
import { MAX_DELAY_SECONDS, sendJob, type WebhookJob } from "./jobs";
import { type Lookup, resolveTarget, systemLookup } from "./resolve";
import { shouldDeliver } from "./routing";
import { type AttemptResult, postPinned } from "./send";
import { type WebhookSettings, webhookSettings } from "./settings";
import { acquireSlot, releaseSlot } from "./slots";

// One message of the Webhooks queue: one attempt of one delivery, if it is still due. Safe to retry
// and to receive twice: the delivery record says what was done, and claiming the attempt is a
// conditional write, so at most one runner makes a given attempt and a succeeded delivery is never
// sent again. What can still repeat a request: a runner that dies after the receiver answered and
// before the outcome was written; the receiver then sees the same webhook-id twice (the Standard
// Webhooks way to recognise a repeat).

export type JobOutcome =
  | "succeeded"
  | "retry-scheduled"
  | "parked"
  | "failed"
  | "not-due" // early (or chained past SQS's 15-minute delay): sent again for later
  | "throttled" // the endpoint's concurrency slots are all held: sent again shortly
  | "stale"; // done already, in flight elsewhere, or of an earlier generation: dropped

/**
 * An attempt's lease: the request's own timeout plus room for DNS and writing the outcome. The queue's
 * visibility timeout is longer than the function's timeout plus this, so a message that comes back
 * after its runner died finds the lease lapsed and takes the attempt over.
 */
const LEASE_MARGIN_MS = 30_000;
const PREVIOUS_ATTEMPT_RECHECK_SECONDS = 2;

export interface DeliverOptions {
  settings?: WebhookSettings;
  lookup?: Lookup;
  now?: () => number;
}

export async function processWebhookJob(job: WebhookJob, opts: DeliverOptions = {}): Promise<JobOutcome> {
  const settings = opts.settings ?? webhookSettings();
  const clock = opts.now ?? Date.now;
  const found = await getDelivery(job.tenantId, job.deliveryId);
  if (!found) return "stale"; // expired from the log
  const { record: rec, body } = found;
  const now = clock();
  if (rec.generation !== job.generation || rec.status !== "pending") return "stale";
  if (rec.attempts > job.attempt || rec.attempts < job.attempt - 1) return "stale";
  const leaseLive = rec.leaseUntil !== undefined && rec.leaseUntil >= now;
  if (rec.attempts === job.attempt && !(rec.leaseUntil !== undefined && !leaseLive)) {
    return "stale"; // made already, or in flight under a live lease (its own message carries on)
  }
  if (leaseLive) {
    // The previous attempt is still being recorded (its runner sends this message before writing the
    // outcome): look again shortly rather than drop the only message of the next attempt.
    await sendJob(job, PREVIOUS_ATTEMPT_RECHECK_SECONDS);
    return "not-due";
  }
  if (rec.nextAttemptAt !== undefined && rec.nextAttemptAt > now + 500) {
    await sendJob(job, Math.min(MAX_DELAY_SECONDS, (rec.nextAttemptAt - now) / 1000));
    return "not-due";
  }

  const endpoint = await endpointRecord(rec.tenantId, rec.endpointId);
  if (!endpoint) {
    await failDelivery(rec, "endpoint deleted");
    return "failed";
  }
  const decision = await shouldDeliver(endpoint, {
    tenantId: rec.tenantId,
    service: rec.service,
    node: rec.stream,
    itemId: rec.itemId,
    publisher: rec.publisher,
  });
  if (!decision.deliver) {
    await failDelivery(rec, decision.reason);
    return "failed";
  }

  const leaseMs = settings.timeoutMs + LEASE_MARGIN_MS;
  const slot = await acquireSlot(
    rec.tenantId,
    rec.endpointId,
    randomUUID(),
    settings.endpointConcurrency,
    leaseMs,
  );
  if (!slot) {
    // Jittered, so the endpoint's waiting deliveries come back spread out rather than all at once.
    await sendJob(job, 1 + Math.random() * 4);
    return "throttled";
  }
  try {
    const lease = { id: randomUUID(), until: clock() + leaseMs };
    if (!(await claimAttempt(rec, job.attempt, lease))) return "stale";

    const result = await attempt(endpoint.url, rec.id, body, signingSecrets(endpoint), settings, opts.lookup);
    const finishedAt = clock();
    if (result.ok) {
      await finishAttempt(rec, lease.id, result, { status: "succeeded" });
      return "succeeded";
    }
    const step = afterFailure(job.attempt, rec.firstAttemptAt ?? lease.until - leaseMs, finishedAt, settings);
    if (!step.retry) {
      await finishAttempt(rec, lease.id, result, { status: "parked", reason: step.reason });
      return "parked";
    }
    // The next attempt's message goes first: if writing the outcome then fails, this message comes
    // back, takes the attempt over once the lease lapses, and the chain goes on either way.
    await sendJob({ ...job, attempt: job.attempt + 1 }, step.delaySeconds);
    await finishAttempt(rec, lease.id, result, {
      status: "retry",
      nextAttemptAt: finishedAt + step.delaySeconds * 1000,
    });
    return "retry-scheduled";
  } finally {
    await releaseSlot(rec.tenantId, rec.endpointId, slot);
  }
}

/** Checks the URL again (DNS may answer differently today), signs, and POSTs to the checked address. */
async function attempt(
  url: string,
  deliveryId: string,
  body: string,
  secrets: readonly string[],
  settings: WebhookSettings,
  lookup: Lookup = systemLookup,
): Promise<AttemptResult> {
  // DNS counts against the attempt's deadline: a resolver that hangs must not hold the slot past it.
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const target = await Promise.race([
    resolveTarget(url, settings, lookup),
    new Promise<{ ok: false; reason: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: "DNS did not answer in time" }),
        settings.timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  if (!target.ok) return { ok: false, error: `refused: ${target.reason}`, latencyMs: Date.now() - started };
  const remainingMs = Math.max(1, settings.timeoutMs - (Date.now() - started));
  const timestamp = new Date();
  // One signature per secret (two during a rotation's overlap), space-separated as the scheme allows.
  const signature = secrets.map((s) => new Webhook(s).sign(deliveryId, timestamp, body)).join(" ");
  return postPinned(
    target.target,
    {
      "webhook-id": deliveryId,
      "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body,
    remainingMs,
  );
}
