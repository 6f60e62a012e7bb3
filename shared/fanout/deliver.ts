import { type Element, xml } from "@xmpp/xml";
import { tableName } from "../aws/resources";
import { appendAudit } from "../consent/audit";
import { decide, minimise } from "../consent/enforce";
import { chainOf } from "../consent/layout";
import { recipientKeysOfJid } from "../consent/record";
import { grantKeys, grantsFrom } from "../consent/store";
import { hostedDomain } from "../directory/domains";
import { getItem, getNode, type StoredItem } from "../pubsub/store";
import { bareOf, parseJid } from "../xmpp/jid";
import { NS_PUBSUB_EVENT } from "../xmpp/namespaces";
import { deliverToSession } from "../xmpp/routing/outbound";
import { retireSession } from "../xmpp/session/retire";
import { type AccountRoute, lookupRoutes, markMissedSince } from "../xmpp/session/routes";
import type { SessionRecord } from "../xmpp/session/state";
import { parseStored } from "../xmpp/stored-xml";
import { type Delivered, deliveredKeys, foundMarks, markDelivered, markId } from "./delivered";
import type { DeliveryJob } from "./jobs";

/**
 * "deferred": no live session took it; the item is replayed from its node at the subscriber's next
 * login (nothing is copied per subscriber meanwhile: see replayMissedItems).
 */
export type Outcome = "online" | "deferred" | "remote-pending" | "skipped" | "refused";

export interface DeliveryPorts {
  /** Delivers one notification to one subscriber, given its account's routing item and sessions. */
  notify(jid: string, notification: Element, item: StoredItem, account: Account): Promise<Outcome>;
}

export interface Account {
  /** Absent for an account that never had a session. */
  readonly route?: AccountRoute;
  readonly sessions: readonly SessionRecord[];
}

/**
 * Notifies the recipients of one delivery message, skipping those already notified of the item: no
 * subscriber sees an item twice because an attempt failed half-way, a message was redriven, or the
 * item was fanned out again. Per message of 50 recipients: one read of the item, one BatchGetItem for
 * the delivered-marks and the recipients' routing items together, one for their sessions, one
 * BatchWriteItem per 25 marks, and a PostToConnection per online session. A crash after notifications
 * and before their marks are written can repeat those notifications (at most one message's worth).
 */
