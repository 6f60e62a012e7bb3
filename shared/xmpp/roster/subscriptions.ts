// Presence subscriptions (RFC 6121 section 3 and Appendix A): given a user's roster and one subscription
// stanza, decide the roster changes, the roster pushes and the stanzas to send. The caller stores and
// delivers; nothing here does I/O.
import { randomUUID } from "node:crypto";
import { Element, xml } from "@xmpp/xml";
import { stanzaError } from "../stanza-errors";
import {
  findItem,
  itemToXml,
  normaliseBareJid,
  type RosterChange,
  type RosterItem,
  rosterPush,
} from "./items";

export type SubscriptionType = "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed";

/** The nine states of RFC 6121 A.1, named as there. */
export type DefinedState =
  | "None"
  | "None + Pending Out"
  | "None + Pending In"
  | "None + Pending Out+In"
  | "To"
  | "To + Pending In"
  | "From"
  | "From + Pending Out"
  | "Both";

export interface OutboundInput {
  /** Bare JID of the sender. */
  user: string;
  /** The presence of type subscribe|subscribed|unsubscribe|unsubscribed as the user sent it. */
  stanza: Element;
  items: RosterItem[];
  /** The roster version the caller stores (RFC 6121 2.6); when given, pushes carry 'ver'. */
  rosterVersion?: number;
  /** Ids for roster pushes; default random UUIDs. */
  newId?: () => string;
  /** Honour 'subscribed' sent before any request as a pre-approval (RFC 6121 3.4); default true. */
  preApproval?: boolean;
}

export interface OutboundResult {
  changes: RosterChange[];
  pushes: Element[];
  /** To route to the contact: from = the user's bare JID, to = the contact's bare JID (RFC 6121 3.1.2). */
  deliver: Element[];
  /**
   * The user just approved the contact's request: after routing `deliver`, send the user's current
   * presence from each available resource to the contact (RFC 6121 3.1.5).
   */
  alsoSendPresenceFromUserToContact?: boolean;
  /**
   * The user just cancelled the contact's subscription: send presence of type "unavailable" from each of
   * the user's available resources to the contact, before routing `deliver` (RFC 6121 3.2.2).
   */
  alsoSendUnavailableFromUserToContact?: boolean;
  /** The stanza was refused (no or malformed 'to'): send this error back to the sender. */
  error?: Element;
  /** The new roster version, when `rosterVersion` was given. */
  rosterVersion?: number;
}

export interface InboundInput {
  /** Bare JID of the local user the stanza is addressed to. */
  contactOwner: string;
  /** The subscription presence, from = the remote entity. */
  stanza: Element;
  items: RosterItem[];
  rosterVersion?: number;
  newId?: () => string;
}

export interface InboundResult {
  changes: RosterChange[];
  pushes: Element[];
  /**
   * For the user's available resources (RFC 6121 3.1.3: those that asked for the roster); when none is
   * available and `storePending` is set, keep it for the next login. Null: the RFC says not to deliver.
   */
  deliverToUser: Element | null;
  /** To route back to the remote entity on the user's behalf, e.g. an automatic 'subscribed'. */
  autoReply: Element[];
  /**
   * An automatic 'subscribed' was sent: also send the user's current presence from each available
   * resource to the remote entity, as in answer to a probe, since it may have lost track of it.
   */
  sendProbeResult?: boolean;
  /**
   * The remote entity just ended its subscription to the user: send presence of type "unavailable" from
   * each of the user's available resources to it (RFC 6121 3.3.3).
   */
  sendUnavailableToRemote?: boolean;
  /**
   * A new inbound request is pending: if the user has no available resource, keep `deliverToUser` for the
   * next login. The request also stays on the roster record (`pendingInStanza`) until answered.
   */
  storePending?: boolean;
  rosterVersion?: number;
}

interface Flags {
  to: boolean;
  from: boolean;
  out: boolean;
  in: boolean;
}

const SUBSCRIPTION_TYPES: readonly string[] = ["subscribe", "subscribed", "unsubscribe", "unsubscribed"];

export function isSubscriptionType(type: string | undefined): type is SubscriptionType {
  return type !== undefined && SUBSCRIPTION_TYPES.includes(type);
}

/** The RFC 6121 A.1 state of `item`; an absent item is "None". */
export function definedState(item: RosterItem | undefined): DefinedState {
  const f = flagsOf(item);
  if (f.to && f.from) return "Both";
  if (f.to) return f.in ? "To + Pending In" : "To";
  if (f.from) return f.out ? "From + Pending Out" : "From";
  if (f.out && f.in) return "None + Pending Out+In";
  if (f.out) return "None + Pending Out";
  if (f.in) return "None + Pending In";
  return "None";
}

