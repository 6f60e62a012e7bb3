import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { fanOut } from "../../shared/fanout/fan-out";
import { fanoutJob } from "../../shared/fanout/jobs";
import { enqueueWebhookDeliveries } from "../../shared/webhooks/enqueue";

// Fan-out queue consumer: one published item (one page of its subscribers) per message. FIFO: a
// failure stops the batch there, and the rest of it is retried after, in order. The item's webhook
// deliveries are made with its first page (a retry of it finds them made: see webhooks/enqueue.ts).
const processor = new SqsFifoPartialProcessorAsync();

const record = async (r: SQSRecord): Promise<void> => {
  const job = fanoutJob.parse(JSON.parse(r.body));
  if (job.page === 0) await enqueueWebhookDeliveries(job);
  await fanOut(job);
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context });
