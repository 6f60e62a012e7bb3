// Roster get and set (RFC 6121 section 2) from one of the user's resources: decide the reply, the roster
// changes, the pushes and the presence a removal implies. Storage and delivery are the caller's.
import { randomUUID } from "node:crypto";
import { type Element, xml } from "@xmpp/xml";
import { NS_ROSTER } from "../namespaces";
import { type StanzaErrorCondition, stanzaError } from "../stanza-errors";
import {
  DEFAULT_ITEM_LIMITS,
  findItem,
  type ItemLimits,
  itemToXml,
  normaliseBareJid,
  parseRosterSetQuery,
  type RosterChange,
  type RosterItem,
  rosterPush,
  visibleItems,
} from "./items";

export interface RosterIqInput {
  /** An iq of type get or set carrying <query xmlns="jabber:iq:roster"/>. */
  iq: Element;
  /** Bare JID of the account whose roster this is. */
  user: string;
  items: RosterItem[];
  /** The roster version the caller stores (RFC 6121 2.6); omit to leave versioning off. */
  rosterVersion?: number;
  /** Ids for roster pushes; default random UUIDs. */
  newId?: () => string;
  limits?: ItemLimits;
}

export interface RosterIqResult {
  reply: Element;
  changes: RosterChange[];
  /** Roster pushes without 'to': one copy to each interested resource of the user (RFC 6121 2.1.6). */
  pushes: Element[];
  /** Presence to route to contacts, e.g. unsubscribe/unsubscribed after a removal (RFC 6121 2.5.2). */
  outbound: Element[];
  /** The new roster version, when `rosterVersion` was given. */
  rosterVersion?: number;
}

/**
 * Throws when the iq is not of type get or set: a result or error (e.g. a client acknowledging a push)
 * must never be answered, so routing one here is the caller's bug.
 */
export function handleRosterIq(input: RosterIqInput): RosterIqResult {
  const { iq, user, items } = input;
  const type = iq.attrs.type;
  if (type !== "get" && type !== "set")
    throw new Error(`a roster iq is a get or a set, not type=${String(type)}`);
  const none = { changes: [], pushes: [], outbound: [], ...versionOut(input.rosterVersion) };
  const fail = (condition: StanzaErrorCondition, text: string): RosterIqResult => ({
    ...none,
    reply: stanzaError(iq, condition, { text }),
  });

  // An absent 'from' is the user's own stream (RFC 6120 8.1.2.1); anyone else may neither read nor write.
  const from = iq.attrs.from;
  if (from !== undefined && normaliseBareJid(from) !== user) {
    return fail("forbidden", "only the account's own resources manage its roster");
  }
  const query = iq.getChild("query", NS_ROSTER);
  if (query === undefined) return fail("bad-request", "no <query xmlns='jabber:iq:roster'/>");

  if (type === "get") return { ...none, reply: rosterResult(iq, query, items, input.rosterVersion) };

  const parsed = parseRosterSetQuery(query, input.limits ?? DEFAULT_ITEM_LIMITS);
  if (!parsed.ok) return fail(parsed.condition, parsed.text);
  const wanted = parsed.item;
  if (wanted.jid === user) return fail("not-allowed", "an account is not a contact of itself");

  const existing = findItem(items, wanted.jid);
  const visible = existing !== undefined && existing.pendingOnly !== true ? existing : undefined;
  const id = input.newId ?? randomUUID;
  const version = input.rosterVersion === undefined ? undefined : input.rosterVersion + 1;

  if (wanted.remove) {
    if (visible === undefined) return fail("item-not-found", "no such item in the roster");
    return {
      reply: emptyResult(iq),
      changes: [{ kind: "delete", jid: visible.jid }],
      pushes: [rosterPush({ remove: visible.jid }, id(), version)],
      outbound: presenceOnRemoval(user, visible),
      ...versionOut(version),
    };
  }

  // An update replaces name and groups (RFC 6121 2.4); subscription state is the server's own.
  const item: RosterItem = {
    ...(existing ?? { jid: wanted.jid, subscription: "none" }),
    groups: wanted.groups,
  };
  delete item.pendingOnly;
  if (wanted.name === undefined) delete item.name;
  else item.name = wanted.name;
  return {
    reply: emptyResult(iq),
    changes: [{ kind: "put", item }],
    pushes: [rosterPush(item, id(), version)],
    outbound: [],
    ...versionOut(version),
  };
}

function rosterResult(
  iq: Element,
  query: Element,
  items: RosterItem[],
  version: number | undefined,
): Element {
  const ver = version === undefined ? undefined : String(version);
  // RFC 6121 2.6.3: a client already holding this version gets an empty result; pushes since then would
  // follow, but a counter keeps no history, so any other version gets the whole roster.
  if (ver !== undefined && query.attrs.ver === ver) return emptyResult(iq);
  const result = xml("query", { xmlns: NS_ROSTER, ver });
  for (const item of visibleItems(items)) result.cnode(itemToXml(item));
  return xml("iq", replyAttrs(iq), result);
}

function emptyResult(iq: Element): Element {
  return xml("iq", replyAttrs(iq));
}

function replyAttrs(iq: Element): Record<string, string | undefined> {
  return { type: "result", id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from };
}

// RFC 6121 2.5.2: removing a contact ends both subscriptions. A pending request either way is withdrawn
// or declined too, so that neither side keeps waiting for an answer that will not come.
function presenceOnRemoval(user: string, item: RosterItem): Element[] {
  const out: Element[] = [];
  const s = item.subscription;
  if (s === "to" || s === "both" || item.ask === "subscribe") {
    out.push(xml("presence", { from: user, to: item.jid, type: "unsubscribe" }));
  }
  if (s === "from" || s === "both" || item.pendingIn === true) {
    out.push(xml("presence", { from: user, to: item.jid, type: "unsubscribed" }));
  }
  return out;
}

function versionOut(v: number | undefined): { rosterVersion?: number } {
  return v === undefined ? {} : { rosterVersion: v };
}
