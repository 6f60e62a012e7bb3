import type { Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { type FrameLimits, type FrameResult, parseFrame } from "../../shared/xmpp/frame-parser";
import { NS_CLIENT, NS_DISCO_INFO, NS_FRAMING, NS_SASL, NS_SENML, NS_SM } from "../../shared/xmpp/namespaces";

const limits: FrameLimits = { maxBytes: 65_536, maxDepth: 32, maxAttributesPerElement: 16 };

function element(result: FrameResult): Element {
  if (!result.ok) throw new Error(`expected an element, got ${result.error.condition}: ${result.error.text}`);
  if (result.frame.kind !== "element") throw new Error(`expected an element, got <${result.frame.kind}/>`);
  return result.frame.element;
}

function failure(result: FrameResult) {
  if (result.ok) throw new Error(`expected a failure, got a ${result.frame.kind} frame`);
  return result.error;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("parseFrame: valid frames", () => {
  it("reads <open/> with its attributes", () => {
    const result = parseFrame(
      `<open xmlns="${NS_FRAMING}" to="asso.example" from="alice@asso.example" version="1.0" xml:lang="fr" id="s1"/>`,
      limits,
    );
    expect(result).toEqual({
      ok: true,
      frame: {
        kind: "open",
        to: "asso.example",
        from: "alice@asso.example",
        version: "1.0",
        lang: "fr",
        id: "s1",
      },
    });
  });

  it("leaves absent <open/> attributes absent", () => {
    const result = parseFrame(`<open xmlns="${NS_FRAMING}" to="asso.example" version="1.0"/>`, limits);
    expect(result.ok && result.frame).toStrictEqual({ kind: "open", to: "asso.example", version: "1.0" });
  });

  it("reads <close/>", () => {
    expect(parseFrame(`<close xmlns="${NS_FRAMING}"/>`, limits)).toEqual({
      ok: true,
      frame: { kind: "close" },
    });
  });

  it("reads a stanza into an ltx element", () => {
    const stanza = element(
      parseFrame(
        `<message xmlns="jabber:client" to="bob@asso.example" type="chat" id="m1" xml:lang="en">` +
          `<body>5 &lt; 6 &amp; "quotes" &#x26A1; &#233;</body></message>`,
        limits,
      ),
    );
    expect(stanza.is("message", NS_CLIENT)).toBe(true);
    expect(stanza.attrs).toEqual({
      xmlns: NS_CLIENT,
      to: "bob@asso.example",
      type: "chat",
      id: "m1",
      "xml:lang": "en",
    });
    expect(stanza.getChildText("body")).toBe('5 < 6 & "quotes" ⚡ é');
  });

  it("reads bytes as UTF-8", () => {
    const stanza = element(parseFrame(bytes("<message><body>énergie ⚡ 😀</body></message>"), limits));
    expect(stanza.getChildText("body")).toBe("énergie ⚡ 😀");
  });

  it("accepts whitespace around the element, and CDATA as text", () => {
    const stanza = element(
      parseFrame("\n  <message><body><![CDATA[<b>bold</b>]]></body></message>\r\n", limits),
    );
    expect(stanza.getChildText("body")).toBe("<b>bold</b>");
  });

  it("accepts a leading XML declaration in UTF-8 (RFC 6120 11.5)", () => {
    const stanza = element(parseFrame(`<?xml version="1.0" encoding="utf-8"?><presence/>`, limits));
    expect(stanza.is("presence", NS_CLIENT)).toBe(true);
  });

  it("keeps nonzas in their own namespace", () => {
    const auth = element(
      parseFrame(`<auth xmlns="${NS_SASL}" mechanism="SCRAM-SHA-1">biwsbj1hbGljZSxyPWZ5a28=</auth>`, limits),
    );
    expect(auth.is("auth", NS_SASL)).toBe(true);
    expect(auth.getText()).toBe("biwsbj1hbGljZSxyPWZ5a28=");

    const ack = element(parseFrame(`<a xmlns="${NS_SM}" h="3"/>`, limits));
    expect(ack.getNS()).toBe(NS_SM);
    expect(ack.attrs).toEqual({ xmlns: NS_SM, h: "3" });
  });

  it("round-trips: the element serialises back to XML the parser reads the same", () => {
    const source =
      `<iq xmlns="jabber:client" type="set" id="p1" to="pubsub.asso.example"><pubsub xmlns="http://jabber.org/protocol/pubsub">` +
      `<publish node="meter/1"><item id="i1"><sensml xmlns="${NS_SENML}"><senml bn="urn:dev:prm:1_" bt="1700000000" u="W" v="12.5"/>` +
      `</sensml></item></publish></pubsub></iq>`;
    const first = element(parseFrame(source, limits));
    const second = element(parseFrame(first.toString(), limits));
    expect(second.toString()).toBe(first.toString());
    expect(first.toString()).toBe(source);
  });
});

describe("parseFrame: default content namespace", () => {
  it("puts a stanza that declares no namespace in jabber:client, children included", () => {
    const iq = element(
      parseFrame(`<iq type="get" id="d1"><query xmlns="${NS_DISCO_INFO}"/><x/></iq>`, limits),
    );
    expect(iq.attrs.xmlns).toBe(NS_CLIENT);
    expect(iq.is("iq", NS_CLIENT)).toBe(true);
    expect(iq.getChild("query")?.getNS()).toBe(NS_DISCO_INFO);
    expect(iq.getChild("x")?.getNS()).toBe(NS_CLIENT);
    expect(iq.toString()).toBe(
      `<iq type="get" id="d1" xmlns="jabber:client"><query xmlns="${NS_DISCO_INFO}"/><x/></iq>`,
    );
  });

  it("does not override a namespace the frame declares", () => {
    const stanza = element(parseFrame(`<message xmlns="jabber:server"/>`, limits));
    expect(stanza.getNS()).toBe("jabber:server");
  });

  it("resolves a prefixed top-level element through its own declaration", () => {
    const ack = element(parseFrame(`<sm:r xmlns:sm="${NS_SM}"/>`, limits));
    expect(ack.getName()).toBe("r");
    expect(ack.getNS()).toBe(NS_SM);
  });
});

describe("parseFrame: restricted XML (RFC 6120 11.1)", () => {
  it("refuses the billion laughs document before expanding anything", () => {
    const laughs = [
      `<?xml version="1.0"?>`,
      `<!DOCTYPE lolz [`,
      ` <!ENTITY lol "lol">`,
      ...Array.from({ length: 9 }, (_, i) => {
        const prev = i === 0 ? "lol" : `lol${i}`;
        return ` <!ENTITY lol${i + 1} "${`&${prev};`.repeat(10)}">`;
      }),
      `]>`,
      `<lolz>&lol9;</lolz>`,
    ].join("\n");
    const error = failure(parseFrame(laughs, limits));
    expect(error.condition).toBe("restricted-xml");
    expect(error.text).toMatch(/DTD|DOCTYPE/);
  });

  it("refuses a plain DTD", () => {
    const error = failure(parseFrame(`<!DOCTYPE message SYSTEM "message.dtd"><message/>`, limits));
    expect(error).toEqual({ condition: "restricted-xml", text: expect.stringContaining("DOCTYPE") });
  });

  it("refuses an entity declaration, external ones included", () => {
    const internal = failure(parseFrame(`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, limits));
    expect(internal.condition).toBe("restricted-xml");
    const external = failure(
      parseFrame(`<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>`, limits),
    );
    expect(external.condition).toBe("restricted-xml");
  });

  it("refuses a comment", () => {
    const error = failure(parseFrame("<message><!-- hello --><body>hi</body></message>", limits));
    expect(error).toEqual({ condition: "restricted-xml", text: expect.stringContaining("comment") });
  });

  it("refuses a comment before the element", () => {
    expect(failure(parseFrame("<!-- hello --><message/>", limits)).condition).toBe("restricted-xml");
  });

  it("refuses a processing instruction, naming it", () => {
    const error = failure(parseFrame(`<message><?xml-stylesheet href="x.css"?></message>`, limits));
    expect(error).toEqual({
      condition: "restricted-xml",
      text: expect.stringContaining("processing instruction (<?xml-stylesheet"),
    });
  });

  it("refuses an entity reference beyond the five predefined ones, naming it", () => {
    const error = failure(parseFrame("<message><body>a&nbsp;b</body></message>", limits));
    expect(error).toEqual({ condition: "restricted-xml", text: expect.stringContaining("&nbsp;") });
    const inAttribute = failure(parseFrame(`<message to="&copy;"/>`, limits));
    expect(inAttribute).toEqual({ condition: "restricted-xml", text: expect.stringContaining("&copy;") });
  });

  it("refuses an XML declaration in another encoding or version", () => {
    const latin1 = failure(parseFrame(`<?xml version="1.0" encoding="ISO-8859-1"?><presence/>`, limits));
    expect(latin1).toEqual({
      condition: "unsupported-encoding",
      text: expect.stringContaining("ISO-8859-1"),
    });
    const xml11 = failure(parseFrame(`<?xml version="1.1"?><presence/>`, limits));
    expect(xml11).toEqual({ condition: "restricted-xml", text: expect.stringContaining("1.1") });
  });
});

describe("parseFrame: well-formedness", () => {
  it("refuses two top-level elements", () => {
    const error = failure(parseFrame("<presence/><presence/>", limits));
    expect(error).toEqual({
      condition: "not-well-formed",
      text: expect.stringContaining("second top-level"),
    });
  });

  it("refuses text after the element", () => {
    const error = failure(parseFrame("<presence/>hello", limits));
    expect(error).toEqual({ condition: "not-well-formed", text: expect.stringContaining("outside of root") });
  });

  it("refuses text alone, and an empty message", () => {
    expect(failure(parseFrame("hello", limits)).condition).toBe("not-well-formed");
    expect(failure(parseFrame("", limits))).toEqual({
      condition: "not-well-formed",
      text: expect.stringContaining("root element"),
    });
    expect(failure(parseFrame("  \n", limits)).condition).toBe("not-well-formed");
  });

  it("refuses a truncated element, naming the unclosed tag", () => {
    const error = failure(parseFrame(`<message to="bob@asso.example"><body>hi`, limits));
    expect(error).toEqual({
      condition: "not-well-formed",
      text: expect.stringContaining("unclosed tag: body"),
    });
    expect(failure(parseFrame(`<message to="bob@asso`, limits)).condition).toBe("not-well-formed");
  });

  it("refuses mismatched tags, duplicate attributes and unbound prefixes", () => {
    expect(failure(parseFrame("<message><body></message></body>", limits)).condition).toBe("not-well-formed");
    expect(failure(parseFrame(`<message id="1" id="2"/>`, limits))).toEqual({
      condition: "not-well-formed",
      text: expect.stringContaining("duplicate attribute"),
    });
    expect(failure(parseFrame(`<x:message/>`, limits))).toEqual({
      condition: "not-well-formed",
      text: expect.stringContaining("unbound namespace prefix"),
    });
  });

  it("refuses characters XML 1.0 forbids, raw or as references", () => {
    for (const bad of ["<a>\u0000</a>", "<a>\u0001</a>", "<a>\uFFFE</a>", "<a>&#0;</a>", "<a>&#x1B;</a>"]) {
      expect(failure(parseFrame(bad, limits)).condition, JSON.stringify(bad)).toBe("not-well-formed");
    }
  });

  it("refuses lone surrogates, which saxes alone lets through when followed by a character", () => {
    for (const bad of ["<a>\uD800x</a>", "<a>x\uDC00</a>", `<a b="\uD800"/>`]) {
      expect(failure(parseFrame(bad, limits)), JSON.stringify(bad)).toEqual({
        condition: "not-well-formed",
        text: expect.stringContaining("surrogate"),
      });
    }
  });
});

describe("parseFrame: encoding", () => {
  it("refuses invalid UTF-8 bytes as unsupported-encoding (RFC 6120 4.9.3.22)", () => {
    const invalid = [
      [0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e], // <a>\xFF</a>
      [0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e], // truncated two-byte sequence
      [0x3c, 0x61, 0x3e, 0xc0, 0xbc, 0x3c, 0x2f, 0x61, 0x3e], // overlong "<"
      [0x3c, 0x61, 0x3e, 0xed, 0xa0, 0x80, 0x3c, 0x2f, 0x61, 0x3e], // encoded surrogate (CESU-8)
    ];
    for (const data of invalid) {
      expect(failure(parseFrame(new Uint8Array(data), limits))).toEqual({
        condition: "unsupported-encoding",
        text: expect.stringContaining("UTF-8"),
      });
    }
  });
});

describe("parseFrame: limits", () => {
  it("refuses a message over maxBytes, counted in UTF-8 bytes, for strings and bytes", () => {
    const small: FrameLimits = { ...limits, maxBytes: 64 };
    const fits = `<message><body>${"x".repeat(64 - 32)}</body></message>`;
    expect(new TextEncoder().encode(fits).length).toBe(64);
    expect(parseFrame(fits, small).ok).toBe(true);
    expect(parseFrame(bytes(fits), small).ok).toBe(true);

    const over = `<message><body>${"x".repeat(33)}</body></message>`;
    const expected = { condition: "policy-violation", text: expect.stringContaining("64 bytes") };
    expect(failure(parseFrame(over, small))).toEqual(expected);
    expect(failure(parseFrame(bytes(over), small))).toEqual(expected);

    // 40 UTF-16 units, but 72 UTF-8 bytes.
    const multibyte = `<message><body>${"é".repeat(20)}</body></message>`;
    expect(multibyte.length).toBeLessThanOrEqual(64);
    expect(failure(parseFrame(multibyte, small))).toEqual(expected);
  });

  it("refuses 10,000 nested elements with policy-violation, without a stack overflow", () => {
    const deep = "<a>".repeat(10_000) + "</a>".repeat(10_000);
    expect(failure(parseFrame(deep, { ...limits, maxBytes: 1_000_000 }))).toEqual({
      condition: "policy-violation",
      text: expect.stringContaining("deeper than 32"),
    });
  });

  it("builds the tree without recursion when the depth limit allows 10,000 levels", () => {
    // Each level declares its namespace: saxes resolves an undeclared one by walking every ancestor, which
    // is quadratic in depth (one reason to keep maxDepth small).
    const deep = `<a xmlns="urn:t">`.repeat(10_000) + "</a>".repeat(10_000);
    const root = element(parseFrame(deep, { ...limits, maxBytes: 1_000_000, maxDepth: 10_000 }));
    let depth = 1;
    for (let el = root.getChild("a"); el !== undefined; el = el.getChild("a")) depth += 1;
    expect(depth).toBe(10_000);
    expect(failure(parseFrame(deep, { ...limits, maxBytes: 1_000_000, maxDepth: 9_999 })).condition).toBe(
      "policy-violation",
    );
  });

  it("counts depth from the frame's own element", () => {
    expect(parseFrame("<a><b><c/></b></a>", { ...limits, maxDepth: 3 }).ok).toBe(true);
    expect(failure(parseFrame("<a><b><c/></b></a>", { ...limits, maxDepth: 2 })).condition).toBe(
      "policy-violation",
    );
  });

  it("refuses an element with too many attributes, namespace declarations included", () => {
    const three: FrameLimits = { ...limits, maxAttributesPerElement: 3 };
    expect(parseFrame(`<message to="a" id="b" type="chat"/>`, three).ok).toBe(true);
    expect(failure(parseFrame(`<message to="a" id="b" type="chat" from="c"/>`, three))).toEqual({
      condition: "policy-violation",
      text: expect.stringContaining("more than 3 attributes"),
    });
    expect(
      failure(parseFrame(`<message xmlns="jabber:client" to="a" id="b" type="chat"/>`, three)).condition,
    ).toBe("policy-violation");
    const child = `<message><body ${Array.from({ length: 4 }, (_, i) => `a${i}="v"`).join(" ")}/></message>`;
    expect(failure(parseFrame(child, three)).condition).toBe("policy-violation");
  });

  it("refuses text over maxTextBytes, counted after entity decoding", () => {
    const capped: FrameLimits = { ...limits, maxTextBytes: 8 };
    expect(element(parseFrame("<message><body>12345678</body></message>", capped)).getChildText("body")).toBe(
      "12345678",
    );
    expect(failure(parseFrame("<message><body>123456789</body></message>", capped))).toEqual({
      condition: "policy-violation",
      text: expect.stringContaining("8 bytes"),
    });
    // "&amp;" is five characters in the message but one byte of text.
    expect(
      parseFrame("<message><body>&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;</body></message>", capped).ok,
    ).toBe(true);
    // Text in separate elements adds up.
    expect(failure(parseFrame("<m><a>12345</a><b>6789</b></m>", capped)).condition).toBe("policy-violation");
  });
});

describe("parseFrame: framing namespace (RFC 7395)", () => {
  it("refuses a TCP-style <stream:stream> header with invalid-namespace", () => {
    const header =
      `<?xml version='1.0'?><stream:stream to='asso.example' version='1.0' xmlns='jabber:client' ` +
      `xmlns:stream='http://etherx.jabber.org/streams'>`;
    expect(failure(parseFrame(header, limits))).toEqual({
      condition: "invalid-namespace",
      text: expect.stringContaining(`<open xmlns="${NS_FRAMING}"/>`),
    });
    // The same without the prefix declared, and as a complete element.
    expect(failure(parseFrame("<stream:stream to='asso.example'>", limits)).condition).toBe(
      "invalid-namespace",
    );
    expect(
      failure(parseFrame(`<stream xmlns="http://etherx.jabber.org/streams" to="asso.example"/>`, limits))
        .condition,
    ).toBe("invalid-namespace");
  });

  it("refuses <open/> and <close/> outside the framing namespace", () => {
    expect(failure(parseFrame(`<open to="asso.example" version="1.0"/>`, limits))).toEqual({
      condition: "invalid-namespace",
      text: expect.stringContaining(NS_FRAMING),
    });
    expect(failure(parseFrame(`<close xmlns="jabber:client"/>`, limits)).condition).toBe("invalid-namespace");
  });

  it("refuses other elements in the framing namespace", () => {
    expect(failure(parseFrame(`<restart xmlns="${NS_FRAMING}"/>`, limits)).condition).toBe(
      "unsupported-stanza-type",
    );
  });
});
