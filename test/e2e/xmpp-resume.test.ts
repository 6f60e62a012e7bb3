import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callCounts, resetCallCounts } from "../../shared/aws/call-counter";
import { REQUEST_ACK_EVERY } from "../../shared/xmpp/routing/outbound";
import { sessionsOf } from "../../shared/xmpp/session/store";
import { startTestHub, type TestHub } from "../support/hub";
import {
  authenticate,
  awaitHandled,
  chat,
  NS_FRAMING,
  NS_SM,
  NS_STANZAS,
  openStream,
  RawXmpp,
  rawLogin,
  xml,
} from "../support/raw-xmpp";
import { connectClient, waitFor } from "../support/xmpp-client";
import { storedAvailable } from "./xmpp-helpers";

// XEP-0198 against the local hub: acknowledgements, resumption after a dropped socket (ours, and API
// Gateway's own closes), and the end of a session nobody resumed.

const bodies = (inbox: Element[], prefix: string) =>
  inbox
    .filter((s) => s.is("message"))
    .map((s) => s.getChildText("body") ?? "")
    .filter((b) => b.startsWith(prefix));

/** Drops @xmpp/client's socket without a close handshake, as a lost network does. */
function dropSocket(xmpp: Client): void {
  const ws = xmpp.socket?.socket;
  if (!ws?.terminate) throw new Error("@xmpp/client has no ws socket to drop");
  ws.terminate();
}

/** @xmpp/client reports "online" before its <enabled/> may have come back: wait for it. */
async function smEnabled(xmpp: Client): Promise<string> {
  const started = Date.now();
  while (!xmpp.streamManagement.enabled || !xmpp.streamManagement.id) {
    if (Date.now() - started > 5000) throw new Error("XEP-0198 not enabled by @xmpp/client");
    await new Promise((r) => setTimeout(r, 20));
  }
  return xmpp.streamManagement.id;
}

