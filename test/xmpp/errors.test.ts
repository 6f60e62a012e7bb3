import { type Element, xml } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { type FrameLimits, type FrameResult, parseFrame } from "../../shared/xmpp/frame-parser";
import {
  NS_CLIENT,
  NS_DISCO_INFO,
  NS_PUBSUB_ERRORS,
  NS_STANZAS,
  NS_STREAMS,
  NS_XMPP_STREAMS,
} from "../../shared/xmpp/namespaces";
import {
  isErrorStanza,
  isStanzaErrorCondition,
  STANZA_ERROR_DEFAULT_TYPES,
  stanzaError,
} from "../../shared/xmpp/stanza-errors";
import {
  isStreamErrorCondition,
  STREAM_ERROR_CONDITIONS,
  streamErrorFrames,
} from "../../shared/xmpp/stream-errors";

const limits: FrameLimits = { maxBytes: 65_536, maxDepth: 32, maxAttributesPerElement: 16 };

function element(result: FrameResult): Element {
  if (!result.ok) throw new Error(`expected an element, got ${result.error.condition}: ${result.error.text}`);
  if (result.frame.kind !== "element") throw new Error(`expected an element, got <${result.frame.kind}/>`);
  return result.frame.element;
}

const stanza = (source: string) => element(parseFrame(source, limits));

describe("streamErrorFrames (RFC 6120 4.9, RFC 7395 3.5/3.6)", () => {
  it("sends the error, then <close/>, each a well-formed frame with the right namespaces", () => {
    const frames = streamErrorFrames("policy-violation", "the message is larger than 65536 bytes");
    expect(frames).toHaveLength(2);

    const error = element(parseFrame(frames[0] ?? "", limits));
    expect(error.is("error", NS_STREAMS)).toBe(true);
    const [condition, text, ...rest] = error.getChildElements();
    expect(rest).toEqual([]);
    expect(condition?.getName()).toBe("policy-violation");
    expect(condition?.getNS()).toBe(NS_XMPP_STREAMS);
    expect(condition?.children).toEqual([]);
    expect(text?.is("text", NS_XMPP_STREAMS)).toBe(true);
    expect(text?.attrs["xml:lang"]).toBe("en");
    expect(text?.getText()).toBe("the message is larger than 65536 bytes");

    expect(parseFrame(frames[1] ?? "", limits)).toEqual({ ok: true, frame: { kind: "close" } });
  });

  it("omits <text/> when there is none, and escapes text that looks like markup", () => {
    const [bare] = streamErrorFrames("not-well-formed");
    expect(bare).toBe(`<error xmlns="${NS_STREAMS}"><not-well-formed xmlns="${NS_XMPP_STREAMS}"/></error>`);

    const [tricky] = streamErrorFrames(
      "restricted-xml",
      `the entity reference &nbsp; in <body> is not allowed`,
    );
    const text = element(parseFrame(tricky ?? "", limits)).getChild("text", NS_XMPP_STREAMS);
    expect(text?.getText()).toBe("the entity reference &nbsp; in <body> is not allowed");
  });

  it("adds an application-specific condition after the text, and honours the language", () => {
    const [frame] = streamErrorFrames("undefined-condition", "trop de connexions", {
      lang: "fr",
      appSpecific: xml("too-many-sessions", { xmlns: "urn:relais:errors:0" }),
    });
    const children = element(parseFrame(frame ?? "", limits)).getChildElements();
    expect(children.map((c) => `${c.getNS()} ${c.getName()}`)).toEqual([
      `${NS_XMPP_STREAMS} undefined-condition`,
      `${NS_XMPP_STREAMS} text`,
      "urn:relais:errors:0 too-many-sessions",
    ]);
    expect(children[1]?.attrs["xml:lang"]).toBe("fr");
  });

  it("produces well-formed frames for every RFC 6120 condition", () => {
    expect(STREAM_ERROR_CONDITIONS).toHaveLength(25);
    for (const condition of STREAM_ERROR_CONDITIONS) {
      const error = element(parseFrame(streamErrorFrames(condition, "why")[0] ?? "", limits));
      expect(error.getChild(condition, NS_XMPP_STREAMS), condition).toBeDefined();
    }
  });

  it("answers each refused frame with its condition", () => {
    const refused = parseFrame("<message><!-- no --></message>", limits);
    if (refused.ok) throw new Error("a comment must be refused");
    const [frame] = streamErrorFrames(refused.error.condition, refused.error.text);
    expect(
      element(parseFrame(frame ?? "", limits)).getChild("restricted-xml", NS_XMPP_STREAMS),
    ).toBeDefined();
  });

  it("recognises condition names", () => {
    expect(isStreamErrorCondition("see-other-host")).toBe(true);
    expect(isStreamErrorCondition("xml-not-well-formed")).toBe(false);
  });
});

