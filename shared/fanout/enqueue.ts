import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqs } from "../aws/clients";
import { queueUrl } from "../aws/resources";
import { type CarriedItem, dedupId, type FanoutJob, MAX_CARRIED_CHARS, streamGroup } from "./jobs";

/**
 * Hands a published item to the fan-out pipeline. Publishing the same item twice within SQS's
 * five-minute deduplication window fans it out once.
 */
export async function enqueueFanout(job: {
  tenantId: string;
  service: string;
  node: string;
  itemId: string;
  item?: CarriedItem;
}): Promise<void> {
  const { item, ...rest } = job;
  const carried = item && item.payload.length <= MAX_CARRIED_CHARS ? { item } : {};
  const body: FanoutJob = { ...rest, ...carried, page: 0 };
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl("Fanout"),
      MessageBody: JSON.stringify(body),
      MessageGroupId: streamGroup(job.service, job.node),
      MessageDeduplicationId: dedupId("fanout", job.service, job.node, job.itemId, 0),
    }),
  );
}
