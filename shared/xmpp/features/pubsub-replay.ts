import { appendAudit } from "../../consent/audit";
import type { Json } from "../../consent/chain";
import { minimise } from "../../consent/enforce";
import { chainOf } from "../../consent/layout";
import { consentVerdict } from "../../consent/store";
import { pubsubServiceDomain } from "../../directory/domains";
import { notification } from "../../fanout/deliver";
import { alreadyDelivered, type Delivered, markDelivered, markId } from "../../fanout/delivered";
import { accountSubscriptions, getNode, itemsSince, type StoredItem } from "../../pubsub/store";
import { withDelay } from "../delay";
import { takeOfflineSince } from "../session/routes";
import { sendStanza, type Turn } from "../session/turn";
import { parseStored } from "../stored-xml";

// Stream notifications an account missed while it had no available session are not copied to it one
// by one at publish time (a write per offline subscriber and item): its first available resource gets
// them here, from the nodes themselves, with XEP-0203 delay stamps. What a node no longer keeps (past
// pubsub#max_items or its retention) is not replayed: the stream's own limits apply to everyone.

/**
 * Sends the items published on the account's subscribed nodes since it went offline (or since each
 * subscription, for an account's first login). `othersAvailable`: another resource stayed online and
 * got them, so there is nothing to replay.
 */
export async function replayMissedItems(turn: Turn, user: string, othersAvailable: boolean): Promise<void> {
  const offline = await takeOfflineSince(user);
  if (othersAvailable || (offline.known && offline.since === undefined)) return;
  const resource = turn.state.resource;
  const candidates: {
    item: StoredItem;
    jid: string;
    subid: string;
    names?: readonly string[];
    audit?: { tenantId: string; subject: string; consentId?: string };
  }[] = [];
  for (const { service, node, sub } of await accountSubscriptions(user)) {
    if (sub.state !== "subscribed" || !sub.deliver) continue;
    if (sub.jid !== user && sub.jid !== `${user}/${resource}`) continue;
    const record = await getNode(service, node);
    if (!record) continue;
    // Personal data: only under a consent valid now, and only the names it covers.
    const subject = record.config.dataSubject;
    const verdict = await consentVerdict(service, node, subject, user);
    if (!verdict.allowed) continue;
    const since = Math.max(offline.since ?? 0, sub.subscribedAt ?? 0);
    for (const item of await itemsSince(service, node, since, record.config.maxItems)) {
      candidates.push({
        item,
        jid: sub.jid,
        subid: sub.subid,
        ...(verdict.names ? { names: verdict.names } : {}),
      });
    }
  }
  if (candidates.length === 0) return;
  const marks: Delivered[] = candidates.map((c) => ({ ...c.item, jid: c.jid }));
  const done = await alreadyDelivered(marks);
  const sent: Delivered[] = [];
  // Replayed personal data is a delivery decision too: one entry on each subject's chain for the replay.
  const audits = new Map<string, { tenantId: string; decisions: Json[] }>();
  for (const c of candidates) {
    if (done.has(markId(c.item.itemId, c.jid))) continue;
    const domain = (await pubsubServiceDomain(c.item.service))?.domain ?? c.item.service;
    const stored = parseStored(c.item.payload);
    const payload = c.names ? minimise(stored, c.names, c.item.publishedAt) : stored;
    if (!payload) continue;
    const message = notification(c.item, payload, c.jid, c.subid);
    sendStanza(turn, withDelay(message, domain, new Date(c.item.publishedAt)));
    sent.push({ ...c.item, jid: c.jid });
    if (c.audit) {
      const { tenantId, subject, consentId } = c.audit;
      const key = chainOf(tenantId, subject);
      const audit = audits.get(key) ?? { tenantId, decisions: [] };
      audit.decisions.push({
        to: c.jid,
        stream: `${c.item.service}/${c.item.node}`,
        itemId: c.item.itemId,
        consentId: consentId ?? null,
        refused: null,
      });
      audits.set(key, audit);
    }
  }
  turn.after.push(() => markDelivered(sent));
  for (const [chain, { tenantId, decisions }] of audits) {
    turn.after.push(async () => {
      await appendAudit(tenantId, chain, "delivery", {
        at: new Date().toISOString(),
        replayed: true,
        decisions,
      });
    });
  }
}
