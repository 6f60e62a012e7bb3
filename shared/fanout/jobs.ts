import { createHash } from "node:crypto";
import { z } from "zod";

// The messages of the fan-out pipeline, validated where they are read (a queue is a boundary).

/**
 * The published item itself, carried with its fan-out and deliveries: a notification is an event of
 * the publication, so it reaches subscribers even when the node no longer keeps the item by the time
 * the queue gets to it (pubsub#max_items trimmed it behind a backlog). Left out above MAX_CARRIED_CHARS,
 * then read from the node.
 */
export const carriedItem = z.object({
  payload: z.string(),
  publisher: z.string(),
  publishedAt: z.number(),
});
export type CarriedItem = z.infer<typeof carriedItem>;

/** SQS takes 256 KiB per message; a delivery message also lists up to 50 recipients. */
export const MAX_CARRIED_CHARS = 96 * 1024;

export const fanoutJob = z.object({
  tenantId: z.string().min(1),
  service: z.string().min(1),
  node: z.string().min(1),
  itemId: z.string().min(1),
  /** Where the previous page of subscribers ended; absent for the first page. */
  cursor: z.string().optional(),
  /** Pages already fanned out for this item, to name the delivery jobs deterministically. */
  page: z.number().int().nonnegative().default(0),
  item: carriedItem.optional(),
});
export type FanoutJob = z.infer<typeof fanoutJob>;

export const deliveryJob = z.object({
  tenantId: z.string().min(1),
  service: z.string().min(1),
  node: z.string().min(1),
  itemId: z.string().min(1),
  recipients: z.array(z.object({ jid: z.string().min(1), subid: z.string() })).min(1),
  item: carriedItem.optional(),
});
export type DeliveryJob = z.infer<typeof deliveryJob>;

/** One message group per stream: SQS FIFO keeps a stream's items, and their deliveries, in order. */
export const streamGroup = (service: string, node: string): string => hashed(`${service}/${node}`);

/**
 * Delivery messages of one stream are spread over this many message groups, by subscriber: an item's
 * deliveries run side by side (Delivery's event source runs up to that many invocations), and each
 * subscriber, always in the same group, still gets the stream's items in order.
 */
export const DELIVERY_SHARDS = 8;

export const shardOf = (jid: string): number =>
  createHash("sha256")
    .update(jid.split("/")[0] ?? jid)
    .digest()
    .readUInt32BE(0) % DELIVERY_SHARDS;

export const deliveryGroup = (service: string, node: string, shard: number): string =>
  `${streamGroup(service, node)}.${shard}`;

/** A deduplication id (at most 128 characters) that is the same every time the same job is made. */
export const dedupId = (...parts: (string | number)[]): string => hashed(parts.join("\u0000"));

function hashed(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}
