// One WebSocket message -> one XMPP frame (RFC 7395 3.3.3: every message is one whole XML element), read
// with a strict, namespace-aware parser under RFC 6120 section 11 "restricted XML":
// - no DTD, so no entity declarations and no entity expansion (billion laughs): restricted-xml;
// - no comments, no processing instructions: restricted-xml;
// - entity references only to the five predefined entities, plus character references (11.1): an
//   undefined one is restricted-xml;
// - UTF-8 only (11.6): invalid bytes, or a declared encoding other than UTF-8, are unsupported-encoding
//   (4.9.3.22 covers both "an encoding that is not supported" and "violating the rules of UTF-8");
// - anything else XML or XML-Names reject (two roots, text outside the root, an unclosed element,
//   characters XML 1.0 forbids, an unbound prefix): not-well-formed (4.9.3.13).
// An XML declaration is accepted: RFC 6120 11.5 lets an entity send one before the stream header, it is
// not a processing instruction in the XML grammar, and a message that starts with one is still "one
// whole XML element". It must say version 1.0 and, if it names an encoding, UTF-8.
// Size, depth and attribute-count limits are local policy: policy-violation (4.9.3.14), checked before
// or during the single parsing pass so that hostile input costs as little as possible.
import { Element } from "@xmpp/xml";
import { SaxesParser, type SaxesTagNS } from "saxes";
import { NS_CLIENT, NS_FRAMING, NS_STREAMS } from "./namespaces";
import type { StreamErrorCondition } from "./stream-errors";

export interface FrameLimits {
  /** Largest message accepted, in UTF-8 bytes. */
  maxBytes: number;
  /** Deepest element nesting accepted; the frame's own element is depth 1. */
  maxDepth: number;
  /** Most attributes (namespace declarations included) on any one element. */
  maxAttributesPerElement: number;
  /** Most character data in the whole frame, in UTF-8 bytes (after entity decoding). Unset: no limit. */
  maxTextBytes?: number;
}

export type Frame =
  | { kind: "open"; to?: string; from?: string; version?: string; lang?: string; id?: string }
  | { kind: "close" }
  | { kind: "element"; element: Element };

export type FrameError = { condition: StreamErrorCondition; text: string };

export type FrameResult = { ok: true; frame: Frame } | { ok: false; error: FrameError };

