import { createHash } from "node:crypto";

// Key layout of webhooks in the Directory table (beside shared/directory/keys.ts). A tenant's endpoints
// share one partition, so listing them (once per published item) is one query.
//   pk                                  sk                       gsi1pk                          gsi1sk
//   WEBHOOK#<tenant>                    EP#<endpoint>            -                               -                       an endpoint: URL, streams, sealed secret(s)
//   WEBHOOK#<tenant>                    SLOT#<endpoint>#<n>      -                               -                       one of an endpoint's concurrency slots: holder, until
//   WHDELIVERY#<tenant>#<delivery>      #                        WHLOG#<tenant>#<endpoint>       <createdAt>#<delivery>  a delivery: status, attempts, body (TTL 30 days)
//   WHPARKED#<tenant>                   <parkedAt>#<delivery>    -                               -                       the dead-letter store: a parked delivery (TTL 30 days)
// Every key starts with the tenant id, so a caller confined to its tenant cannot name another's items.
export const HEAD = "#";
export const EP_PREFIX = "EP#";
export const webhookPk = (tenantId: string) => `WEBHOOK#${tenantId}`;
export const endpointKey = (tenantId: string, endpointId: string) => ({
  pk: webhookPk(tenantId),
  sk: `${EP_PREFIX}${endpointId}`,
});
export const slotKey = (tenantId: string, endpointId: string, n: number) => ({
  pk: webhookPk(tenantId),
  sk: `SLOT#${endpointId}#${n}`,
});
export const deliveryKey = (tenantId: string, deliveryId: string) => ({
  pk: `WHDELIVERY#${tenantId}#${deliveryId}`,
  sk: HEAD,
});
export const deliveryLogPk = (tenantId: string, endpointId: string) => `WHLOG#${tenantId}#${endpointId}`;
// Zero-padded epoch ms: string order is time order.
export const deliveryLogSk = (createdAt: number, deliveryId: string) =>
  `${String(createdAt).padStart(14, "0")}#${deliveryId}`;
export const parkedPk = (tenantId: string) => `WHPARKED#${tenantId}`;
export const parkedSk = (parkedAt: number, deliveryId: string) =>
  `${String(parkedAt).padStart(14, "0")}#${deliveryId}`;

/**
 * The delivery of one published item to one endpoint: the same every time the fan-out runs for that
 * publication, so a re-run finds the delivery it made (and receivers see one webhook-id per event).
 */
export function deliveryIdOf(
  endpointId: string,
  item: { service: string; node: string; itemId: string; publishedAt: number },
): string {
  const digest = createHash("sha256")
    .update([endpointId, item.service, item.node, item.itemId, String(item.publishedAt)].join("\u0000"))
    .digest("base64url");
  return `msg_${digest.slice(0, 27)}`;
}
