import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { fanOut } from "../../shared/fanout/fan-out";
import { fanoutJob } from "../../shared/fanout/jobs";

// Fan-out queue consumer: one published item (one page of its subscribers) per message. FIFO: a
// failure stops the batch there, and the rest of it is retried after, in order.
const processor = new SqsFifoPartialProcessorAsync();

const record = async (r: SQSRecord): Promise<void> => {
  await fanOut(fanoutJob.parse(JSON.parse(r.body)));
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, record, processor, { context });