export function outboundPresence(input: OutboundInput): OutboundResult {
  const { user, stanza, items } = input;
  const type = stanza.attrs.type;
  if (!isSubscriptionType(type)) throw new Error(`not a subscription presence: type=${String(type)}`);
  const contact = normaliseBareJid(stanza.attrs.to ?? "");
  if (contact === undefined) {
    return {
      changes: [],
      pushes: [],
      deliver: [],
      error: stanzaError(stanza, "jid-malformed", { text: "a subscription presence needs a valid 'to'" }),
      ...versionOut(input.rosterVersion),
    };
  }
  // Presence between a user's own resources needs no subscription (RFC 6121 4.2.2, 4.4.2).
  if (contact === user) return { changes: [], pushes: [], deliver: [], ...versionOut(input.rosterVersion) };

  const before = findItem(items, contact);
  const f = flagsOf(before);
  let after: RosterItem = { ...(before ?? { jid: contact, groups: [], subscription: "none" }) };
  let route = false;
  let sendPresence = false;
  let sendUnavailable = false;

  switch (type) {
    case "subscribe":
      // Always routed, even with no state change: the contact's server may have lost the request (3.1.2).
      route = true;
      if (!f.to) f.out = true;
      delete after.pendingOnly; // 3.1.2: a request creates the roster item
      break;
    case "unsubscribe":
      route = true; // as for subscribe: lets a contact's server that is out of sync catch up (3.3.2)
      f.to = false;
      f.out = false;
      break;
    case "subscribed":
      if (f.in) {
        route = true;
        sendPresence = true;
        f.from = true;
        f.in = false;
        delete after.pendingOnly; // approving adds the contact to the roster (3.1.5)
        delete after.approved;
      } else if (!f.from && input.preApproval !== false) {
        // 3.4.2: a pre-approval is noted, pushed, and not routed; the item is created if missing.
        after.approved = true;
      }
      break;
    case "unsubscribed":
      if (f.in || f.from) {
        route = true;
        sendUnavailable = f.from;
        f.from = false;
        f.in = false;
        delete after.approved;
      } else if (after.approved === true) {
        delete after.approved; // cancels a pre-approval (3.4.2), not routed
      }
      break;
  }
  after = withFlags(after, f);

  const { changes, pushes, rosterVersion } = settle(before, after, input.rosterVersion, input.newId);
  return {
    changes,
    pushes,
    deliver: route ? [stamp(stanza, user, contact)] : [],
    ...(sendPresence ? { alsoSendPresenceFromUserToContact: true } : {}),
    ...(sendUnavailable ? { alsoSendUnavailableFromUserToContact: true } : {}),
    ...versionOut(rosterVersion),
  };
}

export function inboundPresence(input: InboundInput): InboundResult {
  const { contactOwner, stanza, items } = input;
  const type = stanza.attrs.type;
  if (!isSubscriptionType(type)) throw new Error(`not a subscription presence: type=${String(type)}`);
  const remote = normaliseBareJid(stanza.attrs.from ?? "");
  // The s2s or c2s edge stamps 'from'; without a usable one there is nobody to track or answer.
  if (remote === undefined || remote === contactOwner) {
    return {
      changes: [],
      pushes: [],
      deliverToUser: null,
      autoReply: [],
      ...versionOut(input.rosterVersion),
    };
  }

  const before = findItem(items, remote);
  const f = flagsOf(before);
  let after: RosterItem = { ...(before ?? { jid: remote, groups: [], subscription: "none" }) };
  const delivered = stamp(stanza, remote, contactOwner);
  let deliver = false;
  let autoReply = false;
  let storePending = false;
  let sendUnavailable = false;

  switch (type) {
    case "subscribe":
      if (f.from) {
        autoReply = true; // 3.1.3: already subscribed; answer for the user, do not bother them
      } else if (after.approved === true) {
        autoReply = true; // 3.4: pre-approved
        f.from = true;
        f.in = false;
        delete after.approved;
      } else if (!f.in) {
        deliver = true;
        storePending = true;
        f.in = true;
        after.pendingInStanza = delivered.toString();
        if (before === undefined) after.pendingOnly = true;
      }
      break;
    case "unsubscribe":
      if (f.from || f.in) {
        deliver = true;
        sendUnavailable = f.from;
        f.from = false;
        f.in = false;
      }
      break;
    case "subscribed":
      if (f.out) {
        deliver = true;
        f.to = true;
        f.out = false;
      }
      break;
    case "unsubscribed":
      if (f.to || f.out) {
        deliver = true;
        f.to = false;
        f.out = false;
      }
      break;
  }
  after = withFlags(after, f);

  const { changes, pushes, rosterVersion } = settle(before, after, input.rosterVersion, input.newId);
  return {
    changes,
    pushes,
    deliverToUser: deliver ? delivered : null,
    autoReply: autoReply ? [xml("presence", { from: contactOwner, to: remote, type: "subscribed" })] : [],
    ...(autoReply ? { sendProbeResult: true } : {}),
    ...(sendUnavailable ? { sendUnavailableToRemote: true } : {}),
    ...(storePending ? { storePending: true } : {}),
    ...versionOut(rosterVersion),
  };
}

/** Contacts that receive the user's presence broadcasts: subscription "from" or "both" (RFC 6121 4.2.2). */
export function presenceRecipients(items: readonly RosterItem[]): string[] {
  return items.filter((i) => flagsOf(i).from).map((i) => i.jid);
}

