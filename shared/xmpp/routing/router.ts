import type { Element } from "@xmpp/xml";
import { getAccount } from "../../directory/accounts";
import { hostedDomain, pubsubServiceDomain } from "../../directory/domains";
import { storeOffline } from "../../directory/offline";
import { withDelay } from "../delay";
import { bareOf, type Jid, parseJid } from "../jid";
import type { SessionRecord } from "../session/state";
import { sessionsOf } from "../session/store";
import { sendStanza, type Turn } from "../session/turn";
import { isErrorStanza, type StanzaErrorCondition, stanzaError } from "../stanza-errors";
import { deliverToSession } from "./outbound";

// Stanza routing per RFC 6120 section 10 and RFC 6121 section 8, for stanzas whose 'to' is a JID
// this deployment may host. Nothing here assumes the domain is local: a domain that is not hosted is
// handed to `remote`, which the server-to-server gateway will fill; until then it bounces.

/** What a hosted domain does with stanzas addressed to it or to its accounts' bare JIDs. */
export interface LocalHandlers {
  /** An iq to the server itself or to an account's bare JID (the server answers on its behalf). */
  iq(stanza: Element, target: Jid, turn: Turn | undefined): Promise<void>;
  /** A presence of type subscribe/subscribed/unsubscribe/unsubscribed/probe to a local account. */
  presenceControl(stanza: Element, target: Jid, turn: Turn | undefined): Promise<void>;
  /** A message to a hosted service JID (e.g. a PubSub subscription approval form). */
  serviceMessage?(stanza: Element, target: Jid, turn: Turn | undefined): Promise<void>;
}

let handlers: LocalHandlers | undefined;

/** Called once when the features are wired (see shared/xmpp/server.ts). */
export function setLocalHandlers(h: LocalHandlers): void {
  handlers = h;
}

function local(): LocalHandlers {
  if (!handlers) throw new Error("router: local handlers not wired");
  return handlers;
}

/** Routes `stanza` (its 'from' already stamped by the sender's session or the server). */
export async function route(stanza: Element, turn?: Turn): Promise<void> {
  const to = stanza.attrs.to ? parseJid(stanza.attrs.to) : undefined;
  if (!to) return bounce(stanza, "jid-malformed", `"${stanza.attrs.to ?? ""}" is not a valid JID`, turn);
  if (!(await hostedDomain(to.domain))) {
    // A hosted domain's PubSub service: a JID without local part, answered by the server.
    if (!(await pubsubServiceDomain(to.domain))) return remote(stanza, to, turn);
    if (to.local) return bounce(stanza, "service-unavailable", undefined, turn);
    if (stanza.name === "iq") return local().iq(stanza, to, turn);
    if (stanza.name === "message") return local().serviceMessage?.(stanza, to, turn);
    return;
  }
  if (!to.local) {
    if (stanza.name === "iq") return local().iq(stanza, to, turn);
    return; // messages and presence to the server itself: nothing to do with them here
  }
  switch (stanza.name) {
    case "message":
      return routeMessage(stanza, to, turn);
    case "presence":
      return routePresence(stanza, to, turn);
    case "iq":
      return routeIq(stanza, to, turn);
  }
}

/** Sends the error reply to `stanza` back to its sender, unless it is an error itself (RFC 6120 8.3.1). */
export async function bounce(
  stanza: Element,
  condition: StanzaErrorCondition,
  text: string | undefined,
  turn?: Turn,
): Promise<void> {
  if (isErrorStanza(stanza) || !stanza.attrs.from) return;
  const reply = stanzaError(stanza, condition, { text });
  // The server, not the absent addressee, generates this error.
  if (!reply.attrs.from) delete reply.attrs.from;
  await route(reply, turn);
}

async function remote(stanza: Element, to: Jid, turn?: Turn): Promise<void> {
  await bounce(
    stanza,
    "remote-server-not-found",
    `${to.domain} is not hosted here, and federation is not available yet`,
    turn,
  );
}

