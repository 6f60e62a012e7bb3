import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import { expireDetached } from "../../shared/xmpp/session/lifecycle";

// Ends XEP-0198 sessions whose client did not resume within the window. Safe to retry: a session
// already ended, or resumed elsewhere, is simply not found.

const message = z.object({ connectionId: z.string().min(1), detachedAt: z.number() });
const processor = new BatchProcessor(EventType.SQS);

async function expire(record: SQSRecord): Promise<void> {
  const { connectionId, detachedAt } = message.parse(JSON.parse(record.body));
  await expireDetached(connectionId, detachedAt);
}

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, expire, processor, { context });