/** Contacts whose presence the user's server probes at login: subscription "to" or "both" (4.3.1). */
export function probeTargets(items: readonly RosterItem[]): string[] {
  return items.filter((i) => flagsOf(i).to).map((i) => i.jid);
}

/** Whether the user is subscribed to `contact`'s presence (subscription "to" or "both"). */
export function mayReceivePresenceFrom(items: readonly RosterItem[], contact: string): boolean {
  const bare = normaliseBareJid(contact);
  return bare !== undefined && flagsOf(findItem(items, bare)).to;
}

/**
 * Inbound requests still waiting for the user's answer, as serialized presence stanzas: RFC 6121 3.1.3
 * has them delivered again each time the user becomes available until answered.
 */
export function pendingRequests(items: readonly RosterItem[]): { jid: string; stanza: string }[] {
  return items
    .filter((i) => i.pendingIn === true)
    .map((i) => ({
      jid: i.jid,
      stanza: i.pendingInStanza ?? xml("presence", { from: i.jid, type: "subscribe" }).toString(),
    }));
}

function flagsOf(item: RosterItem | undefined): Flags {
  const s = item?.subscription ?? "none";
  const to = s === "to" || s === "both";
  const from = s === "from" || s === "both";
  // "Pending Out" only exists without "to", and "Pending In" without "from" (A.1).
  return { to, from, out: !to && item?.ask === "subscribe", in: !from && item?.pendingIn === true };
}

function withFlags(item: RosterItem, f: Flags): RosterItem {
  const next: RosterItem = {
    ...item,
    subscription: f.to && f.from ? "both" : f.to ? "to" : f.from ? "from" : "none",
  };
  if (f.out) next.ask = "subscribe";
  else delete next.ask;
  if (!f.in) {
    delete next.pendingIn;
    delete next.pendingInStanza;
  } else {
    next.pendingIn = true;
  }
  if (f.from) delete next.approved; // a pre-approval only means something before a subscription
  return next;
}

// The changes and pushes that take `before` to `after`. Records kept only for a pending request are
// never pushed, and are dropped once nothing is pending.
function settle(
  before: RosterItem | undefined,
  after: RosterItem,
  version: number | undefined,
  newId: (() => string) | undefined,
): { changes: RosterChange[]; pushes: Element[]; rosterVersion: number | undefined } {
  // A record made from nothing that still says nothing (e.g. 'unsubscribe' to a stranger) is not stored.
  if (before === undefined && isBlank(after)) return { changes: [], pushes: [], rosterVersion: version };
  const keep = !(after.pendingOnly === true && after.pendingIn !== true);
  const changes: RosterChange[] = [];
  if (!keep) {
    if (before !== undefined) changes.push({ kind: "delete", jid: after.jid });
  } else if (before === undefined || !sameRecord(before, after)) {
    changes.push({ kind: "put", item: after });
  }

  const wasVisible = before !== undefined && before.pendingOnly !== true;
  const isVisible = keep && after.pendingOnly !== true;
  const pushes: Element[] = [];
  let v = version;
  const id = newId ?? randomUUID;
  if (isVisible && (!wasVisible || itemToXml(before).toString() !== itemToXml(after).toString())) {
    v = v === undefined ? undefined : v + 1;
    pushes.push(rosterPush(after, id(), v));
  } else if (wasVisible && !isVisible) {
    v = v === undefined ? undefined : v + 1;
    pushes.push(rosterPush({ remove: after.jid }, id(), v));
  }
  return { changes, pushes, rosterVersion: v };
}

function isBlank(item: RosterItem): boolean {
  return (
    item.subscription === "none" &&
    item.ask === undefined &&
    item.approved !== true &&
    item.pendingIn !== true
  );
}

function sameRecord(a: RosterItem, b: RosterItem): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof RosterItem)[]);
  for (const k of keys) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  }
  return true;
}

// A copy addressed bare-to-bare (RFC 6121 3.1.2, 3.1.3): subscriptions are between accounts, not resources.
function stamp(stanza: Element, from: string, to: string): Element {
  const copy = copyElement(stanza);
  copy.attrs.from = from;
  copy.attrs.to = to;
  return copy;
}

function copyElement(el: Element): Element {
  const copy = new Element(el.name, { ...el.attrs });
  for (const child of el.children) copy.cnode(typeof child === "string" ? child : copyElement(child));
  return copy;
}

function versionOut(v: number | undefined): { rosterVersion?: number } {
  return v === undefined ? {} : { rosterVersion: v };
}

/**
 * The user's own requests still unanswered, ready to route again: RFC 6121 3.1.2 has the user's server
 * resend them (SHOULD), e.g. when a resource of the user becomes available.
 */
export function unansweredRequests(user: string, items: readonly RosterItem[]): Element[] {
  return items
    .filter((i) => flagsOf(i).out)
    .map((i) => xml("presence", { from: user, to: i.jid, type: "subscribe" }));
}
