import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqs } from "../aws/clients";
import { queueUrl } from "../aws/resources";
import { listSubscribers } from "../pubsub/store";
import { type DeliveryJob, dedupId, deliveryGroup, type FanoutJob, shardOf, streamGroup } from "./jobs";

/** Subscribers read per fan-out invocation, and recipients per delivery message. */
export const PAGE_SIZE = 500;
export const RECIPIENTS_PER_DELIVERY = 50;

export interface FanoutPorts {
  /** Sends up to 10 delivery messages in one SQS call; throws if any was not accepted. */
  sendDeliveries(entries: { id: string; body: DeliveryJob; dedup: string; group: string }[]): Promise<void>;
  /** Queues the job for the next page of subscribers. */
  continueWith(job: FanoutJob, dedup: string, group: string): Promise<void>;
}

/**
 * Expands one published item (one page of its subscribers) into delivery messages. Safe to retry
 * after a failure half-way: every message it sends has a deduplication id made of the item, the
 * page and its place in the page, so SQS drops the ones a previous attempt already sent.
 */
export async function fanOut(
  job: FanoutJob,
  ports: FanoutPorts = sqsPorts,
  sizes: { page: number; perDelivery: number } = { page: PAGE_SIZE, perDelivery: RECIPIENTS_PER_DELIVERY },
): Promise<{ recipients: number }> {
  const page = await listSubscribers(job.service, job.node, { cursor: job.cursor, limit: sizes.page });
  const group = streamGroup(job.service, job.node);
  const shards = new Map<number, { jid: string; subid: string }[]>();
  for (const s of page.subscribers) {
    const shard = shardOf(s.jid);
    const list = shards.get(shard) ?? [];
    list.push({ jid: s.jid, subid: s.subid });
    shards.set(shard, list);
  }
  const deliveries: { id: string; body: DeliveryJob; dedup: string; group: string }[] = [];
  for (const [shard, recipients] of [...shards].sort(([a], [b]) => a - b)) {
    for (let i = 0; i < recipients.length; i += sizes.perDelivery) {
      const n = deliveries.length;
      deliveries.push({
        id: String(n),
        body: {
          tenantId: job.tenantId,
          service: job.service,
          node: job.node,
          itemId: job.itemId,
          recipients: recipients.slice(i, i + sizes.perDelivery),
          ...(job.item ? { item: job.item } : {}),
        },
        dedup: dedupId("delivery", job.service, job.node, job.itemId, job.page, shard, i),
        group: deliveryGroup(job.service, job.node, shard),
      });
    }
  }
  for (let i = 0; i < deliveries.length; i += 10) await ports.sendDeliveries(deliveries.slice(i, i + 10));
  if (page.cursor) {
    const next: FanoutJob = { ...job, cursor: page.cursor, page: job.page + 1 };
    await ports.continueWith(next, dedupId("fanout", job.service, job.node, job.itemId, next.page), group);
  }
  return { recipients: page.subscribers.length };
}

export const sqsPorts: FanoutPorts = {
  async sendDeliveries(entries) {
    const out = await sqs().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl("Delivery"),
        Entries: entries.map((e) => ({
          Id: e.id,
          MessageBody: JSON.stringify(e.body),
          MessageGroupId: e.group,
          MessageDeduplicationId: e.dedup,
        })),
      }),
    );
    if (out.Failed && out.Failed.length > 0) {
      const f = out.Failed[0];
      throw new Error(
        `SendMessageBatch refused ${out.Failed.length} deliveries (first: ${f?.Code} ${f?.Message ?? ""})`,
      );
    }
  },
  async continueWith(job, dedup, group) {
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: queueUrl("Fanout"),
        MessageBody: JSON.stringify(job),
        MessageGroupId: group,
        MessageDeduplicationId: dedup,
      }),
    );
  },
};
