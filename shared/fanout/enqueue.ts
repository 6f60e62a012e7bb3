import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqs } from "../aws/clients";
import { queueUrl } from "../aws/resources";
import { dedupId, type FanoutJob, streamGroup } from "./jobs";

/**
 * Hands a published item to the fan-out pipeline. Publishing the same item twice within SQS's
 * five-minute deduplication window fans it out once.
 */
export async function enqueueFanout(job: {
  tenantId: string;
  service: string;
  node: string;
  itemId: string;
}): Promise<void> {
  const body: FanoutJob = { ...job, page: 0 };
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl("Fanout"),
      MessageBody: JSON.stringify(body),
      MessageGroupId: streamGroup(job.service, job.node),
      MessageDeduplicationId: dedupId("fanout", job.service, job.node, job.itemId, 0),
    }),
  );
}
