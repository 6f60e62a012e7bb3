import { type Element, xml } from "@xmpp/xml";
import { getAccount } from "../../directory/accounts";
import { hostedDomain } from "../../directory/domains";
import { listOffline, removeOffline } from "../../directory/offline";
import { applyRosterChanges, loadRoster } from "../../directory/rosters";
import { bareOf, type Jid, parseJid } from "../jid";
import {
  inboundPresence,
  outboundPresence,
  pendingRequests,
  presenceRecipients,
  probeTargets,
} from "../roster/subscriptions";
import { deliverToSession } from "../routing/outbound";
import { deliver, route } from "../routing/router";
import { markMissedSince } from "../session/routes";
import type { SessionRecord, SessionState } from "../session/state";
import { getSession, sessionsOf } from "../session/store";
import { fullJid, sendStanza, type Turn } from "../session/turn";
import { parseStored } from "../stored-xml";
import { replayMissedItems } from "./pubsub-replay";
import { pushToInterested, withFrom } from "./roster";

// RFC 6121 sections 3 and 4: presence broadcast, probes, directed presence, subscriptions.

const SUBSCRIPTION = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);

const addressed = (stanza: Element, to: string, from?: string) =>
  xml(stanza.name, { ...stanza.attrs, to, ...(from ? { from } : {}) }, ...stanza.children);

function parsePriority(el: Element): number {
  const n = Number.parseInt(el.getChildText("priority") ?? "0", 10);
  return Number.isFinite(n) ? Math.max(-128, Math.min(127, n)) : 0;
}

/** The user's other available sessions (the current one is reached through its turn). */
async function otherAvailable(user: string, turn?: Turn): Promise<SessionRecord[]> {
  return (await sessionsOf(user)).filter((s) => s.available && s.connectionId !== turn?.connectionId);
}

/** Presence sent by the client of a bound session. */
export async function handleClientPresence(turn: Turn, el: Element): Promise<void> {
  const state = turn.state;
  const user = state.user ?? "";
  const type = el.attrs.type;
  if (el.attrs.to) {
    if (type && SUBSCRIPTION.has(type)) return outboundSubscription(turn, user, el);
    if (type === "probe") return; // probes are the server's to send (RFC 6121 4.3)
    const to = el.attrs.to;
    if (type === undefined) {
      if (!state.directed.includes(to)) state.directed.push(to);
    } else if (type === "unavailable") {
      state.directed = state.directed.filter((j) => j !== to);
    }
    return route(el, turn);
  }
  if (type === "unavailable") {
    await goOffline(state, turn, el);
    state.available = false;
    state.presence = undefined;
    state.directed = [];
    return;
  }
  if (type !== undefined) return; // error, or a type a client has no business broadcasting
  const initial = !state.available;
  state.available = true;
  state.priority = parsePriority(el);
  state.presence = el.toString();
  const items = await loadRoster(user);
  for (const contact of presenceRecipients(items)) await route(addressed(el, contact), turn);
  const others = await otherAvailable(user, turn);
  for (const s of others) await deliver(s, addressed(el, `${user}/${s.resource}`), turn);
  // RFC 6121 4.2.2 and 4.4.2: the resource that sent it gets its own presence back, too.
  sendStanza(turn, addressed(el, fullJid(state) ?? user));
  if (initial) await firstAvailable(turn, user, items, others);
}

/** RFC 6121 4.2.2 and 3.1.3, XEP-0160: what a resource gets when it first becomes available. */
async function firstAvailable(
  turn: Turn,
  user: string,
  items: Awaited<ReturnType<typeof loadRoster>>,
  others: readonly SessionRecord[],
): Promise<void> {
  const me = fullJid(turn.state) ?? user;
  for (const contact of probeTargets(items)) {
    const jid = parseJid(contact);
    if (!jid?.local || !(await hostedDomain(jid.domain))) continue; // remote probes: with federation
    for (const s of await sessionsOf(contact)) {
      if (s.available && s.state.presence) sendStanza(turn, presenceOf(s, me));
    }
  }
  for (const s of others) {
    if (s.state.presence) sendStanza(turn, presenceOf(s, me));
  }
  for (const pending of pendingRequests(items)) {
    sendStanza(turn, xml("presence", { from: pending.jid, to: user, type: "subscribe" }));
  }
  if (turn.state.priority < 0) return;
  const stored = await listOffline(user);
  for (const m of stored) sendStanza(turn, parseStored(m.stanza));
  if (stored.length > 0) turn.after.push(() => removeOffline(stored.map((m) => m.key)));
  // A message routed while this presence was being handled saw the session unavailable (its state is
  // saved when the frame is done) and went to storage: once saved, look again.
  const seen = new Set(stored.map((m) => m.key.sk));
  turn.after.push(() => deliverLateOffline(turn.connectionId, user, seen));
  await replayMissedItems(turn, user, others.length > 0);
}

