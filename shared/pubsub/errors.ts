// Every way a PubSub request fails, in one registry: the failure's name (what rules.ts and the handlers
// return), the RFC 6120 stanza error condition, and the XEP-0060 application condition in pubsub#errors
// (with its 'feature' attribute for <unsupported/>). Names follow the XEP's own wording.
import { type Element, xml } from "@xmpp/xml";
import { NS_PUBSUB_ERRORS } from "../xmpp/namespaces";
import { type StanzaErrorCondition, stanzaError } from "../xmpp/stanza-errors";

interface FailureDef {
  readonly condition: StanzaErrorCondition;
  /** The pubsub#errors element, when the XEP names one. */
  readonly app?: string;
}

export const PUBSUB_FAILURES = {
  "node-not-found": { condition: "item-not-found" },
  "item-not-found": { condition: "item-not-found" },
  "node-exists": { condition: "conflict" },
  "nodeid-required": { condition: "bad-request", app: "nodeid-required" },
  "invalid-node-id": { condition: "bad-request" },
  "item-required": { condition: "bad-request", app: "item-required" },
  "payload-required": { condition: "bad-request", app: "payload-required" },
  "invalid-payload": { condition: "bad-request", app: "invalid-payload" },
  "payload-too-big": { condition: "not-acceptable", app: "payload-too-big" },
  "too-many-items": { condition: "bad-request" },
  "invalid-jid": { condition: "bad-request", app: "invalid-jid" },
  "jid-mismatch": { condition: "forbidden" },
  "not-owner": { condition: "forbidden" },
  "not-publisher": { condition: "forbidden" },
  outcast: { condition: "forbidden" },
  "presence-subscription-required": { condition: "not-authorized", app: "presence-subscription-required" },
  "closed-node": { condition: "not-allowed", app: "closed-node" },
  "not-subscribed-authorize": { condition: "not-authorized", app: "not-subscribed" },
  "pending-subscription": { condition: "not-authorized", app: "pending-subscription" },
  "not-subscribed": { condition: "unexpected-request", app: "not-subscribed" },
  "invalid-subid": { condition: "not-acceptable", app: "invalid-subid" },
  "invalid-options": { condition: "bad-request", app: "invalid-options" },
  "bad-config": { condition: "not-acceptable" },
  "unsupported-access-model": { condition: "not-acceptable", app: "unsupported-access-model" },
  "last-owner": { condition: "not-acceptable" },
  unsupported: { condition: "feature-not-implemented", app: "unsupported" },
  "bad-request": { condition: "bad-request" },
  "no-service": { condition: "service-unavailable" },
  // Personal data without the data subject's valid consent (Quoalise answers not-authorized too).
  "consent-required": { condition: "not-authorized" },
} as const satisfies Record<string, FailureDef>;

export type PubsubFailureName = keyof typeof PUBSUB_FAILURES;

export interface PubsubFailure {
  readonly failure: PubsubFailureName;
  /** Human-readable reason (RFC 6120 <text/>): never personal data beyond what the requester sent. */
  readonly text?: string;
  /** For "unsupported": the XEP-0060 feature name (e.g. "publish-options"). */
  readonly feature?: string;
}

export const fail = (failure: PubsubFailureName, text?: string, feature?: string): PubsubFailure => ({
  failure,
  text,
  feature,
});

export function isFailure(x: unknown): x is PubsubFailure {
  return typeof x === "object" && x !== null && "failure" in x;
}

/** The error reply to `iq` for `f`: condition, its default type, the pubsub#errors element and the text. */
export function pubsubErrorReply(iq: Element, f: PubsubFailure): Element {
  const def: FailureDef = PUBSUB_FAILURES[f.failure];
  const appSpecific = def.app
    ? xml(def.app, { xmlns: NS_PUBSUB_ERRORS, feature: def.app === "unsupported" ? f.feature : undefined })
    : undefined;
  return stanzaError(iq, def.condition, { text: f.text, appSpecific });
}
