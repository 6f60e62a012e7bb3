import { type Element, xml } from "@xmpp/xml";
import { tableName } from "../aws/resources";
import { appendAudit } from "../consent/audit";
import { decide, minimise } from "../consent/enforce";
import { chainOf } from "../consent/layout";
import { recipientKeysOfJid } from "../consent/record";
import { grantKeys, grantsFrom } from "../consent/store";
import { hostedDomain } from "../directory/domains";
import { nodeKey } from "../pubsub/keys";
import { getItem, type NodeRecord, type StoredItem, toNodeRecord } from "../pubsub/store";
import { bareOf, parseJid } from "../xmpp/jid";
import { NS_PUBSUB_EVENT } from "../xmpp/namespaces";
import { deliverToSession, MAX_UNACKED, sendQueued } from "../xmpp/routing/outbound";
import { type Enqueue, type EnqueueOutcome, enqueueEach } from "../xmpp/session/enqueue-many";
import { retireSession } from "../xmpp/session/retire";
import { type AccountRoute, lookupRoutes, markMissedSince } from "../xmpp/session/routes";
import type { SessionRecord } from "../xmpp/session/state";
import { parseStored } from "../xmpp/stored-xml";
import { type Delivered, deliveredKeys, markDelivered, markedIn, markId } from "./delivered";
import type { DeliveryJob } from "./jobs";

/**
 * "deferred": no live session took it; the item is replayed from its node at the subscriber's next
 * login (nothing is copied per subscriber meanwhile: see replayMissedItems).
 */
export type Outcome = "online" | "deferred" | "remote-pending" | "skipped" | "refused";

export interface DeliveryPorts {
  /**
   * Notifies the recipients of one message, given their accounts' routing items and sessions. One
   * failing does not stop the others: its outcome is the Error.
   */
  notify(notices: readonly Notice[], item: StoredItem): Promise<Array<Outcome | Error>>;
}

export interface Notice {
  readonly jid: string;
  readonly notification: Element;
  readonly account: Account;
}

export interface Account {
  /** Absent for an account that never had a session. */
  readonly route?: AccountRoute;
  readonly sessions: readonly SessionRecord[];
}

/**
 * Notifies the recipients of one delivery message, skipping those already notified of the item: no
 * subscriber sees an item twice because an attempt failed half-way, a message was redriven, or the
 * item was fanned out again. Per message of 50 recipients: one BatchGetItem for the stream's record,
 * the recipients' delivered-marks (a set per shard) and routing items together; one for their sessions
 * (and consent grants); one BatchExecuteStatement per 25 XEP-0198 sessions (queueing the stanza for
 * resumption); a PostToConnection per online session; one UpdateItem adding the notified recipients to
 * the mark set. A crash after notifications
 * and before their marks are written can repeat those notifications (at most one message's worth).
 */
