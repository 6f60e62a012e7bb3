import type { CarriedItem } from "../fanout/jobs";
import { getItem, getNode } from "../pubsub/store";
import { createDelivery } from "./deliveries";
import { endpointRecords } from "./endpoints";
import { sendJobs, type WebhookJob } from "./jobs";
import { deliveryIdOf } from "./keys";
import { streamItemPayload } from "./payload";
import { shouldDeliver } from "./routing";

// The fan-out's webhook half: for one published item, a delivery (record + queue message) per endpoint
// of the tenant that wants it. Safe to run again for the same item: the delivery id is derived from the
// endpoint and the publication and its record is written only if absent, so a re-run finds the
// deliveries it made and sends no second one; it re-sends the queue message of a delivery not attempted
// yet (the first run may have died before sending it), and a copy of a message is dropped by the claim.

/** Bodies above this are not sent (nor stored: a DynamoDB item holds 400 KB). */
export const MAX_BODY_BYTES = 256 * 1024;

export async function enqueueWebhookDeliveries(job: {
  tenantId: string;
  service: string;
  node: string;
  itemId: string;
  item?: CarriedItem;
}): Promise<{ deliveries: number }> {
  const endpoints = (await endpointRecords(job.tenantId)).filter((e) => e.enabled);
  if (endpoints.length === 0) return { deliveries: 0 };
  // The item as published, carried by the fan-out job: the node may have trimmed it meanwhile.
  const item = job.item
    ? { service: job.service, node: job.node, itemId: job.itemId, ...job.item }
    : await getItem(job.service, job.node, job.itemId);
  if (!item) return { deliveries: 0 }; // not carried, and gone from the node: no event left
  const event = {
    tenantId: job.tenantId,
    service: item.service,
    node: item.node,
    itemId: item.itemId,
    publisher: item.publisher,
  };
  const node = await getNode(job.service, job.node);
  const wanted = [];
  for (const endpoint of endpoints) {
    const decision = await shouldDeliver(endpoint, event, node);
    if (decision.deliver) wanted.push({ endpoint, names: decision.names });
  }
  if (wanted.length === 0) return { deliveries: 0 };

  const jobs: WebhookJob[] = [];
  for (const { endpoint, names } of wanted) {
    const body = streamItemPayload(item, names);
    const size = Buffer.byteLength(body);
    const tooBig = size > MAX_BODY_BYTES;
    const id = deliveryIdOf(endpoint.id, item);
    const { created, record } = await createDelivery(
      {
        tenantId: job.tenantId,
        id,
        endpointId: endpoint.id,
        service: item.service,
        stream: item.node,
        itemId: item.itemId,
        publisher: item.publisher,
        body: tooBig ? "" : body,
      },
      tooBig
        ? { status: "failed", lastError: `the payload is ${size} bytes, over the ${MAX_BODY_BYTES} sent` }
        : { status: "pending" },
    );
    const notAttempted = record.status === "pending" && record.attempts === 0 && record.leaseId === undefined;
    if ((created || notAttempted) && record.status === "pending") {
      jobs.push({ tenantId: job.tenantId, deliveryId: id, generation: record.generation, attempt: 1 });
    }
  }
  await sendJobs(jobs);
  return { deliveries: wanted.length };
}
