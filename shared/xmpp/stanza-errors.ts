// RFC 6120 8.3 stanza errors: the defined conditions, their usual error type, and the error reply.
import { Element, xml } from "@xmpp/xml";
import { NS_STANZAS } from "./namespaces";

export type ErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

/** RFC 6120 8.3.3: each condition with the type its section recommends (the first when it names two). */
export const STANZA_ERROR_DEFAULT_TYPES = {
  "bad-request": "modify",
  conflict: "cancel",
  "feature-not-implemented": "cancel",
  forbidden: "auth",
  gone: "cancel",
  "internal-server-error": "cancel",
  "item-not-found": "cancel",
  "jid-malformed": "modify",
  "not-acceptable": "modify",
  "not-allowed": "cancel",
  "not-authorized": "auth",
  "policy-violation": "modify",
  "recipient-unavailable": "wait",
  redirect: "modify",
  "registration-required": "auth",
  "remote-server-not-found": "cancel",
  "remote-server-timeout": "wait",
  "resource-constraint": "wait",
  "service-unavailable": "cancel",
  "subscription-required": "auth",
  "undefined-condition": "cancel",
  "unexpected-request": "wait",
} as const satisfies Record<string, ErrorType>;

export type StanzaErrorCondition = keyof typeof STANZA_ERROR_DEFAULT_TYPES;

export function isStanzaErrorCondition(value: string): value is StanzaErrorCondition {
  return Object.hasOwn(STANZA_ERROR_DEFAULT_TYPES, value);
}

export interface StanzaErrorOptions {
  /** Human-readable explanation (RFC 6120 8.3.2 <text/>); never personal data. */
  text?: string;
  /** xml:lang of the text; default "en". */
  lang?: string;
  /** Overrides the condition's default type. */
  type?: ErrorType;
  /** JID of the entity that generated the error (RFC 6120 8.3.1 'by'). */
  by?: string;
  /** Application-specific condition element in its own namespace (RFC 6120 8.3.4). */
  appSpecific?: Element;
  /** Character data of <gone/> or <redirect/>: the XMPP URI of the new address (RFC 6120 8.3.3.5/8.3.3.14). */
  uri?: string;
  /**
   * Echo the original stanza's child elements (RFC 6120 8.3.1 MAY). Off by default: payloads may be large
   * or carry personal data, and the sender already has them.
   */
  includeOriginal?: boolean;
}

/** True for a stanza of type "error", to which RFC 6120 8.3.1 forbids replying with another error. */
export function isErrorStanza(stanza: Element): boolean {
  return stanza.attrs.type === "error";
}

/**
 * The error reply to `stanza`: same name, namespace and id, addressing swapped, type="error", and an
 * <error/> with the condition in urn:ietf:params:xml:ns:xmpp-stanzas. Throws when `stanza` is itself an
 * error: answering one would be a bug that can loop between two entities.
 */
export function stanzaError(
  stanza: Element,
  condition: StanzaErrorCondition,
  opts: StanzaErrorOptions = {},
): Element {
  if (isErrorStanza(stanza)) {
    throw new Error(`refusing to answer an error <${stanza.name}/> with an error (RFC 6120 8.3.1)`);
  }
  const { xmlns, from, to, id } = stanza.attrs;
  const reply = xml(stanza.name, { xmlns, from: to, to: from, id, type: "error" });

  if (opts.includeOriginal === true) {
    for (const child of stanza.children) {
      if (child instanceof Element) reply.cnode(copyElement(child));
    }
  }

  const error = xml("error", { type: opts.type ?? STANZA_ERROR_DEFAULT_TYPES[condition], by: opts.by });
  error.cnode(xml(condition, { xmlns: NS_STANZAS }, opts.uri));
  if (opts.text !== undefined && opts.text !== "") {
    error.cnode(xml("text", { xmlns: NS_STANZAS, "xml:lang": opts.lang ?? "en" }, opts.text));
  }
  if (opts.appSpecific !== undefined) error.cnode(opts.appSpecific);
  reply.cnode(error);
  return reply;
}

// A copy, so the reply never re-parents (and thereby corrupts) the caller's tree. Depth is bounded by the
// frame parser's maxDepth.
function copyElement(el: Element): Element {
  const copy = new Element(el.name, { ...el.attrs });
  for (const child of el.children) copy.cnode(typeof child === "string" ? child : copyElement(child));
  return copy;
}
