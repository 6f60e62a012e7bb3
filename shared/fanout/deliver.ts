import { type Element, xml } from "@xmpp/xml";
import { hostedDomain } from "../directory/domains";
import { storeOffline } from "../directory/offline";
import { getItem, type StoredItem } from "../pubsub/store";
import { withDelay } from "../xmpp/delay";
import { bareOf, parseJid } from "../xmpp/jid";
import { NS_PUBSUB_EVENT } from "../xmpp/namespaces";
import { deliverToSession } from "../xmpp/routing/outbound";
import { retireSession } from "../xmpp/session/retire";
import { sessionsOf } from "../xmpp/session/store";
import { parseStored } from "../xmpp/stored-xml";
import { alreadyDelivered, markDelivered } from "./delivered";
import type { DeliveryJob } from "./jobs";

/** "over-cap": offline, and the account's offline storage is full (XEP-0160 cap): not kept. */
export type Outcome = "online" | "stored" | "over-cap" | "remote-pending" | "skipped";

export interface DeliveryPorts {
  /** Delivers one notification to one subscriber. */
  notify(jid: string, notification: Element, item: StoredItem): Promise<Outcome>;
}

/**
 * Notifies the recipients of one delivery message, skipping those already notified of the item: no
 * subscriber sees an item twice because an attempt failed half-way, a message was redriven, or the
 * item was fanned out again (one consistent BatchGetItem per 100 recipients). A crash between a
 * notification and its mark can still repeat that one notification.
 */
export async function deliverJob(
  job: DeliveryJob,
  ports: DeliveryPorts = { notify },
): Promise<Record<Outcome, number>> {
  const counts: Record<Outcome, number> = {
    online: 0,
    stored: 0,
    "over-cap": 0,
    "remote-pending": 0,
    skipped: 0,
  };
  const item = await getItem(job.service, job.node, job.itemId);
  if (!item) return counts; // retracted, or past its retention: nothing left to deliver
  const done = await alreadyDelivered(
    job.service,
    job.node,
    job.itemId,
    job.recipients.map((r) => r.jid),
  );
  const payload = parseStored(item.payload);
  const todo = job.recipients.filter((r) => !done.has(r.jid));
  counts.skipped = job.recipients.length - todo.length;
  // Recipients are independent (each appears once per message; a subscriber's order across items is
  // kept by the FIFO group), so they are notified several at a time. One failing does not stop the
  // others: they are marked, and the retry of this message notifies only the rest.
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const r = todo[next++] as (typeof todo)[number];
      try {
        counts[await ports.notify(r.jid, notification(item, payload, r.jid, r.subid), item)]++;
        await markDelivered(job.service, job.node, job.itemId, r.jid);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_NOTIFICATIONS, todo.length) }, worker));
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      `${failures.length} of ${todo.length} notifications failed; the retry sends them`,
    );
  }
  return counts;
}

/** Notifications in flight at once within one delivery message. */
export const CONCURRENT_NOTIFICATIONS = 10;

/** XEP-0060 7.1.2.1: the event notification, with the item's payload. */
export function notification(item: StoredItem, payload: Element, to: string, subid: string): Element {
  void subid; // one subscription per JID: XEP-0060 only asks for SHIM subid headers with several
  return xml(
    "message",
    { from: item.service, to, type: "headline", id: `${item.itemId}:${item.publishedAt}` },
    xml(
      "event",
      { xmlns: NS_PUBSUB_EVENT },
      xml("items", { node: item.node }, xml("item", { id: item.itemId, publisher: item.publisher }, payload)),
    ),
  );
}

/**
 * To a subscriber's available sessions (a full-JID subscription: that session only). With none, or
 * when the sockets turn out gone, the notification is kept with the account's offline messages and
 * comes at its next login: nothing is lost. Remote subscribers wait for the federation gateway.
 */
async function notify(jid: string, message: Element, item: StoredItem): Promise<Outcome> {
  const to = parseJid(jid);
  if (!to?.local) return "skipped";
  if (!(await hostedDomain(to.domain))) return "remote-pending";
  const bare = bareOf(to);
  const sessions = await sessionsOf(bare);
  const targets = to.resource
    ? sessions.filter((s) => s.resource === to.resource)
    : sessions.filter((s) => s.available && s.priority >= 0);
  const text = message.toString();
  let delivered = false;
  for (const s of targets) {
    const result = await deliverToSession(s, text);
    if (result === "sent" || result === "queued") delivered = true;
    // The socket vanished without $disconnect yet (410 Gone): end that session now.
    else if (result === "gone") await retireSession(s, { socketAlreadyGone: true });
  }
  if (delivered) return "online";
  const stamped = withDelay(message, to.domain, new Date(item.publishedAt));
  if (await storeOffline(bare, stamped.toString())) return "stored";
  // The item itself stays on its node (within its retention): the subscriber can still fetch it.
  console.warn(
    `pubsub delivery: offline storage of ${bare} is full; notification of ${item.node}/${item.itemId} not kept`,
  );
  return "over-cap";
}