function presenceOf(s: SessionRecord, to: string): Element {
  return addressed(parseStored(s.state.presence ?? "<presence/>"), to);
}

/** Tells contacts, directed recipients and the user's other resources that this session went offline. */
export async function goOffline(state: SessionState, turn?: Turn, stanza?: Element): Promise<void> {
  const user = state.user;
  const from = fullJid(state);
  if (!user || !from) return;
  const unavailable = stanza ? withFrom(stanza, from) : xml("presence", { from, type: "unavailable" });
  const items = await loadRoster(user);
  const targets = new Set([...presenceRecipients(items), ...state.directed]);
  for (const to of targets) await route(addressed(unavailable, to), turn);
  for (const s of await otherAvailable(user, turn)) {
    await deliver(s, addressed(unavailable, `${user}/${s.resource}`), turn);
  }
  // RFC 6121 4.5.2: an unavailable presence the client sent itself is reflected to it.
  if (turn && stanza) sendStanza(turn, addressed(unavailable, from));
  // Still bound, but takes no stream notifications now: its next available presence replays them.
  if (stanza) await markMissedSince(user, Date.now());
}

async function outboundSubscription(turn: Turn, user: string, el: Element): Promise<void> {
  const items = await loadRoster(user);
  const result = outboundPresence({ user, stanza: el, items });
  if (result.error) return sendStanza(turn, result.error);
  await applyRosterChanges(user, result.changes);
  await pushToInterested(user, result.pushes, turn);
  const contact = el.attrs.to ?? "";
  if (result.alsoSendUnavailableFromUserToContact) await fromEachResource(user, contact, turn, "unavailable");
  for (const d of result.deliver) await route(d, turn);
  if (result.alsoSendPresenceFromUserToContact) await fromEachResource(user, contact, turn, "current");
}

/** Presence from each available resource of `user` to `to`: its current one, or unavailable. */
async function fromEachResource(
  user: string,
  to: string,
  turn: Turn | undefined,
  what: "current" | "unavailable",
) {
  const sessions = await sessionsOf(user);
  const own = turn?.state.available && turn.state.user === user ? [{ state: turn.state }] : [];
  const all = [...own, ...sessions.filter((s) => s.available && s.connectionId !== turn?.connectionId)];
  for (const s of all) {
    const from = fullJid(s.state);
    if (!from) continue;
    const p =
      what === "unavailable"
        ? xml("presence", { from, to, type: "unavailable" })
        : addressed(parseStored(s.state.presence ?? "<presence/>"), to, from);
    await route(p, turn);
  }
}

/** Subscription presence and probes arriving for a local account (from a local or remote sender). */
export async function presenceControl(stanza: Element, target: Jid, turn?: Turn): Promise<void> {
  const owner = bareOf(target);
  const from = stanza.attrs.from ? parseJid(stanza.attrs.from) : undefined;
  if (!from) return;
  const type = stanza.attrs.type ?? "";
  if (!(await getAccount(owner))) {
    // RFC 6121 3.1.3: a request to an account that does not exist is answered "unsubscribed".
    if (type === "subscribe")
      await route(xml("presence", { from: owner, to: bareOf(from), type: "unsubscribed" }), turn);
    return;
  }
  const items = await loadRoster(owner);
  if (type === "probe") {
    if (!presenceRecipients(items).includes(bareOf(from))) return;
    const available = (await sessionsOf(owner)).filter((s) => s.available);
    for (const s of available) await route(presenceOf(s, stanza.attrs.from ?? ""), turn);
    if (available.length === 0)
      await route(xml("presence", { from: owner, to: stanza.attrs.from, type: "unavailable" }), turn);
    return;
  }
  const result = inboundPresence({ contactOwner: owner, stanza, items });
  await applyRosterChanges(owner, result.changes);
  await pushToInterested(owner, result.pushes, turn);
  if (result.deliverToUser) {
    const sessions = (await sessionsOf(owner)).filter(
      (s) => s.available && (type !== "subscribe" || s.state.interested),
    );
    for (const s of sessions)
      await deliver(s, addressed(result.deliverToUser, `${owner}/${s.resource}`), turn);
  }
  for (const reply of result.autoReply) await route(reply, turn);
  if (result.sendProbeResult) await fromEachResource(owner, bareOf(from), turn, "current");
  if (result.sendUnavailableToRemote) await fromEachResource(owner, bareOf(from), turn, "unavailable");
}

async function deliverLateOffline(
  connectionId: string,
  user: string,
  seen: ReadonlySet<string>,
): Promise<void> {
  const late = (await listOffline(user)).filter((m) => !seen.has(m.key.sk));
  if (late.length === 0) return;
  const record = await getSession(connectionId);
  if (!record) return;
  const handed: typeof late = [];
  for (const m of late) {
    const result = await deliverToSession(record, m.stanza);
    if (result === "sent" || result === "queued") handed.push(m);
  }
  await removeOffline(handed.map((m) => m.key));
}
