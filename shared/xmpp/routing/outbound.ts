import { postFrames } from "../connections";
import type { SessionRecord } from "../session/state";
import { enqueueForAck } from "../session/store";

/** API Gateway's largest message to a client. A stanza larger than this cannot be delivered over it. */
export const MAX_OUTBOUND_BYTES = 128 * 1024;
/** Unacknowledged stanzas kept per XEP-0198 session; past it, deliveries fall back as if it were offline. */
export const MAX_UNACKED = 500;

export type DeliveryResult = "sent" | "queued" | "gone" | "too-big";

/**
 * Sends one stanza to another session's socket. A XEP-0198 session counts it first, so that it is
 * resent on resumption if the socket is gone ("queued"); without XEP-0198 a closed socket means the
 * stanza was not delivered ("gone") and the caller falls back (offline storage, or nothing).
 */
export async function deliverToSession(target: SessionRecord, stanza: string): Promise<DeliveryResult> {
  if (Buffer.byteLength(stanza, "utf8") > MAX_OUTBOUND_BYTES) return "too-big";
  if (target.smEnabled) {
    if (!(await enqueueForAck(target.connectionId, [stanza], MAX_UNACKED))) return "gone";
    if (target.detached) return "queued";
    return (await postFrames(target.connectionId, [stanza])) === "sent" ? "sent" : "queued";
  }
  if (target.detached) return "gone";
  return postFrames(target.connectionId, [stanza]);
}