export async function deliverJob(
  job: DeliveryJob,
  ports: DeliveryPorts = { notify },
): Promise<Record<Outcome, number>> {
  const counts: Record<Outcome, number> = {
    online: 0,
    deferred: 0,
    "remote-pending": 0,
    skipped: 0,
    refused: 0,
  };
  const [item, node] = await Promise.all([
    job.item
      ? { service: job.service, node: job.node, itemId: job.itemId, ...job.item }
      : getItem(job.service, job.node, job.itemId),
    getNode(job.service, job.node),
  ]);
  if (!item || !node) return counts; // not carried and gone from the node, or the stream deleted
  const subject = node.config.dataSubject;
  const marks: Delivered[] = job.recipients.map((r) => ({ ...item, jid: r.jid }));
  const bareOfRecipient = (jid: string) => jid.split("/")[0] ?? jid;
  const local = await localBareJids(job.recipients.map((r) => r.jid));
  // Consent is checked now, not at publish or fan-out: a withdrawal stops what is already queued. The
  // grants are read in the same BatchGetItem as the routes and the delivered-marks.
  const grantKeysWanted = subject
    ? grantKeys(job.service, job.node, [
        ...new Set(job.recipients.flatMap((r) => recipientKeysOfJid(bareOfRecipient(r.jid)))),
      ])
    : [];
  const { routes, sessions, extra } = await lookupRoutes(local, [
    { table: tableName("Streams"), keys: deliveredKeys(marks) },
    ...(subject ? [{ table: tableName("Consents"), keys: grantKeysWanted }] : []),
  ]);
  const done = foundMarks(extra.get(tableName("Streams")) ?? []);
  const grants = grantsFrom(extra.get(tableName("Consents")) ?? []);
  const payload = parseStored(item.payload);
  const now = new Date();
  const decisions: { to: string; consentId?: string; refused?: string }[] = [];
  const todo = job.recipients.filter((r) => !done.has(markId(item.itemId, r.jid)));
  counts.skipped = job.recipients.length - todo.length;
  const minimised = new Map<string, Element | undefined>();
  const payloadFor = (names: readonly string[] | undefined): Element | undefined => {
    if (!names) return payload;
    const key = JSON.stringify(names);
    if (!minimised.has(key)) minimised.set(key, minimise(payload, names, item.publishedAt));
    return minimised.get(key);
  };
  // Recipients are independent (each appears once per message; a subscriber's order across items is
  // kept by the FIFO group), so they are notified several at a time. One failing does not stop the
  // others: they are marked, and the retry of this message notifies only the rest.
  const failures: unknown[] = [];
  const notified: Delivered[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const r = todo[next++] as (typeof todo)[number];
      try {
        const bare = bareOfRecipient(r.jid);
        const verdict = decide(bare, subject, grants, now);
        const body = verdict.allowed ? payloadFor(verdict.names) : undefined;
        if (subject) {
          decisions.push(
            verdict.allowed
              ? {
                  to: r.jid,
                  ...(verdict.consentId ? { consentId: verdict.consentId } : {}),
                  ...(body ? {} : { refused: "no record within the consent's names" }),
                }
              : { to: r.jid, refused: verdict.reason },
          );
        }
        if (!body) {
          counts.refused++;
          continue;
        }
        const message = notification(item, body, r.jid, r.subid);
        const account = { route: routes.get(bare), sessions: sessions.get(bare) ?? [] };
        const outcome = await ports.notify(r.jid, message, item, account);
        counts[outcome]++;
        if (outcome === "online") notified.push({ ...item, jid: r.jid });
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_NOTIFICATIONS, todo.length) }, worker));
  await markDelivered(notified);
  // Every decision on personal data is logged on the subject's audit chain: one entry per message.
  if (subject && decisions.length > 0) {
    await appendAudit(node.tenantId, chainOf(node.tenantId, subject), "delivery", {
      stream: `${item.service}/${item.node}`,
      itemId: item.itemId,
      at: now.toISOString(),
      decisions: decisions.map((d) => ({
        to: d.to,
        consentId: d.consentId ?? null,
        refused: d.refused ?? null,
      })),
    });
  }
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      `${failures.length} of ${todo.length} notifications failed; the retry sends them`,
    );
  }
  return counts;
}

/** Notifications in flight at once within one delivery message. */
export const CONCURRENT_NOTIFICATIONS = 25;

/** The bare JIDs of recipients on domains this deployment hosts (the others go to the gateway). */
async function localBareJids(jids: readonly string[]): Promise<string[]> {
  const bare = new Set<string>();
  for (const jid of jids) {
    const to = parseJid(jid);
    if (to?.local && (await hostedDomain(to.domain))) bare.add(bareOf(to));
  }
  return [...bare];
}

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
 * when the sockets turn out gone, the notification is deferred: the account's next login replays the
 * item from its node. Remote subscribers wait for the federation gateway.
 */
async function notify(jid: string, message: Element, item: StoredItem, account: Account): Promise<Outcome> {
  const to = parseJid(jid);
  if (!to?.local) return "skipped";
  if (!(await hostedDomain(to.domain))) return "remote-pending";
  const bare = bareOf(to);
  const targets = to.resource
    ? account.sessions.filter((s) => s.resource === to.resource)
    : account.sessions.filter((s) => s.available && s.priority >= 0);
  const text = message.toString();
  let delivered = false;
  for (const s of targets) {
    const result = await deliverToSession(s, text);
    if (result === "sent" || result === "queued") delivered = true;
    // The socket vanished without $disconnect yet (410 Gone): end that session now.
    else if (result === "gone") await retireSession(s, { socketAlreadyGone: true });
  }
  if (delivered) return "online";
  // The replay at next login starts at the account's offline moment (or, for an account that never
  // logged in, at each subscription's date): an item published before that moment and delivered only
  // now (a queue backlog, a session found gone, a session not yet or no longer available) moves it back.
  const since = account.route?.offlineSince;
  if (account.route && (since === undefined || since > item.publishedAt)) {
    await markMissedSince(bare, item.publishedAt);
  }
  return "deferred";
}
