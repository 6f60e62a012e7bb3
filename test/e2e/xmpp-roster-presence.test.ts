import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import { type Connected, online, seedRoster, storedAvailable, until, waitFor, xml } from "./xmpp-helpers";

// RFC 6121 sections 2 to 4 over real @xmpp/client sessions: roster, subscriptions, presence.

const D = "roster.test";
const NS_ROSTER = "jabber:iq:roster";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [D] });
});
afterAll(async () => {
  await t?.stop();
});

const rosterSet = (item: Record<string, string>, ...children: Element[]) =>
  xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, xml("item", item, ...children)));
const rosterGet = () => xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER }));
const itemsOf = (iq: Element) => iq.getChild("query", NS_ROSTER)?.getChildren("item") ?? [];

/** A roster push (RFC 6121 2.1.6) about `contact`, received after `after` stanzas of the inbox. */
const pushAbout =
  (contact: string, match: Record<string, string | undefined> = {}) =>
  (s: Element) => {
    if (!s.is("iq") || s.attrs.type !== "set") return false;
    const item = itemsOf(s)[0];
    return item?.attrs.jid === contact && Object.entries(match).every(([k, v]) => item.attrs[k] === v);
  };
const presenceFrom = (from: string, type?: string) => (s: Element) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;
const stopAll = (...cs: Connected[]) => Promise.all(cs.map((c) => c.xmpp.stop()));

