import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { processWebhookJob } from "../../shared/webhooks/deliver";
import { webhookJob } from "../../shared/webhooks/jobs";

// Webhooks queue consumer: one attempt of one delivery per message. The records of a batch run side by
// side (a standard queue has no order to keep), so one slow endpoint's attempt does not hold the others.
const processor = new BatchProcessor(EventType.SQS);

const record = async (r: SQSRecord): Promise<void> => {
  await processWebhookJob(webhookJob.parse(JSON.parse(r.body)));
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context, processInParallel: true });
