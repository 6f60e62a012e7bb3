import { xml } from "@xmpp/xml";
import { postFrames } from "../connections";
import { NS_SM } from "../namespaces";
import type { SessionRecord } from "../session/state";
import { enqueueForAck, enqueueWhileDetached } from "../session/store";

/** API Gateway's largest message to a client. A stanza larger than this cannot be delivered over it. */
export const MAX_OUTBOUND_BYTES = 128 * 1024;
/** Unacknowledged stanzas kept per XEP-0198 session; past it, deliveries fall back as if it were offline. */
export const MAX_UNACKED = 500;

/**
 * Unacknowledged stanzas after which the server asks for an acknowledgement (XEP-0198 <r/>). Clients
 * such as @xmpp/client acknowledge only when asked; without asking, the queue kept for resumption
 * grows with every stanza, and each delivery rewrites a larger session item.
 */
export const REQUEST_ACK_EVERY = 10;

const ackRequest = xml("r", { xmlns: NS_SM }).toString();

export type DeliveryResult = "sent" | "queued" | "gone" | "too-big";

/**
 * Sends one stanza to another session's socket. A XEP-0198 session counts it first, so that it is
 * resent on resumption if the socket is gone ("queued"); without XEP-0198 a closed socket means the
 * stanza was not delivered ("gone") and the caller falls back (offline storage, or nothing).
 */
export async function deliverToSession(target: SessionRecord, stanza: string): Promise<DeliveryResult> {
  if (Buffer.byteLength(stanza, "utf8") > MAX_OUTBOUND_BYTES) return "too-big";
  if (target.smEnabled) {
    if (target.detached) {
      const queued = await enqueueWhileDetached(target.connectionId, stanza, MAX_UNACKED);
      if (queued === "queued") return "queued";
      if (queued === "refused") return "gone";
      // Attached again meanwhile (a resumption finished): sent like to any attached session.
    }
    return sendQueued(target, stanza, await enqueueForAck(target.connectionId, [stanza], MAX_UNACKED));
  }
  if (target.detached) return "gone";
  return postFrames(target.connectionId, [stanza]);
}

/**
 * Sends a stanza already appended to an attached XEP-0198 session's queue (`queued`: the queue's length
 * with it; false: the session was gone or its queue full). Once queued it is delivered even if the post
 * finds the socket gone: resumption resends it.
 */
export async function sendQueued(
  target: SessionRecord,
  stanza: string,
  queued: number | false,
): Promise<DeliveryResult> {
  if (queued === false) return "gone";
  const frames = asksForAck(target, queued) ? [stanza, ackRequest] : [stanza];
  return (await postFrames(target.connectionId, frames)) === "sent" ? "sent" : "queued";
}

/**
 * Whether the stanza that made the queue `queued` long is followed by an <r/>: one stanza in
 * REQUEST_ACK_EVERY, counted over all the stanzas the session was sent (its base plus its queue), at a
 * place in that cycle of its own. The subscribers of a stream get the same stanzas at the same time:
 * counted from the same place, they would all acknowledge the same notification, a hundred <a/> frames
 * (and Lambda invocations) at once every tenth item instead of ten for each.
 */
export function asksForAck(target: SessionRecord, queued: number): boolean {
  return (target.smBase - 1 + queued + ackPhase(target.connectionId)) % REQUEST_ACK_EVERY === 0;
}

/** A session's place in the ack cycle, from its connection id (FNV-1a: a spread, not a secret). */
function ackPhase(connectionId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) h = Math.imul(h ^ connectionId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % REQUEST_ACK_EVERY;
}