// Thrown from inside the saxes callbacks to stop parsing at the first fault; never escapes this module.
class FrameFault extends Error {
  constructor(
    readonly condition: StreamErrorCondition,
    text: string,
  ) {
    super(text);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseFrame(data: string | Uint8Array, limits: FrameLimits): FrameResult {
  let text: string;
  if (typeof data === "string") {
    if (utf8Length(data, limits.maxBytes) > limits.maxBytes) return tooBig(limits);
    // saxes lets a lone high surrogate through when a non-surrogate follows it; XML 1.0 forbids both halves.
    if (!isWellFormed(data)) {
      return fail("not-well-formed", "the message contains a lone UTF-16 surrogate, a character XML forbids");
    }
    text = data;
  } else {
    if (data.byteLength > limits.maxBytes) return tooBig(limits);
    try {
      text = utf8.decode(data);
    } catch {
      return fail("unsupported-encoding", "the message is not valid UTF-8 (RFC 6120 11.6)");
    }
  }
  try {
    return { ok: true, frame: toFrame(parseElement(text, limits)) };
  } catch (e) {
    if (e instanceof FrameFault) return fail(e.condition, e.message);
    throw e;
  }
}

function fail(condition: StreamErrorCondition, text: string): FrameResult {
  return { ok: false, error: { condition, text } };
}

function tooBig(limits: FrameLimits): FrameResult {
  return fail("policy-violation", `the message is larger than ${limits.maxBytes} bytes`);
}

// String.prototype.isWellFormed is in Node 20 (V8 11.3) but not in TypeScript's ES2023 lib.
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

// UTF-8 length, skipping the count when the UTF-16 length alone decides: each UTF-16 unit is 1 to 3
// UTF-8 bytes (a surrogate pair, two units, is 4).
function utf8Length(s: string, max: number): number {
  if (s.length > max) return s.length;
  if (s.length * 3 <= max) return s.length;
  return Buffer.byteLength(s, "utf8");
}

function parseElement(text: string, limits: FrameLimits): Element {
  const parser = new SaxesParser({ xmlns: true });
  // Elements still open, innermost last; its length is the current depth.
  const open: Element[] = [];
  let root: Element | undefined;
  let attributeCount = 0;
  let textBytes = 0;

  // The DTD is refused, so only the five predefined entities exist; the proxy notes the name of any other
  // reference, which saxes then reports as an "undefined entity" without naming it.
  let undefinedEntity: string | undefined;
  parser.ENTITIES = new Proxy(parser.ENTITIES, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (value === undefined && typeof key === "string") undefinedEntity = key;
      return value;
    },
  });
  parser.on("error", (err) => {
    if (undefinedEntity !== undefined && err.message.endsWith("undefined entity.")) {
      throw new FrameFault(
        "restricted-xml",
        `the entity reference &${undefinedEntity}; is not allowed: only &lt; &gt; &amp; &quot; &apos; and character references (RFC 6120 11.1)`,
      );
    }
    throw new FrameFault("not-well-formed", `malformed XML: ${err.message}`);
  });
  parser.on("doctype", () => {
    throw new FrameFault("restricted-xml", "a DTD (<!DOCTYPE>) is not allowed (RFC 6120 11.1)");
  });
  parser.on("comment", () => {
    throw new FrameFault("restricted-xml", "a comment is not allowed (RFC 6120 11.1)");
  });
  parser.on("processinginstruction", (pi) => {
    throw new FrameFault(
      "restricted-xml",
      `a processing instruction (<?${pi.target} ...?>) is not allowed (RFC 6120 11.1)`,
    );
  });
  parser.on("xmldecl", (decl) => {
    if (decl.version !== undefined && decl.version !== "1.0") {
      throw new FrameFault("restricted-xml", `XML ${decl.version} is not allowed; XMPP is XML 1.0`);
    }
    if (decl.encoding !== undefined && decl.encoding.toUpperCase() !== "UTF-8") {
      throw new FrameFault(
        "unsupported-encoding",
        `encoding "${decl.encoding}" is not supported; XMPP is UTF-8 (RFC 6120 11.6)`,
      );
    }
  });
  parser.on("opentagstart", (tag) => {
    if (root !== undefined && open.length === 0) {
      throw new FrameFault(
        "not-well-formed",
        `a second top-level element <${tag.name}>: a WebSocket message carries exactly one (RFC 7395 3.3.3)`,
      );
    }
    if (open.length === 0 && tag.name === "stream:stream") throw tcpStreamHeader();
    if (open.length + 1 > limits.maxDepth) {
      throw new FrameFault("policy-violation", `elements are nested deeper than ${limits.maxDepth} levels`);
    }
    attributeCount = 0;
  });
  parser.on("attribute", () => {
    attributeCount += 1;
    if (attributeCount > limits.maxAttributesPerElement) {
      throw new FrameFault(
        "policy-violation",
        `an element has more than ${limits.maxAttributesPerElement} attributes`,
      );
    }
  });
  parser.on("opentag", (tag) => {
    const element = new Element(tag.name, attributesOf(tag));
    const parent = open[open.length - 1];
    if (parent === undefined) {
      if (tag.local === "stream" && tag.uri === NS_STREAMS) throw tcpStreamHeader();
      root = element;
    } else {
      parent.cnode(element);
    }
    open.push(element);
  });
  parser.on("closetag", () => {
    open.pop();
  });
  const onText = (data: string) => {
    if (limits.maxTextBytes !== undefined) {
      textBytes += Buffer.byteLength(data, "utf8");
      if (textBytes > limits.maxTextBytes) {
        throw new FrameFault("policy-violation", `the text content exceeds ${limits.maxTextBytes} bytes`);
      }
    }
    // saxes reports whitespace outside the root too; only text inside an element belongs to the tree.
    if (data !== "") open[open.length - 1]?.t(data);
  };
  parser.on("text", onText);
  parser.on("cdata", onText);

  parser.write(text).close();
  if (root === undefined) throw new FrameFault("not-well-formed", "the message contains no element");
  return root;
}

function attributesOf(tag: SaxesTagNS): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const name in tag.attributes) {
    const attribute = tag.attributes[name];
    if (attribute !== undefined) attrs[name] = attribute.value;
  }
  return attrs;
}

function tcpStreamHeader(): FrameFault {
  return new FrameFault(
    "invalid-namespace",
    `<stream:stream> is the TCP stream header; over WebSocket open the stream with <open xmlns="${NS_FRAMING}"/> (RFC 7395 3.4)`,
  );
}

function toFrame(element: Element): Frame {
  const name = element.getName();
  const ns = element.getNS();
  if (name === "open" || name === "close") {
    if (ns !== NS_FRAMING) {
      throw new FrameFault(
        "invalid-namespace",
        `<${name}/> must be in the framing namespace ${NS_FRAMING} (RFC 7395 3.4), not ${ns ?? "none"}`,
      );
    }
    if (name === "close") return { kind: "close" };
    const { to, from, version, id } = element.attrs;
    const lang = element.attrs["xml:lang"];
    return {
      kind: "open",
      ...(to !== undefined && { to }),
      ...(from !== undefined && { from }),
      ...(version !== undefined && { version }),
      ...(lang !== undefined && { lang }),
      ...(id !== undefined && { id }),
    };
  }
  if (ns === NS_FRAMING) {
    throw new FrameFault(
      "unsupported-stanza-type",
      `<${name}/> is not defined in the framing namespace; it has only <open/> and <close/>`,
    );
  }
  // A frame has no <stream:stream> around it to declare the content namespace; as in a TCP stream
  // opened with xmlns="jabber:client", an element that declares no default namespace is in jabber:client.
  if (element.attrs.xmlns === undefined) element.attrs.xmlns = NS_CLIENT;
  return { kind: "element", element };
}