export async function deliverJob(
  job: DeliveryJob,
  ports: DeliveryPorts = { notify: notifyAll },
): Promise<Record<Outcome, number>> {
  const counts: Record<Outcome, number> = {
    online: 0,
    deferred: 0,
    "remote-pending": 0,
    skipped: 0,
    refused: 0,
  };
  const streams = tableName("Streams");
  const head = nodeKey(job.service, job.node);
  const isHead = (i: Record<string, unknown>) => i.pk === head.pk && i.sk === head.sk;
  const bareOfRecipient = (jid: string) => jid.split("/")[0] ?? jid;
  const marks: Delivered[] = job.recipients.map((r) => ({
    service: job.service,
    node: job.node,
    itemId: job.itemId,
    jid: r.jid,
  }));
  const [item, local] = await Promise.all([
    job.item
      ? { service: job.service, node: job.node, itemId: job.itemId, ...job.item }
      : getItem(job.service, job.node, job.itemId),
    localBareJids(job.recipients.map((r) => r.jid)),
  ]);
  if (!item) return counts; // neither carried nor kept by the node any more
  // The stream's record, the routes and the delivered-marks in one BatchGetItem; the sessions and, for
  // personal data, the recipients' consent grants in a second one. Consent is checked now, not at
  // publish or fan-out: a withdrawal stops what is already queued.
  let node: NodeRecord | undefined;
  const { routes, sessions, extra } = await lookupRoutes(
    local,
    [{ table: streams, keys: [head, ...deliveredKeys(marks)] }],
    (first) => {
      const found = first.get(streams)?.find(isHead);
      node = found ? toNodeRecord(found) : undefined;
      if (!node?.config.dataSubject) return [];
      const keys = new Set(job.recipients.flatMap((r) => recipientKeysOfJid(bareOfRecipient(r.jid))));
      return [{ table: tableName("Consents"), keys: grantKeys(job.service, job.node, [...keys]) }];
    },
  );
  if (!node) return counts; // the stream was deleted
  const subject = node.config.dataSubject;
  const done = await markedIn(
    marks,
    (extra.get(streams) ?? []).filter((i) => !isHead(i)),
  );
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
  const notices: Notice[] = [];
  for (const r of todo) {
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
    if (!body) counts.refused++;
    else
      notices.push({
        jid: r.jid,
        notification: notification(item, body, r.jid, r.subid),
        account: { route: routes.get(bare), sessions: sessions.get(bare) ?? [] },
      });
  }
  // One failing does not stop the others: they are marked, and the retry of this message notifies only
  // the rest.
  const failures: Error[] = [];
  const notified: Delivered[] = [];
  const outcomes = await ports.notify(notices, item);
  notices.forEach((n, i) => {
    const outcome = outcomes[i] ?? new Error(`no outcome for ${n.jid}`);
    if (outcome instanceof Error) failures.push(outcome);
    else {
      counts[outcome]++;
      if (outcome === "online") notified.push({ ...item, jid: n.jid });
    }
  });
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
      `${failures.length} of ${notices.length} notifications failed; the retry sends them`,
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
 * To each subscriber's available sessions (a full-JID subscription: that session only). The stanzas
 * for attached XEP-0198 sessions are queued for resumption first, all of them in a few batched
 * requests; then they are posted, CONCURRENT_NOTIFICATIONS at a time (recipients are independent: each
 * appears once per message, and a subscriber's order across items is kept by its FIFO group).
 */
async function notifyAll(notices: readonly Notice[], item: StoredItem): Promise<Array<Outcome | Error>> {
  const plans = await Promise.all(notices.map(plan));
  const batched: Enqueue[] = [];
  for (const p of plans)
    for (const t of p.targets)
      if (t.session.smEnabled && !t.session.detached) {
        t.queued = batched.length;
        batched.push({ session: t.session, stanza: p.text });
      }
  const queued = batched.length > 0 ? await enqueueEach(batched, MAX_UNACKED) : [];
  const outcomes: Array<Outcome | Error> = new Array(plans.length);
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      const p = plans[i] as Plan;
      try {
        outcomes[i] = p.outcome ?? (await notify(p, item, queued));
      } catch (err) {
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_NOTIFICATIONS, plans.length) }, worker));
  return outcomes;
}

interface Plan {
  readonly notice: Notice;
  readonly text: string;
  readonly bare: string;
  /** Decided without sending. */
  readonly outcome?: Outcome;
  /** `queued`: the entry of the batched queue writes that holds this session's copy. */
  readonly targets: Array<{ session: SessionRecord; queued?: number }>;
}

async function plan(notice: Notice): Promise<Plan> {
  const text = notice.notification.toString();
  const to = parseJid(notice.jid);
  if (!to?.local) return { notice, text, bare: notice.jid, outcome: "skipped", targets: [] };
  const bare = bareOf(to);
  if (!(await hostedDomain(to.domain))) return { notice, text, bare, outcome: "remote-pending", targets: [] };
  const { sessions } = notice.account;
  const targets = to.resource
    ? sessions.filter((s) => s.resource === to.resource)
    : sessions.filter((s) => s.available && s.priority >= 0);
  return { notice, text, bare, targets: targets.map((session) => ({ session })) };
}

/**
 * Posts one notification to its sessions. With none delivered, or when the sockets turn out gone, the
 * notification is deferred: the account's next login replays the item from its node.
 */
async function notify(p: Plan, item: StoredItem, queued: readonly EnqueueOutcome[]): Promise<Outcome> {
  let delivered = false;
  for (const t of p.targets) {
    const q = t.queued === undefined ? undefined : queued[t.queued];
    if (q instanceof Error) throw q;
    const result =
      q === undefined ? await deliverToSession(t.session, p.text) : await sendQueued(t.session, p.text, q);
    if (result === "sent" || result === "queued") delivered = true;
    // The socket vanished without $disconnect yet (410 Gone): end that session now.
    else if (result === "gone") await retireSession(t.session, { socketAlreadyGone: true });
  }
  if (delivered) return "online";
  // The replay at next login starts at the account's offline moment (or, for an account that never
  // logged in, at each subscription's date): an item published before that moment and delivered only
  // now (a queue backlog, a session found gone, a session not yet or no longer available) moves it back.
  const { route } = p.notice.account;
  const since = route?.offlineSince;
  if (route && (since === undefined || since > item.publishedAt)) {
    await markMissedSince(p.bare, item.publishedAt);
  }
  return "deferred";
}
