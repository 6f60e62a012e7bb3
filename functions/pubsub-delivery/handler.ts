import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { deliverJob } from "../../shared/fanout/deliver";
import { deliveryJob } from "../../shared/fanout/jobs";
import "../../shared/xmpp/server";

// Delivery queue consumer: notifications of one item to up to 50 subscribers per message.
const processor = new SqsFifoPartialProcessorAsync();

const record = async (r: SQSRecord): Promise<void> => {
  await deliverJob(deliveryJob.parse(JSON.parse(r.body)));
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context });