describe("roster and presence (RFC 6121)", () => {
  it("sets, gets and removes roster items, pushing each change to every interested resource", async () => {
    const dave = await t.account(`dave@${D}`);
    const one = await online(t, dave.jid, { resource: "one", password: dave.password, roster: true });
    const two = await online(t, dave.jid, { resource: "two", password: dave.password, roster: true });
    const eve = `eve@${D}`;

    const set = await one.xmpp.iqCaller.request(
      rosterSet({ jid: eve, name: "Eve" }, xml("group", {}, "Friends")),
    );
    expect(set.attrs.type).toBe("result");
    for (const c of [one, two]) {
      const push = await waitFor(c.inbox, pushAbout(eve, { name: "Eve", subscription: "none" }));
      expect(push.attrs.to).toBe(c.full);
      expect(itemsOf(push)[0]?.getChildText("group")).toBe("Friends");
    }
    const got = itemsOf(await two.xmpp.iqCaller.request(rosterGet()));
    expect(got.map((i) => i.attrs)).toEqual([
      expect.objectContaining({ jid: eve, name: "Eve", subscription: "none" }),
    ]);

    await two.xmpp.iqCaller.request(rosterSet({ jid: eve, subscription: "remove" }));
    for (const c of [one, two]) await waitFor(c.inbox, pushAbout(eve, { subscription: "remove" }));
    expect(itemsOf(await one.xmpp.iqCaller.request(rosterGet()))).toEqual([]);
    await stopAll(one, two);
  });

  it("runs the subscription handshake with roster pushes on both sides, then presence flows", async () => {
    const alice = await online(t, `alice-s@${D}`, { roster: true });
    const bob = await online(t, `bob-s@${D}`, { roster: true });
    const aliceJid = `alice-s@${D}`;
    const bobJid = `bob-s@${D}`;

    await alice.xmpp.send(xml("presence", { to: bobJid, type: "subscribe" }));
    await waitFor(alice.inbox, pushAbout(bobJid, { subscription: "none", ask: "subscribe" }));
    const request = await waitFor(bob.inbox, (s) => s.is("presence") && s.attrs.type === "subscribe");
    expect(request.attrs.from).toBe(aliceJid);

    await bob.xmpp.send(xml("presence", { to: aliceJid, type: "subscribed" }));
    await waitFor(bob.inbox, pushAbout(aliceJid, { subscription: "from" }));
    await waitFor(alice.inbox, pushAbout(bobJid, { subscription: "to", ask: undefined }));
    await waitFor(alice.inbox, presenceFrom(bobJid, "subscribed"));
    // RFC 6121 3.1.5: the contact's current presence follows its approval.
    await waitFor(alice.inbox, presenceFrom(bob.full));

    await bob.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
    const away = await waitFor(
      alice.inbox,
      (s) => presenceFrom(bob.full)(s) && s.getChildText("show") === "away",
    );
    expect(away.attrs.to).toBe(aliceJid);
    // One-way: Bob is not subscribed to Alice, so he gets nothing of hers.
    await alice.xmpp.send(xml("presence", {}, xml("show", {}, "dnd")));
    // Her own copy comes after the broadcast to her contacts (RFC 6121 4.4.2).
    await waitFor(alice.inbox, (s) => presenceFrom(alice.full)(s) && s.getChildText("show") === "dnd");
    await bob.xmpp.send(xml("message", { to: alice.full }, xml("body", {}, "marker")));
    await waitFor(alice.inbox, (s) => s.is("message") && s.getChildText("body") === "marker");
    expect(bob.inbox.some(presenceFrom(alice.full))).toBe(false);
    await stopAll(alice, bob);
  });

  it("broadcasts initial presence to subscribers and answers with the contacts' presence (probes)", async () => {
    const alice = `alice-p@${D}`;
    const bob = `bob-p@${D}`;
    const accounts = { alice: await t.account(alice), bob: await t.account(bob) };
    await seedRoster(alice, { [bob]: "both" });
    await seedRoster(bob, { [alice]: "both" });
    const b = await online(t, bob, {
      password: accounts.bob.password,
      presence: xml("presence", {}, xml("status", {}, "here first")),
    });
    const a = await online(t, alice, { password: accounts.alice.password });
    const probed = await waitFor(a.inbox, presenceFrom(b.full));
    expect(probed.getChildText("status")).toBe("here first");
    expect(probed.attrs.to).toBe(a.full);
    await waitFor(b.inbox, presenceFrom(a.full));
    // RFC 6121 4.2.2: the resource that sent the initial presence gets it back as well.
    expect((await waitFor(a.inbox, presenceFrom(a.full))).attrs.to).toBe(a.full);
    await stopAll(a, b);
  });

  it("broadcasts unavailable presence when a contact logs out", async () => {
    const alice = `alice-o@${D}`;
    const bob = `bob-o@${D}`;
    const accounts = { alice: await t.account(alice), bob: await t.account(bob) };
    await seedRoster(alice, { [bob]: "both" });
    await seedRoster(bob, { [alice]: "both" });
    const a = await online(t, alice, { password: accounts.alice.password });
    const b = await online(t, bob, { password: accounts.bob.password });
    await waitFor(a.inbox, presenceFrom(b.full));
    // A resumable XEP-0198 session: a <close/> ends it at once, no resumption window is waited out.
    await until(() => b.xmpp.streamManagement.enabled, "XEP-0198 enabled");
    await b.xmpp.stop();
    await waitFor(a.inbox, presenceFrom(b.full, "unavailable"));
    await a.xmpp.stop();
  });

  it("broadcasts unavailable presence when a socket drops without </close> (no XEP-0198)", async () => {
    const alice = `alice-d@${D}`;
    const bob = `bob-d@${D}`;
    const accounts = { alice: await t.account(alice), bob: await t.account(bob) };
    await seedRoster(alice, { [bob]: "both" });
    await seedRoster(bob, { [alice]: "both" });
    const a = await online(t, alice, { password: accounts.alice.password });
    const b = await online(t, bob, { password: accounts.bob.password, noStreamManagement: true });
    expect(b.xmpp.streamManagement.enabled).toBe(false);
    await waitFor(a.inbox, presenceFrom(b.full));
    b.xmpp.reconnect.stop();
    const socket = b.xmpp.socket?.socket;
    if (!socket?.terminate) throw new Error("@xmpp/client's WebSocket is not a ws socket");
    socket.terminate();
    await waitFor(a.inbox, presenceFrom(b.full, "unavailable"));
    await storedAvailable(b.full, false);
    await a.xmpp.stop();
  });

  it("answers a subscription request to an account that does not exist with unsubscribed", async () => {
    const alice = await online(t, `alice-n@${D}`, { roster: true });
    await alice.xmpp.send(xml("presence", { to: `ghost@${D}`, type: "subscribe" }));
    await waitFor(alice.inbox, presenceFrom(`ghost@${D}`, "unsubscribed"));
    // RFC 6121 3.2.3: the pending request is cancelled in the user's roster.
    await waitFor(alice.inbox, pushAbout(`ghost@${D}`, { subscription: "none", ask: undefined }));
    await alice.xmpp.stop();
  });

  it("delivers a subscription request sent while the contact was offline when it comes online", async () => {
    const alice = await online(t, `alice-q@${D}`, { roster: true });
    const frank = await t.account(`frank-q@${D}`);
    await alice.xmpp.send(xml("presence", { to: frank.jid, type: "subscribe" }));
    await waitFor(alice.inbox, pushAbout(frank.jid, { ask: "subscribe" }));
    const f = await online(t, frank.jid, { password: frank.password, roster: true });
    const request = await waitFor(f.inbox, (s) => s.is("presence") && s.attrs.type === "subscribe");
    expect(request.attrs.from).toBe(`alice-q@${D}`);
    // RFC 6121 3.1.3: no roster item is created before the contact approves.
    expect(itemsOf(await f.xmpp.iqCaller.request(rosterGet()))).toEqual([]);
    await f.xmpp.send(xml("presence", { to: `alice-q@${D}`, type: "subscribed" }));
    await waitFor(alice.inbox, pushAbout(frank.jid, { subscription: "to" }));
    await stopAll(alice, f);
  });
});
