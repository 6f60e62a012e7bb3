import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import {
  authenticate,
  chat,
  NS_FRAMING,
  NS_SASL,
  openStream,
  type RawSession,
  RawXmpp,
  rawLogin,
} from "../support/raw-xmpp";

// Hostile input through the real socket (API Gateway emulator → $default → frame parser): each case
// checks the exact stream error and the close, then that a session already connected still works.

let t: TestHub;
let w1: RawSession;
let w2: RawSession;
let witnessCount = 0;

beforeAll(async () => {
  t = await startTestHub({ domains: ["hostile.test"] });
  const a = await t.account("w1@hostile.test");
  const b = await t.account("w2@hostile.test");
  w1 = await rawLogin({ url: t.wsUrl, ...a, resource: "w" });
  w2 = await rawLogin({ url: t.wsUrl, ...b, resource: "w" });
});
afterAll(async () => {
  w1?.c.close();
  w2?.c.close();
  await t?.stop();
});

/** The sessions connected before the attack still exchange a message. */
async function othersStillServed(): Promise<void> {
  const body = `still-there-${++witnessCount}`;
  w1.c.send(chat(w2.jid, body));
  const m = await w2.c.next((f) => f.is("message") && f.getChildText("body") === body, 5000, body);
  expect(m.attrs.from).toBe(w1.jid);
}

/** A fresh connection with its stream opened (not authenticated): the most exposed state. */
async function opened(): Promise<RawXmpp> {
  const c = await RawXmpp.connect(t.wsUrl);
  await openStream(c, "hostile.test");
  return c;
}

/** Sends `frame` and expects the stream error `condition`, then <close/>, then the socket closed. */
async function expectStreamError(c: RawXmpp, frame: string | Buffer, condition: string): Promise<string> {
  c.send(frame);
  await c.waitClosed();
  const err = c.streamError();
  expect(err?.condition).toBe(condition);
  expect(c.frames.at(-1)?.is("close", NS_FRAMING)).toBe(true);
  return err?.error.getChildText("text", "urn:ietf:params:xml:ns:xmpp-streams") ?? "";
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<message xmlns="jabber:client" to="w2@hostile.test"><body>&lol9;</body></message>`;

describe("restricted XML (RFC 6120 11)", () => {
  it("a billion-laughs document: restricted-xml, closed", async () => {
    const text = await expectStreamError(await opened(), BILLION_LAUGHS, "restricted-xml");
    expect(text).toMatch(/DTD/);
    await othersStillServed();
  });

  it("a DTD alone: restricted-xml", async () => {
    await expectStreamError(
      await opened(),
      '<!DOCTYPE message SYSTEM "http://127.0.0.1:1/x.dtd"><message xmlns="jabber:client"/>',
      "restricted-xml",
    );
    await othersStillServed();
  });

  it("an entity reference other than the five predefined ones: restricted-xml", async () => {
    await expectStreamError(
      await opened(),
      '<message xmlns="jabber:client"><body>&nbsp;</body></message>',
      "restricted-xml",
    );
    await othersStillServed();
  });

  it("a comment: restricted-xml", async () => {
    await expectStreamError(
      await opened(),
      '<message xmlns="jabber:client"><!-- hello --><body>x</body></message>',
      "restricted-xml",
    );
    await othersStillServed();
  });

  it("a processing instruction: restricted-xml", async () => {
    await expectStreamError(
      await opened(),
      '<?xml-stylesheet href="x.xsl"?><message xmlns="jabber:client"/>',
      "restricted-xml",
    );
    await othersStillServed();
  });

  it("malformed XML: not-well-formed", async () => {
    await expectStreamError(
      await opened(),
      '<message xmlns="jabber:client"><body>x</message>',
      "not-well-formed",
    );
    await othersStillServed();
  });

  it("malformed XML before the stream is opened: the server's <open/>, then not-well-formed", async () => {
    const c = await RawXmpp.connect(t.wsUrl);
    await expectStreamError(c, "<open", "not-well-formed");
    expect(c.frames[0]?.is("open", NS_FRAMING)).toBe(true);
    await othersStillServed();
  });

  it("10,000 nested elements: policy-violation, without parsing them all", async () => {
    // 10,000 start tags fit under API Gateway's 32 KiB frame limit only without their end tags.
    const deep = `<message xmlns="jabber:client">${"<a>".repeat(10_000)}`;
    expect(Buffer.byteLength(deep)).toBeLessThan(32 * 1024);
    const text = await expectStreamError(await opened(), deep, "policy-violation");
    expect(text).toMatch(/nested deeper than 64/);
    await othersStillServed();
  });

  it("invalid UTF-8 in a binary frame: unsupported-encoding", async () => {
    const bytes = Buffer.concat([
      Buffer.from('<message xmlns="jabber:client"><body>'),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from("</body></message>"),
    ]);
    await expectStreamError(await opened(), bytes, "unsupported-encoding");
    await othersStillServed();
  });
});

describe("frame sizes", () => {
  it("a 20 KiB message is under both limits: delivered whole", async () => {
    const big = "x".repeat(20 * 1024);
    w1.c.send(chat(w2.jid, big));
    const m = await w2.c.next((f) => f.is("message") && (f.getChildText("body") ?? "").length > 1000);
    expect(m.getChildText("body")).toBe(big);
  });

  it("a frame over 32 KiB: API Gateway closes the socket with 1009 before the server sees it", async () => {
    const c = await opened();
    c.send(chat("w2@hostile.test", "y".repeat(40 * 1024)));
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1009);
    // No stream error: the server never got the frame (its own 32 KiB policy-violation is a backstop).
    expect(c.streamError()).toBeUndefined();
    await othersStillServed();
  });
});

describe("authentication", () => {
  it("a stanza before authentication: not-authorized", async () => {
    await expectStreamError(
      await opened(),
      chat("w2@hostile.test", "let me in").toString(),
      "not-authorized",
    );
    await othersStillServed();
  });

  it("a stanza before the stream is opened: not-authorized", async () => {
    const c = await RawXmpp.connect(t.wsUrl);
    await expectStreamError(c, chat("w2@hostile.test", "hi").toString(), "not-authorized");
    await othersStillServed();
  });

  it("wrong passwords on many connections: each closed after 3, the account locks, others are served", async () => {
    const victim = await t.account("victim@hostile.test");
    const failures: string[] = [];
    // Three connections in parallel, three wrong passwords each: nine failures in all.
    await Promise.all(
      [0, 1, 2].map(async () => {
        const c = await opened();
        for (let i = 0; i < 3; i++) {
          const outcome = await authenticate(c, victim.jid, `wrong-${i}-password`, "SCRAM-SHA-1");
          expect(outcome.is("failure", NS_SASL)).toBe(true);
          failures.push(outcome.getChildElements()[0]?.name ?? "");
        }
        await c.waitClosed();
        expect(c.streamError()?.condition).toBe("policy-violation");
      }),
    );
    expect(failures.every((f) => f === "not-authorized")).toBe(true);
    // Locked now: even the right password is refused, without telling whether it was right.
    const c = await opened();
    const locked = await authenticate(c, victim.jid, victim.password, "SCRAM-SHA-1");
    expect(locked.is("failure", NS_SASL)).toBe(true);
    expect(locked.getChildElements()[0]?.name).toBe("account-disabled");
    c.close();
    await othersStillServed();
    // Another account of the domain logs in as usual.
    const other = await t.account("bystander@hostile.test");
    const s = await rawLogin({ url: t.wsUrl, ...other });
    expect(s.jid).toMatch(/^bystander@hostile\.test\//);
    s.c.close();
  });
});
