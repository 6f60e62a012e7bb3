// Roster items (RFC 6121 section 2): the stored record, its wire form, and the rules a client's roster
// set must follow. Pure: no storage, no delivery.
import { jid as parseJid } from "@xmpp/jid";
import { type Element, xml } from "@xmpp/xml";
import { NS_ROSTER } from "../namespaces";

export type Subscription = "none" | "to" | "from" | "both";

export interface RosterItem {
  /** Bare JID of the contact, as normalised by `normaliseBareJid`. */
  jid: string;
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** The user asked to subscribe to the contact and has no answer yet ("Pending Out"). */
  ask?: "subscribe";
  /** The user pre-approved a subscription request from the contact (RFC 6121 3.4). */
  approved?: boolean;
  /**
   * The contact asked to subscribe to the user, who has not answered yet ("Pending In"). The request is
   * kept with its stanza so it can be delivered again at each login until answered (RFC 6121 3.1.3).
   */
  pendingIn?: boolean;
  pendingInStanza?: string;
  /**
   * The record only notes a pending inbound request from someone the user never added: RFC 6121 3.1.3
   * forbids creating a roster item before the user approves, so such a record is never shown in roster
   * results or pushes, and is dropped once the request is answered or withdrawn.
   */
  pendingOnly?: boolean;
}

export type RosterChange = { kind: "put"; item: RosterItem } | { kind: "delete"; jid: string };

/** What a client's roster set asks for (RFC 6121 2.3, 2.5). */
export interface RosterSetItem {
  jid: string;
  name?: string;
  groups: string[];
  remove: boolean;
}

export type ItemParseResult =
  | { ok: true; item: RosterSetItem }
  | { ok: false; condition: "bad-request" | "not-acceptable"; text: string };

export interface ItemLimits {
  /** Longest 'name' accepted, in characters (RFC 6121 2.3.3: "a server-configured limit"). */
  maxNameLength: number;
  /** Longest <group/>, in characters (RFC 6121 2.3.3). */
  maxGroupLength: number;
  /** Most <group/>s on one item; not in the RFC, a bound on what one item may cost to store. */
  maxGroups: number;
}

export const DEFAULT_ITEM_LIMITS: ItemLimits = { maxNameLength: 1023, maxGroupLength: 1023, maxGroups: 64 };

/** Items the user sees: everything but records of requests from people never added. */
export function visibleItems(items: readonly RosterItem[]): RosterItem[] {
  return items.filter((i) => i.pendingOnly !== true);
}

export function findItem(items: readonly RosterItem[], bareJid: string): RosterItem | undefined {
  return items.find((i) => i.jid === bareJid);
}

/**
 * The bare form of `address`, lower-cased the way @xmpp/jid does, or undefined when it is not an address
 * a roster can hold. @xmpp/jid parses without stringprep/PRECIS; the checks here only refuse what is
 * plainly not a JID.
 */
export function normaliseBareJid(address: string): string | undefined {
  const full = normaliseJid(address);
  if (full === undefined) return undefined;
  return parseJid(full).bare().toString();
}

/** The whole JID (resource kept), normalised, or undefined when it is not a JID. */
export function normaliseJid(address: string): string | undefined {
  if (address === "" || address.length > 3071) return undefined;
  let parsed: ReturnType<typeof parseJid>;
  try {
    parsed = parseJid(address);
  } catch {
    return undefined;
  }
  const domain = parsed.getDomain();
  if (/[\s@/]/u.test(domain) || domain.startsWith(".") || domain.endsWith(".") || domain.includes("..")) {
    return undefined;
  }
  const beforeResource = address.split("/", 1)[0] ?? "";
  if (beforeResource.includes("@") && parsed.getLocal() === "") return undefined;
  if (address.includes("/") && parsed.getResource() === "") return undefined;
  return parsed.toString();
}

/** The <item/> of a roster result or push (RFC 6121 2.1.2). Pending-in details stay server-side. */
export function itemToXml(item: RosterItem): Element {
  const el = xml("item", {
    jid: item.jid,
    name: item.name,
    subscription: item.subscription,
    ask: item.ask,
    approved: item.approved === true ? "true" : undefined,
  });
  for (const group of item.groups) el.cnode(xml("group", {}, group));
  return el;
}

/**
 * Reads one <item/> of a client's roster set (RFC 6121 2.3 and 2.5). Per 2.1.2, 'subscription' values
 * other than "remove", and 'ask' and 'approved', are ignored: they are the server's to set.
 */
export function parseItemXml(el: Element, limits: ItemLimits = DEFAULT_ITEM_LIMITS): ItemParseResult {
  const rawJid = el.attrs.jid;
  if (rawJid === undefined || rawJid === "") {
    return { ok: false, condition: "bad-request", text: "the <item/> has no 'jid'" };
  }
  const full = normaliseJid(rawJid);
  if (full === undefined)
    return { ok: false, condition: "bad-request", text: "the 'jid' is not a valid JID" };
  const bare = normaliseBareJid(full);
  if (bare !== full) {
    return { ok: false, condition: "bad-request", text: "a roster item is a bare JID, without a resource" };
  }

  const remove = el.attrs.subscription === "remove";
  const groups: string[] = [];
  for (const group of el.getChildren("group")) {
    const name = group.getText();
    if (name === "") {
      return { ok: false, condition: "not-acceptable", text: "a <group/> is empty" };
    }
    if (charLength(name) > limits.maxGroupLength) {
      return {
        ok: false,
        condition: "not-acceptable",
        text: `a <group/> is longer than ${limits.maxGroupLength}`,
      };
    }
    if (groups.includes(name)) {
      return { ok: false, condition: "bad-request", text: "the same <group/> appears twice" };
    }
    groups.push(name);
  }
  if (groups.length > limits.maxGroups) {
    return { ok: false, condition: "not-acceptable", text: `more than ${limits.maxGroups} <group/>s` };
  }

  const name = el.attrs.name;
  if (name !== undefined && charLength(name) > limits.maxNameLength) {
    return {
      ok: false,
      condition: "not-acceptable",
      text: `the 'name' is longer than ${limits.maxNameLength}`,
    };
  }

  const item: RosterSetItem = { jid: bare, groups, remove };
  // An empty name is no name: clients send name="" to clear it.
  if (name !== undefined && name !== "") item.name = name;
  return { ok: true, item };
}

/** The single <item/> of a roster set's <query/> (RFC 6121 2.3.3: exactly one), parsed. */
export function parseRosterSetQuery(
  query: Element,
  limits: ItemLimits = DEFAULT_ITEM_LIMITS,
): ItemParseResult {
  const items = query.getChildren("item");
  if (items.length !== 1 || items[0] === undefined) {
    return { ok: false, condition: "bad-request", text: "a roster set carries exactly one <item/>" };
  }
  return parseItemXml(items[0], limits);
}

/**
 * A roster push (RFC 6121 2.1.6) of `item`, or of the removal of `jid`. No 'to' and no 'from': the
 * caller addresses one copy to each interested resource, and an absent 'from' means the user's account.
 */
export function rosterPush(change: RosterItem | { remove: string }, id: string, version?: number): Element {
  const query = xml("query", { xmlns: NS_ROSTER, ver: version === undefined ? undefined : String(version) });
  query.cnode(
    "remove" in change ? xml("item", { jid: change.remove, subscription: "remove" }) : itemToXml(change),
  );
  return xml("iq", { type: "set", id }, query);
}

// Characters, not UTF-16 code units: a limit should not be halved for text outside the BMP.
function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
