// XEP-0060 decisions, pure: who may do what on a node, given its configuration and facts about the requester
// that the caller gathered (affiliation, subscription, presence subscription, tenant). Nothing here reads or
// writes; the handlers in shared/xmpp/features/pubsub.ts gather the facts and carry out the outcome.

import { bareOf, fullOf, parseJid } from "../xmpp/jid";
import type { AccessModel, NodeConfig } from "./config";
import { fail, type PubsubFailure } from "./errors";

export const AFFILIATIONS = ["owner", "publisher", "member", "none", "outcast"] as const;
export type Affiliation = (typeof AFFILIATIONS)[number];
export const isAffiliation = (s: string): s is Affiliation => (AFFILIATIONS as readonly string[]).includes(s);

/** Stored states; "none" is the absence of a subscription. */
export type SubscriptionState = "subscribed" | "pending" | "unconfigured";

export interface RequesterFacts {
  readonly affiliation: Affiliation;
  /** The requester's current subscription state to the node, if any. */
  readonly subscription?: SubscriptionState;
  /** Whether the requester receives the owner's presence (owner's roster: subscription from or both). */
  readonly presenceSubscribed: boolean;
  /** Whether the requester's account belongs to the tenant owning the service. */
  readonly sameTenant: boolean;
}

const MAX_NODE_ID = 1023;

/** Node ids are opaque strings (XEP-0060 4.2): anything printable, so Quoalise identifiers fit as they are. */
export function nodeIdProblem(node: string | undefined): PubsubFailure | undefined {
  if (node === undefined || node === "") return fail("nodeid-required", "the request names no node");
  if (node.length > MAX_NODE_ID)
    return fail("invalid-node-id", `a node id has at most ${MAX_NODE_ID} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(node))
    return fail("invalid-node-id", "a node id has no control characters");
  return undefined;
}

/** Creating nodes on a tenant's service is for that tenant's accounts. */
export function mayCreate(sameTenant: boolean): PubsubFailure | undefined {
  return sameTenant
    ? undefined
    : fail("not-owner", "only accounts of the service's own domains create nodes here");
}

export function mayOwn(f: Pick<RequesterFacts, "affiliation">): PubsubFailure | undefined {
  return f.affiliation === "owner" ? undefined : fail("not-owner", "only an owner of the node may do this");
}

/** XEP-0060 publish model "publishers": owners and publishers. */
export function mayPublish(f: Pick<RequesterFacts, "affiliation">): PubsubFailure | undefined {
  return f.affiliation === "owner" || f.affiliation === "publisher"
    ? undefined
    : fail("not-publisher", "only owners and publishers of the node may publish to it");
}

const crossTenant = (model: AccessModel) =>
  fail(
    "closed-node",
    `this node's access model (${model}) admits accounts of another operator only when its owner grants them (member or approved subscription)`,
  );

/**
 * What a subscription request (XEP-0060 6.1) leads to: subscribed at once, pending the owner's approval,
 * or a refusal. Another tenant's accounts get in on open nodes, or by the owner's explicit grant (member
 * affiliation, approval of an authorize request), never through roster-derived access.
 */
export function subscribeOutcome(
  config: NodeConfig,
  f: RequesterFacts,
): { state: "subscribed" | "pending" } | PubsubFailure {
  if (f.affiliation === "outcast") return fail("outcast", "you are banned from this node");
  if (f.affiliation === "owner" || f.affiliation === "publisher" || f.affiliation === "member") {
    return { state: "subscribed" };
  }
  switch (config.accessModel) {
    case "open":
      return { state: "subscribed" };
    case "presence":
      if (!f.sameTenant) return crossTenant("presence");
      return f.presenceSubscribed
        ? { state: "subscribed" }
        : fail(
            "presence-subscription-required",
            "subscribing needs a presence subscription to the node's owner",
          );
    case "whitelist":
      return fail("closed-node", "only members of the node may subscribe to it");
    case "authorize":
      if (f.subscription === "pending")
        return fail("pending-subscription", "your subscription request waits for the owner's approval");
      return { state: "pending" };
  }
}

/** Whether the requester may retrieve items (XEP-0060 6.5, access checks of 6.5.9). */
export function mayRetrieve(config: NodeConfig, f: RequesterFacts): PubsubFailure | undefined {
  if (f.affiliation === "outcast") return fail("outcast", "you are banned from this node");
  if (f.affiliation !== "none") return undefined;
  switch (config.accessModel) {
    case "open":
      return undefined;
    case "presence":
      if (!f.sameTenant) return crossTenant("presence");
      return f.presenceSubscribed
        ? undefined
        : fail(
            "presence-subscription-required",
            "retrieving items needs a presence subscription to the owner",
          );
    case "authorize":
      return f.subscription === "subscribed"
        ? undefined
        : fail("not-subscribed-authorize", "retrieving items needs a subscription approved by the owner");
    case "whitelist":
      return fail("closed-node", "only members of the node may retrieve its items");
  }
}

/**
 * Whether the node appears in the requester's disco#items and answers its disco#info: open nodes to
 * everyone, presence nodes to the tenant's accounts, and any node to those affiliated with it or subscribed.
 */
export function mayDiscover(config: NodeConfig, f: RequesterFacts): boolean {
  if (f.affiliation === "outcast") return false;
  if (f.affiliation !== "none" || f.subscription === "subscribed") return true;
  return config.accessModel === "open" || (config.accessModel === "presence" && f.sameTenant);
}

/**
 * The affiliations after an owner's change (XEP-0060 8.9.2): "none" removes the entry. A node keeps at
 * least one owner (8.9.2.4 lets a service refuse leaving it ownerless).
 */
export function changeAffiliations(
  current: ReadonlyMap<string, Affiliation>,
  changes: ReadonlyArray<{ jid: string; affiliation: Affiliation }>,
): Map<string, Affiliation> | PubsubFailure {
  const next = new Map(current);
  for (const c of changes) {
    if (c.affiliation === "none") next.delete(c.jid);
    else next.set(c.jid, c.affiliation);
  }
  if (![...next.values()].includes("owner"))
    return fail("last-owner", "the node would be left without an owner");
  return next;
}

/**
 * The JID a subscription is for, normalised: it must be the requester's own, bare or full
 * (XEP-0060 6.1.3.1 and 6.2.3.3).
 */
export function subscriberJid(requesterBare: string, jidAttr: string | undefined): string | PubsubFailure {
  if (jidAttr === undefined || jidAttr === "") return fail("invalid-jid", "the request has no 'jid'");
  const jid = parseJid(jidAttr);
  if (!jid) return fail("invalid-jid", `"${jidAttr}" is not a valid JID`);
  if (bareOf(jid) !== requesterBare) {
    return fail("invalid-jid", "the subscription's JID must be your own bare JID or one of your full JIDs");
  }
  return fullOf(jid);
}