function onceResumed(xmpp: Client, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("not resumed in time")), timeoutMs);
    xmpp.streamManagement.on("resumed", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("XEP-0198 stream management", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ domains: ["sm.test"] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("@xmpp/client resumes after its socket dropped and gets every message sent meanwhile, once, in order", async () => {
    const alice = await t.account("alice@sm.test");
    const bob = await t.account("bob@sm.test");
    const a = await connectClient({ service: t.wsUrl, ...alice, resource: "laptop" });
    // Bob waits for each message to be handled before the next: the order under test is the order
    // Alice's session got them in, not the order of Bob's own pipelined frames.
    const b = await rawLogin({ url: t.wsUrl, ...bob, sm: true });
    const sm = a.xmpp.streamManagement;
    const firstId = await smEnabled(a.xmpp);
    expect(sm.enabled).toBe(true);
    expect(firstId).not.toBe("");
    const resumed = onceResumed(a.xmpp);

    dropSocket(a.xmpp);
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(`gone-${i}`);
      b.c.send(chat("alice@sm.test/laptop", `gone-${i}`));
      await awaitHandled(b.c, i + 1);
    }
    await resumed;
    expect(sm.id).toBe(firstId);
    await waitFor(a.inbox, (s) => s.getChildText("body") === "gone-9", 8000);
    // Duplicates would show after a short while, if any were sent again.
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies(a.inbox, "gone-")).toEqual(sent);
    // The resumed stream is the same session: it still sends under its full JID.
    await a.xmpp.send(xml("message", { to: b.jid, type: "chat" }, xml("body", {}, "back")));
    const back = await b.c.next((s) => s.is("message") && s.getChildText("body") === "back");
    expect(back.attrs.from).toBe("alice@sm.test/laptop");
    await a.xmpp.stop();
    b.c.close();
  });

  it("answers <r/> with the number of stanzas it received from the client", async () => {
    const carol = await t.account("carol@sm.test");
    await t.account("dave@sm.test");
    const { c } = await rawLogin({ url: t.wsUrl, ...carol, sm: true });
    c.send(xml("r", { xmlns: NS_SM }));
    expect((await c.next((f) => f.is("a", NS_SM))).attrs.h).toBe("0");
    for (let i = 0; i < 3; i++) c.send(chat("dave@sm.test", `m${i}`));
    c.send(
      xml("iq", { xmlns: "jabber:client", type: "get", id: "p1" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    c.send(xml("presence", { xmlns: "jabber:client" }));
    // Nonzas are not counted; each of the five stanzas is, once (awaitHandled fails past 5).
    await awaitHandled(c, 5);
    c.send(xml("r", { xmlns: NS_SM }));
    expect((await c.next((f) => f.is("a", NS_SM))).attrs.h).toBe("5");
    c.close();
  });

  it("a stream the client closes is stored unavailable before the server's <close/> reaches it", async () => {
    const fred = await t.account("fred@sm.test");
    const { c } = await rawLogin({ url: t.wsUrl, ...fred, sm: true, resource: "desk" });
    c.send(xml("presence", { xmlns: "jabber:client" }));
    await storedAvailable("fred@sm.test/desk");
    c.send(xml("close", { xmlns: NS_FRAMING }));
    await c.next((f) => f.is("close", NS_FRAMING), 5000, "the server's <close/>");
    // A client that saw the <close/> may at once do what assumes its session is over (the replay
    // test publishes to a node it follows): routing must no longer find the session available.
    const [session] = (await sessionsOf("fred@sm.test")).filter((s) => s.resource === "desk");
    expect(session?.available).toBe(false);
    expect(session?.state.closed).toBe(true);
  });

  it("ends the stream when the client acknowledges more stanzas than were sent", async () => {
    const erin = await t.account("erin@sm.test");
    const { c } = await rawLogin({ url: t.wsUrl, ...erin, sm: true });
    // The bind result came before <enable/>, so nothing was counted yet.
    c.send(xml("a", { xmlns: NS_SM, h: "3" }));
    const closed = await c.waitClosed();
    const err = c.streamError();
    expect(err?.condition).toBe("undefined-condition");
    const app = err?.error.getChild("handled-count-too-high", NS_SM);
    expect(app?.attrs).toMatchObject({ h: "3", "send-count": "0" });
    expect(c.frames.at(-1)?.name).toBe("close");
    expect(closed.code).toBe(1000);
  });

  it("refuses to resume an unknown stream, and another account's stream", async () => {
    const frank = await t.account("frank@sm.test");
    const grace = await t.account("grace@sm.test");
    const f = await rawLogin({ url: t.wsUrl, ...frank, sm: true, resource: "r1" });
    const previd = f.enabled?.attrs.id ?? "";
    expect(previd).not.toBe("");
    f.c.terminate();

    const tryResume = async (login: { jid: string; password: string }, id: string) => {
      const c = await RawXmpp.connect(t.wsUrl);
      await openStream(c, "sm.test");
      expect((await authenticate(c, login.jid, login.password)).name).toBe("success");
      await openStream(c, "sm.test");
      c.send(xml("resume", { xmlns: NS_SM, previd: id, h: "0" }));
      return { c, answer: await c.next((e) => e.getNS() === NS_SM) };
    };
    const unknown = await tryResume(frank, "no-such-stream");
    expect(unknown.answer.name).toBe("failed");
    expect(unknown.answer.getChild("item-not-found", NS_STANZAS)).toBeDefined();
    unknown.c.close();

    const other = await tryResume(grace, previd);
    expect(other.answer.name).toBe("failed");
    expect(other.answer.getChild("item-not-found", NS_STANZAS)).toBeDefined();
    other.c.close();

    // The refused attempt did not take the session: its owner still resumes it.
    const own = await tryResume(frank, previd);
    expect(own.answer.toString()).toMatch(/^<resumed/);
    expect(own.answer.attrs.previd).toBe(previd);
    own.c.close();
  });

  it("ends a session not resumed in time: its messages go to offline storage, its contacts see it leave", async () => {
    const prev = process.env.RELAIS_SM_RESUME_SECONDS;
    process.env.RELAIS_SM_RESUME_SECONDS = "1";
    try {
      const hana = await t.account("hana@sm.test");
      const ivan = await t.account("ivan@sm.test");
      const judy = await t.account("judy@sm.test");
      // Ivan is Hana's contact: he subscribes, she approves; both asked for their rosters first.
      const iv = await rawLogin({ url: t.wsUrl, ...ivan, resource: "desk" });
      const h = await rawLogin({ url: t.wsUrl, ...hana, sm: true, resource: "phone" });
      expect(h.enabled?.attrs.max).toBe("1");
      const rosterGet = (id: string) =>
        xml("iq", { xmlns: "jabber:client", type: "get", id }, xml("query", { xmlns: "jabber:iq:roster" }));
      iv.c.send(rosterGet("r1"));
      h.c.send(rosterGet("r2"));
      await iv.c.next((f) => f.attrs.id === "r1");
      await h.c.next((f) => f.attrs.id === "r2");
      // Subscription requests reach available resources that asked for the roster (RFC 6121 3.1.3).
      h.c.send(xml("presence", { xmlns: "jabber:client" }));
      await h.c.next((f) => f.is("presence") && f.attrs.from === "hana@sm.test/phone");
      iv.c.send(xml("presence", { xmlns: "jabber:client", to: "hana@sm.test", type: "subscribe" }));
      await h.c.next((f) => f.is("presence") && f.attrs.type === "subscribe");
      h.c.send(xml("presence", { xmlns: "jabber:client", to: "ivan@sm.test", type: "subscribed" }));
      await iv.c.next(
        (f) => f.is("iq") && f.getChild("query")?.getChild("item")?.attrs.subscription === "to",
      );
      // Her presence again, now that Ivan may see it (a broadcast to her new contact).
      h.c.send(xml("presence", { xmlns: "jabber:client" }));
      iv.c.send(xml("presence", { xmlns: "jabber:client" }));
      const online = await iv.c.next(
        (f) => f.is("presence") && f.attrs.from === "hana@sm.test/phone" && f.attrs.type === undefined,
      );
      expect(online).toBeDefined();

      h.c.terminate();
      const j = await rawLogin({ url: t.wsUrl, ...judy, sm: true });
      for (let i = 0; i < 3; i++) {
        j.c.send(chat("hana@sm.test", `late-${i}`));
        await awaitHandled(j.c, i + 1);
      }
      const gone = await iv.c.next(
        (f) => f.is("presence") && f.attrs.from === "hana@sm.test/phone" && f.attrs.type === "unavailable",
        30_000,
        "Hana's unavailable presence",
      );
      expect(gone).toBeDefined();

      // Her next session gets what was sent to the dead one, from offline storage, when she comes online.
      const again = await rawLogin({ url: t.wsUrl, ...hana, resource: "phone2" });
      again.c.send(xml("presence", { xmlns: "jabber:client" }));
      const got: string[] = [];
      while (got.length < 3) {
        const m = await again.c.next((f) => f.is("message") && f.getChild("body") !== undefined);
        got.push(m.getChildText("body") ?? "");
      }
      expect(got).toEqual(["late-0", "late-1", "late-2"]);
      for (const s of [iv, j, again]) s.c.close();
    } finally {
      if (prev === undefined) delete process.env.RELAIS_SM_RESUME_SECONDS;
      else process.env.RELAIS_SM_RESUME_SECONDS = prev;
    }
  }, 45_000);
});

// Alone in its hub: the call counts below would otherwise see the tail of other tests' sessions.
describe("XEP-0198 acknowledgements alone", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ domains: ["ack.test"] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  // The server asks for an acknowledgement every REQUEST_ACK_EVERY stanzas: an <a/> that acknowledges
  // that many since the last, or everything up to the first request, is applied in one conditional
  // write; any other takes the lease (a conditional write that fails, then the lease's two), still
  // without the reorder wait's read.
  it.each([
    { who: "kim", sent: REQUEST_ACK_EVERY, writes: 1 },
    { who: "kia", sent: 3, writes: 1 },
    { who: "kit", sent: REQUEST_ACK_EVERY + 3, writes: 3 },
  ])(
    "applies an <a/> alone after $sent stanzas in $writes UpdateItem(s), and resends only what it did not acknowledge",
    async ({ who, sent, writes }) => {
      const me = await t.account(`${who}@ack.test`);
      const lea = await t.account(`lea-${who}@ack.test`);
      const k = await rawLogin({ url: t.wsUrl, ...me, sm: true, resource: "tab" });
      const l = await rawLogin({ url: t.wsUrl, ...lea, sm: true });
      for (let i = 0; i < sent; i++) {
        l.c.send(chat(`${who}@ack.test/tab`, `early-${i}`));
        await k.c.next((f) => f.is("message") && f.getChildText("body") === `early-${i}`);
      }
      // Lea's last invocation releases its lease after the post: let the hub go quiet first.
      await new Promise((r) => setTimeout(r, 500));
      resetCallCounts();
      k.c.send(xml("a", { xmlns: NS_SM, h: String(sent) }));
      const deadline = Date.now() + 5000;
      while ((callCounts()["DynamoDB.UpdateItem"]?.calls ?? 0) < writes && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      expect(callCounts()["DynamoDB.UpdateItem"]?.calls).toBe(writes);
      expect(callCounts()["DynamoDB.GetItem"]?.calls ?? 0).toBe(0);

      // What was acknowledged is gone from the queue: a resumption resends only what came after.
      const previd = k.enabled?.attrs.id ?? "";
      k.c.terminate();
      l.c.send(chat(`${who}@ack.test/tab`, "late"));
      await awaitHandled(l.c, sent + 1);
      const c = await RawXmpp.connect(t.wsUrl);
      await openStream(c, "ack.test");
      expect((await authenticate(c, me.jid, me.password)).name).toBe("success");
      await openStream(c, "ack.test");
      c.send(xml("resume", { xmlns: NS_SM, previd, h: String(sent) }));
      expect((await c.next((e) => e.getNS() === NS_SM)).name).toBe("resumed");
      const resent = await c.next((f) => f.is("message"));
      expect(resent.getChildText("body")).toBe("late");
      await new Promise((r) => setTimeout(r, 300));
      expect(c.frames.filter((f) => f.is("message")).map((f) => f.getChildText("body"))).toEqual(["late"]);
      c.close();
      l.c.close();
    },
  );
});

describe("API Gateway's maximum connection duration", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ domains: ["maxage.test"], overrides: { wsMaxConnectionSeconds: 4 } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("an @xmpp/client session survives the forced close by resuming, losing nothing", async () => {
    const kim = await t.account("kim@maxage.test");
    const leo = await t.account("leo@maxage.test");
    const k = await connectClient({ service: t.wsUrl, ...kim, resource: "tab" });
    const resumed = onceResumed(k.xmpp, 15_000);
    const firstId = await smEnabled(k.xmpp);
    // Every connection here lives 4 s, Leo's too: he sends each message on a short connection of its
    // own and waits for the server to acknowledge it, so that none is lost on his side.
    const sendOnce = async (body: string) => {
      const s = await rawLogin({ url: t.wsUrl, ...leo, sm: true });
      s.c.send(chat("kim@maxage.test/tab", body));
      await awaitHandled(s.c, 1);
      s.c.close();
    };
    const sent: string[] = [];
    const started = Date.now();
    for (let i = 0; Date.now() - started < 6000; i++) {
      sent.push(`tick-${i}`);
      await sendOnce(`tick-${i}`);
    }
    await resumed;
    expect(k.xmpp.streamManagement.id).toBe(firstId);
    await waitFor(k.inbox, (s) => s.getChildText("body") === sent.at(-1), 8000);
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies(k.inbox, "tick-")).toEqual(sent);
    await k.xmpp.stop();
  }, 30_000);
});