/** Delivers to one session, through the sender's own turn when it is the sender's own connection. */
export async function deliver(target: SessionRecord, stanza: Element, turn?: Turn): Promise<boolean> {
  if (turn && target.connectionId === turn.connectionId) {
    sendStanza(turn, stanza);
    return true;
  }
  const result = await deliverToSession(target, stanza.toString());
  if (result === "too-big") {
    await bounce(
      stanza,
      "policy-violation",
      "the stanza is larger than a client connection can carry (128 KiB)",
      turn,
    );
    return true;
  }
  return result === "sent" || result === "queued";
}

const isAvailable = (s: SessionRecord) => s.available;

async function routeMessage(stanza: Element, to: Jid, turn?: Turn): Promise<void> {
  const type = stanza.attrs.type ?? "normal";
  let sessions = await sessionsOf(bareOf(to));
  if (to.resource) {
    const exact = sessions.find((s) => s.resource === to.resource);
    if (exact && (await deliver(exact, stanza, turn))) return;
    if (exact) {
      // Gone since the read: a XEP-0198 resumption may have just moved it to a new connection, which
      // the read did not see yet. Look once more before treating the full JID as absent.
      sessions = await sessionsOf(bareOf(to));
      const moved = sessions.find((s) => s.resource === to.resource && s.connectionId !== exact.connectionId);
      if (moved && (await deliver(moved, stanza, turn))) return;
    }
    // RFC 6121 8.5.3.2.1: no such resource, handled as if sent to the bare JID.
    if (type === "groupchat") return bounce(stanza, "service-unavailable", undefined, turn);
    if (type === "headline" || type === "error") return;
  }
  if (type === "groupchat") return bounce(stanza, "service-unavailable", undefined, turn);
  // RFC 6121 8.5.2.1.1: every available resource of non-negative priority.
  const targets = sessions.filter((s) => isAvailable(s) && s.priority >= 0);
  let delivered = false;
  for (const s of targets) delivered = (await deliver(s, stanza, turn)) || delivered;
  if (delivered || type === "headline" || type === "error") return;
  if (sessions.length === 0 && !(await getAccount(bareOf(to)))) {
    return bounce(stanza, "service-unavailable", undefined, turn);
  }
  await storeForLater(stanza, bareOf(to), turn);
}

/** XEP-0160: kept for the account's next available presence, stamped with the time it was stored. */
export async function storeForLater(stanza: Element, bareJid: string, turn?: Turn): Promise<void> {
  const stamped = withDelay(stanza, bareJid.split("@")[1] ?? "", new Date());
  if (!(await storeOffline(bareJid, stamped.toString()))) {
    await bounce(stanza, "service-unavailable", "the recipient's offline storage is full", turn);
  }
}

async function routePresence(stanza: Element, to: Jid, turn?: Turn): Promise<void> {
  const type = stanza.attrs.type;
  if (
    type === "subscribe" ||
    type === "subscribed" ||
    type === "unsubscribe" ||
    type === "unsubscribed" ||
    type === "probe"
  ) {
    return local().presenceControl(stanza, to, turn);
  }
  const sessions = await sessionsOf(bareOf(to));
  const targets = to.resource
    ? sessions.filter((s) => s.resource === to.resource)
    : sessions.filter(isAvailable);
  // RFC 6121 8.5.2.2: presence to an account with no available resource is silently dropped.
  for (const s of targets) await deliver(s, stanza, turn);
}

async function routeIq(stanza: Element, to: Jid, turn?: Turn): Promise<void> {
  if (!to.resource) return local().iq(stanza, to, turn);
  const sessions = await sessionsOf(bareOf(to));
  const exact = sessions.find((s) => s.resource === to.resource && !s.detached);
  if (exact && (await deliver(exact, stanza, turn))) return;
  // RFC 6121 8.5.3.2.2 / RFC 6120 10.5.3.1: no such resource.
  const type = stanza.attrs.type;
  if (type === "get" || type === "set") await bounce(stanza, "service-unavailable", undefined, turn);
}
