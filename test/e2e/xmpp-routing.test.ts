import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import { errorCondition, iqOutcome, online, waitFor, xml } from "./xmpp-helpers";

// RFC 6120 section 10 and RFC 6121 section 8 routing, seen from real @xmpp/client sessions.

const A = "route-a.test";
const B = "route-b.test";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [A, B] });
});
afterAll(async () => {
  await t?.stop();
});

const ping = (to?: string) => xml("iq", { type: "get", to }, xml("ping", { xmlns: "urn:xmpp:ping" }));
const chat = (to: string, body: string, type = "chat") => xml("message", { to, type }, xml("body", {}, body));
const withBody = (body: string) => (s: Element) => s.is("message") && s.getChildText("body") === body;

describe("routing (RFC 6120 10, RFC 6121 8)", () => {
  it("delivers a message to a full JID to that resource only", async () => {
    const alice = await online(t, `alice1@${A}`, { resource: "phone" });
    const bob = await t.account(`bob1@${A}`);
    const b1 = await online(t, bob.jid, { resource: "one", password: bob.password });
    const b2 = await online(t, bob.jid, { resource: "two", password: bob.password });
    await alice.xmpp.send(chat(`${bob.jid}/two`, "to two"));
    const got = await waitFor(b2.inbox, withBody("to two"));
    expect(got.attrs.from).toBe(`alice1@${A}/phone`);
    // Sent after, on the same stream: once it is in, the first would have been too.
    await alice.xmpp.send(chat(`${bob.jid}/one`, "to one"));
    await waitFor(b1.inbox, withBody("to one"));
    expect(b1.inbox.some(withBody("to two"))).toBe(false);
    await Promise.all([alice.xmpp.stop(), b1.xmpp.stop(), b2.xmpp.stop()]);
  });

  it("delivers a message to a bare JID to each available resource of non-negative priority", async () => {
    const alice = await online(t, `alice2@${A}`);
    const bob = await t.account(`bob2@${A}`);
    const prio = (n: number) => xml("presence", {}, xml("priority", {}, String(n)));
    const high = await online(t, bob.jid, { resource: "high", password: bob.password, presence: prio(5) });
    const zero = await online(t, bob.jid, { resource: "zero", password: bob.password, presence: prio(0) });
    const low = await online(t, bob.jid, { resource: "low", password: bob.password, presence: prio(-1) });
    await alice.xmpp.send(chat(bob.jid, "to all"));
    await waitFor(high.inbox, withBody("to all"));
    await waitFor(zero.inbox, withBody("to all"));
    await alice.xmpp.send(chat(`${bob.jid}/low`, "marker"));
    await waitFor(low.inbox, withBody("marker"));
    expect(low.inbox.some(withBody("to all"))).toBe(false);
    await Promise.all([alice.xmpp.stop(), high.xmpp.stop(), zero.xmpp.stop(), low.xmpp.stop()]);
  });

  it("answers an iq to a full JID that is not connected with service-unavailable", async () => {
    const alice = await online(t, `alice3@${A}`, { presence: false });
    const bob = await online(t, `bob3@${A}`, { resource: "here", presence: false });
    expect(await iqOutcome(alice.xmpp, ping(`bob3@${A}/elsewhere`))).toBe("service-unavailable");
    // The connected resource is reached, and @xmpp/client answers the ping itself.
    expect(await iqOutcome(alice.xmpp, ping(`bob3@${A}/here`))).toBe("result");
    await Promise.all([alice.xmpp.stop(), bob.xmpp.stop()]);
  });

  it("answers a message or an iq to an account that does not exist with service-unavailable", async () => {
    const alice = await online(t, `alice4@${A}`, { presence: false });
    expect(await iqOutcome(alice.xmpp, ping(`nobody@${A}`))).toBe("service-unavailable");
    expect(await iqOutcome(alice.xmpp, ping(`nobody@${A}/res`))).toBe("service-unavailable");
    await alice.xmpp.send(xml("message", { to: `nobody@${A}`, id: "m1" }, xml("body", {}, "hello?")));
    const bounce = await waitFor(alice.inbox, (s) => s.is("message") && s.attrs.id === "m1");
    expect(bounce.attrs.type).toBe("error");
    expect(bounce.attrs.from).toBe(`nobody@${A}`);
    expect(errorCondition(bounce)).toBe("service-unavailable");
    await alice.xmpp.stop();
  });

  it("answers an iq of an unknown namespace to the server with service-unavailable", async () => {
    const alice = await online(t, `alice5@${A}`, { presence: false });
    const unknown = xml("iq", { type: "get", to: A }, xml("query", { xmlns: "urn:example:nothing" }));
    expect(await iqOutcome(alice.xmpp, unknown)).toBe("service-unavailable");
    const unknownSet = xml("iq", { type: "set" }, xml("thing", { xmlns: "urn:example:nothing" }));
    expect(await iqOutcome(alice.xmpp, unknownSet)).toBe("service-unavailable");
    await alice.xmpp.stop();
  });

  it("answers disco#info on an unknown node with item-not-found", async () => {
    const alice = await online(t, `alice6@${A}`, { presence: false });
    const q = xml("query", { xmlns: "http://jabber.org/protocol/disco#info", node: "no-such-node" });
    expect(await iqOutcome(alice.xmpp, xml("iq", { type: "get", to: A }, q))).toBe("item-not-found");
    await alice.xmpp.stop();
  });

  it("describes the server through disco#info and disco#items", async () => {
    const alice = await online(t, `alice7@${A}`, { presence: false });
    const info = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: A }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
    );
    const query = info.getChild("query", "http://jabber.org/protocol/disco#info");
    expect(query?.getChild("identity")?.attrs).toMatchObject({ category: "server", type: "im" });
    const features = query?.getChildren("feature").map((f) => f.attrs.var) ?? [];
    expect(features).toEqual(
      expect.arrayContaining([
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "urn:xmpp:ping",
        "jabber:iq:roster",
        "urn:xmpp:sm:3",
      ]),
    );
    const items = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: A }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" })),
    );
    expect(items.attrs.type).toBe("result");
    expect(items.getChild("query", "http://jabber.org/protocol/disco#items")).toBeDefined();
    await alice.xmpp.stop();
  });

  it("answers a XEP-0199 ping to the server", async () => {
    const alice = await online(t, `alice8@${A}`, { presence: false });
    const pong = await alice.xmpp.iqCaller.request(ping(A));
    expect(pong.attrs).toMatchObject({ type: "result", from: A });
    // Without 'to', the request is for the account, which the server answers too.
    expect(await iqOutcome(alice.xmpp, ping())).toBe("result");
    await alice.xmpp.stop();
  });

  it("answers the removal of a contact that is not in the roster with item-not-found", async () => {
    const alice = await online(t, `alice9@${A}`, { presence: false });
    const remove = xml(
      "iq",
      { type: "set" },
      xml(
        "query",
        { xmlns: "jabber:iq:roster" },
        xml("item", { jid: `stranger@${A}`, subscription: "remove" }),
      ),
    );
    expect(await iqOutcome(alice.xmpp, remove)).toBe("item-not-found");
    await alice.xmpp.stop();
  });

  it("bounces stanzas for a domain not hosted here with remote-server-not-found", async () => {
    const alice = await online(t, `alice10@${A}`, { presence: false });
    expect(await iqOutcome(alice.xmpp, ping("someone@elsewhere.example"))).toBe("remote-server-not-found");
    expect(await iqOutcome(alice.xmpp, ping("elsewhere.example"))).toBe("remote-server-not-found");
    await alice.xmpp.send(
      xml("message", { to: "someone@elsewhere.example", id: "far" }, xml("body", {}, "hi")),
    );
    const bounce = await waitFor(alice.inbox, (s) => s.is("message") && s.attrs.id === "far");
    expect(errorCondition(bounce)).toBe("remote-server-not-found");
    await alice.xmpp.stop();
  });

  it("lets two tenants' accounts talk like federated servers, and shows neither's data to the other", async () => {
    const alice = await online(t, `alice11@${A}`, { roster: true });
    const carol = await online(t, `carol11@${B}`, { roster: true });
    const addItem = (owner: typeof alice, contact: string) =>
      owner.xmpp.iqCaller.request(
        xml(
          "iq",
          { type: "set" },
          xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: contact })),
        ),
      );
    await addItem(alice, `friend@${A}`);
    await addItem(alice, `carol11@${B}`);
    await alice.xmpp.send(chat(`carol11@${B}`, "across tenants"));
    const got = await waitFor(carol.inbox, withBody("across tenants"));
    expect(got.attrs.from).toBe(alice.full);
    await carol.xmpp.send(chat(alice.full, "and back"));
    await waitFor(alice.inbox, withBody("and back"));

    const rosterOf = async (c: typeof alice) => {
      const r = await c.xmpp.iqCaller.request(
        xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
      );
      return (
        r
          .getChild("query", "jabber:iq:roster")
          ?.getChildren("item")
          .map((i) => i.attrs.jid) ?? []
      );
    };
    expect(await rosterOf(carol)).toEqual([]);
    expect((await rosterOf(alice)).sort()).toEqual([`carol11@${B}`, `friend@${A}`]);
    // Carol cannot read Alice's roster by addressing it to her, nor ping her account without a subscription.
    const foreignRoster = xml(
      "iq",
      { type: "get", to: `alice11@${A}` },
      xml("query", { xmlns: "jabber:iq:roster" }),
    );
    const outcome = await iqOutcome(carol.xmpp, foreignRoster);
    expect(["service-unavailable", "forbidden"]).toContain(outcome);
    // No roster push about Alice's items ever reached Carol.
    expect(carol.inbox.some((s) => s.is("iq") && s.attrs.type === "set")).toBe(false);
    await Promise.all([alice.xmpp.stop(), carol.xmpp.stop()]);
  });

  it("answers a stanza with a malformed 'to' with jid-malformed", async () => {
    const alice = await online(t, `alice12@${A}`, { presence: false });
    expect(await iqOutcome(alice.xmpp, ping(`a@b@${A}`))).toBe("jid-malformed");
    await alice.xmpp.send(xml("message", { to: `@${A}`, id: "bad" }, xml("body", {}, "x")));
    const bounce = await waitFor(alice.inbox, (s) => s.is("message") && s.attrs.id === "bad");
    expect(errorCondition(bounce)).toBe("jid-malformed");
    await alice.xmpp.stop();
  });

  it("never leaves an iq request unanswered: two children or none get bad-request", async () => {
    const alice = await online(t, `alice13@${A}`, { presence: false });
    const two = xml(
      "iq",
      { type: "get", id: "two" },
      xml("ping", { xmlns: "urn:xmpp:ping" }),
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }),
    );
    await alice.xmpp.send(two);
    await alice.xmpp.send(xml("iq", { type: "get", id: "none", to: A }));
    for (const id of ["two", "none"]) {
      const answer = await waitFor(alice.inbox, (s) => s.is("iq") && s.attrs.id === id);
      expect(answer.attrs.type).toBe("error");
      expect(errorCondition(answer)).toBe("bad-request");
    }
    await alice.xmpp.stop();
  });
});
