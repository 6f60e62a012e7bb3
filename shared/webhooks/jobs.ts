import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { sqs } from "../aws/clients";
import { queueUrl } from "../aws/resources";

// Messages of the Webhooks queue (standard, not FIFO: FIFO queues cannot delay one message, and the
// retries' backoff is a per-message DelaySeconds). A message names one attempt of one delivery;
// everything else is in the delivery record, which decides whether the message is still wanted.

export const webhookJob = z.object({
  tenantId: z.string().min(1),
  deliveryId: z.string().min(1),
  /** The delivery's generation (bumped by redeliver) this message belongs to. */
  generation: z.number().int().positive(),
  /** Which attempt (1-based) this message is for: a copy for an attempt already made is dropped. */
  attempt: z.number().int().positive(),
});
export type WebhookJob = z.infer<typeof webhookJob>;

/** SQS's longest message delay. */
export const MAX_DELAY_SECONDS = 900;

export async function sendJob(job: WebhookJob, delaySeconds = 0): Promise<void> {
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl("Webhooks"),
      MessageBody: JSON.stringify(job),
      DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
    }),
  );
}

export async function sendJobs(jobs: readonly WebhookJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 10) {
    const out = await sqs().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl("Webhooks"),
        Entries: jobs.slice(i, i + 10).map((job, n) => ({ Id: String(n), MessageBody: JSON.stringify(job) })),
      }),
    );
    if (out.Failed && out.Failed.length > 0) {
      const f = out.Failed[0];
      throw new Error(
        `SendMessageBatch refused ${out.Failed.length} webhook jobs (first: ${f?.Code} ${f?.Message ?? ""})`,
      );
    }
  }
}
