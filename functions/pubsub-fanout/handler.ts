import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { fanOut } from "../../shared/fanout/fan-out";
import { fanoutJob } from "../../shared/fanout/jobs";
import { enqueueWebhookDeliveries } from "../../shared/webhooks/enqueue";

// Fan-out queue consumer: one published item (one page of its subscribers) per message. FIFO: a
// failure stops the batch there, and the rest of it is retried after, in order. The item's webhook
// deliveries are made with its first page, after its XMPP deliveries are queued (so webhook trouble
// does not hold subscribers back); a retry of the message finds both made (SQS deduplication ids,
// and the delivery records of webhooks/enqueue.ts) and sends nothing twice.
const processor = new SqsFifoPartialProcessorAsync();

const record = async (r: SQSRecord): Promise<void> => {
  const job = fanoutJob.parse(JSON.parse(r.body));
  await fanOut(job);
  if (job.page === 0) await enqueueWebhookDeliveries(job);
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context });
