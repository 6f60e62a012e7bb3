// RFC 6120 4.9 stream errors, framed for WebSocket per RFC 7395 3.5/3.6: the <error/> goes in a message
// of its own, then <close/>. There is no <stream:stream> root to declare the "stream" prefix, so the
// error element carries its namespace as a default xmlns (RFC 7395 3.3.3 allows either form).
import { type Element, xml } from "@xmpp/xml";
import { NS_FRAMING, NS_STREAMS, NS_XMPP_STREAMS } from "./namespaces";

/** RFC 6120 4.9.3, all 25 defined conditions. */
export const STREAM_ERROR_CONDITIONS = [
  "bad-format",
  "bad-namespace-prefix",
  "conflict",
  "connection-timeout",
  "host-gone",
  "host-unknown",
  "improper-addressing",
  "internal-server-error",
  "invalid-from",
  "invalid-namespace",
  "invalid-xml",
  "not-authorized",
  "not-well-formed",
  "policy-violation",
  "remote-connection-failed",
  "reset",
  "resource-constraint",
  "restricted-xml",
  "see-other-host",
  "system-shutdown",
  "undefined-condition",
  "unsupported-encoding",
  "unsupported-feature",
  "unsupported-stanza-type",
  "unsupported-version",
] as const;

export type StreamErrorCondition = (typeof STREAM_ERROR_CONDITIONS)[number];

const conditions: ReadonlySet<string> = new Set(STREAM_ERROR_CONDITIONS);

export function isStreamErrorCondition(value: string): value is StreamErrorCondition {
  return conditions.has(value);
}

export interface StreamErrorOptions {
  /** xml:lang of the <text/>; RFC 6120 4.9.2 says it SHOULD be present. Default "en". */
  lang?: string;
  /** RFC 6120 4.9.4 application-specific condition, in its own namespace. */
  appSpecific?: Element;
}

/** The <error xmlns="http://etherx.jabber.org/streams"> element, for callers that need the tree. */
export function streamErrorElement(
  condition: StreamErrorCondition,
  text?: string,
  opts: StreamErrorOptions = {},
): Element {
  const error = xml("error", { xmlns: NS_STREAMS }, xml(condition, { xmlns: NS_XMPP_STREAMS }));
  if (text !== undefined && text !== "") {
    error.cnode(xml("text", { xmlns: NS_XMPP_STREAMS, "xml:lang": opts.lang ?? "en" }, text));
  }
  if (opts.appSpecific !== undefined) error.cnode(opts.appSpecific);
  return error;
}

/** The <close/> frame that ends an RFC 7395 stream. */
export const CLOSE_FRAME: string = xml("close", { xmlns: NS_FRAMING }).toString();

/**
 * The WebSocket messages to send, in order, for a stream error: the error, then <close/>. If the stream
 * was not opened yet, RFC 7395 3.5 wants the server's <open/> sent first: that is the caller's to add.
 */
export function streamErrorFrames(
  condition: StreamErrorCondition,
  text?: string,
  opts?: StreamErrorOptions,
): string[] {
  return [streamErrorElement(condition, text, opts).toString(), CLOSE_FRAME];
}