describe("stanzaError (RFC 6120 8.3)", () => {
  const get = `<iq type="get" id="q1" from="alice@asso.example/phone" to="asso.example"><query xmlns="${NS_DISCO_INFO}" node="x"/></iq>`;

  it("answers an iq with type=error, the same id, swapped addressing and the condition", () => {
    const reply = stanzaError(stanza(get), "service-unavailable", { text: "no such node" });
    // Through the real parser, as it would travel.
    const parsed = stanza(reply.toString());
    expect(parsed.is("iq", NS_CLIENT)).toBe(true);
    expect(parsed.attrs).toEqual({
      xmlns: NS_CLIENT,
      type: "error",
      id: "q1",
      from: "asso.example",
      to: "alice@asso.example/phone",
    });
    const error = parsed.getChild("error");
    expect(error?.getNS()).toBe(NS_CLIENT);
    expect(error?.attrs).toEqual({ type: "cancel" });
    const [condition, text, ...rest] = error?.getChildElements() ?? [];
    expect(rest).toEqual([]);
    expect(condition?.is("service-unavailable", NS_STANZAS)).toBe(true);
    expect(text?.is("text", NS_STANZAS)).toBe(true);
    expect(text?.attrs["xml:lang"]).toBe("en");
    expect(text?.getText()).toBe("no such node");
    // The payload is not echoed unless asked for.
    expect(parsed.getChildElements().map((c) => c.getName())).toEqual(["error"]);
  });

  it("uses each condition's default type, unless told otherwise", () => {
    const message = stanza(`<message to="bob@asso.example" id="m1"><body>hi</body></message>`);
    expect(stanzaError(message, "forbidden").getChild("error")?.attrs.type).toBe("auth");
    expect(stanzaError(message, "bad-request").getChild("error")?.attrs.type).toBe("modify");
    expect(stanzaError(message, "resource-constraint").getChild("error")?.attrs.type).toBe("wait");
    expect(stanzaError(message, "policy-violation", { type: "wait" }).getChild("error")?.attrs.type).toBe(
      "wait",
    );
  });

  it("leaves out addresses the original did not have", () => {
    const reply = stanzaError(
      stanza(`<presence type="subscribe" to="bob@other.example"/>`),
      "remote-server-not-found",
    );
    expect(reply.attrs).toEqual({ xmlns: NS_CLIENT, from: "bob@other.example", type: "error" });
  });

  it("adds 'by', the URI of <redirect/>, and an application-specific condition", () => {
    const publish = stanza(
      `<iq type="set" id="p1" from="alice@asso.example/a" to="pubsub.asso.example"><pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="n"/></pubsub></iq>`,
    );
    const reply = stanza(
      stanzaError(publish, "bad-request", {
        by: "pubsub.asso.example",
        appSpecific: xml("invalid-payload", { xmlns: NS_PUBSUB_ERRORS }),
      }).toString(),
    );
    const error = reply.getChild("error");
    expect(error?.attrs).toEqual({ type: "modify", by: "pubsub.asso.example" });
    expect(error?.getChild("bad-request", NS_STANZAS)).toBeDefined();
    expect(error?.getChild("invalid-payload", NS_PUBSUB_ERRORS)).toBeDefined();

    const moved = stanzaError(publish, "redirect", { uri: "xmpp:pubsub.other.example" });
    expect(moved.getChild("error")?.getChildText("redirect", NS_STANZAS)).toBe("xmpp:pubsub.other.example");
  });

  it("echoes the original payload only when asked, without touching the original", () => {
    const original = stanza(get);
    const before = original.toString();
    const reply = stanzaError(original, "item-not-found", { includeOriginal: true });
    expect(reply.getChildElements().map((c) => c.getName())).toEqual(["query", "error"]);
    expect(reply.getChild("query")?.getNS()).toBe(NS_DISCO_INFO);
    expect(reply.getChild("query")?.attrs.node).toBe("x");
    expect(original.getChild("query")?.parent).toBe(original);
    expect(original.toString()).toBe(before);
  });

  it("refuses to answer an error with an error, and recognises error stanzas", () => {
    const error = stanza(`<iq type="error" id="q1"><error type="cancel"/></iq>`);
    expect(isErrorStanza(error)).toBe(true);
    expect(isErrorStanza(stanza(get))).toBe(false);
    expect(() => stanzaError(error, "bad-request")).toThrow(/error/);
  });

  it("covers the 22 conditions of RFC 6120 8.3.3", () => {
    expect(Object.keys(STANZA_ERROR_DEFAULT_TYPES)).toHaveLength(22);
    expect(isStanzaErrorCondition("gone")).toBe(true);
    expect(isStanzaErrorCondition("toString")).toBe(false);
  });
});
