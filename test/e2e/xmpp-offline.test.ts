import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listOffline, OFFLINE_MAX_ENV } from "../../shared/directory/offline";
import { startTestHub, type TestHub } from "../support/hub";
import { errorCondition, online, until, waitFor, xml } from "./xmpp-helpers";

// XEP-0160 offline messages over real @xmpp/client sessions.

const D = "offline.test";
const NS_DELAY = "urn:xmpp:delay";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [D] });
});
afterAll(async () => {
  await t?.stop();
});

const msg = (to: string, body: string, attrs: Record<string, string> = {}) =>
  xml("message", { to, type: "chat", ...attrs }, xml("body", {}, body));
const withBody = (body: string) => (s: Element) => s.is("message") && s.getChildText("body") === body;

/** Waits until the account has exactly `n` messages stored. */
const storedCount = (jid: string, n: number) =>
  until(async () => (await listOffline(jid)).length === n, `${n} stored messages for ${jid}`);

describe("offline messages (XEP-0160)", () => {
  it("stores a message for an offline account and delivers it once, with a delay stamp, at its next login", async () => {
    const alice = await online(t, `alice-x@${D}`);
    const gina = await t.account(`gina-x@${D}`);
    await alice.xmpp.send(msg(gina.jid, "first"));
    await storedCount(gina.jid, 1);
    await alice.xmpp.send(msg(`${gina.jid}/gone`, "second")); // no such resource: as if to the bare JID
    await storedCount(gina.jid, 2);

    const g1 = await online(t, gina.jid, { password: gina.password });
    const first = await waitFor(g1.inbox, withBody("first"));
    const second = await waitFor(g1.inbox, withBody("second"));
    expect(g1.inbox.indexOf(first)).toBeLessThan(g1.inbox.indexOf(second));
    expect(first.attrs.from).toBe(alice.full);
    const delay = first.getChild("delay", NS_DELAY);
    expect(delay?.attrs.from).toBe(D);
    expect(Date.parse(delay?.attrs.stamp ?? "")).toBeGreaterThan(Date.now() - 60_000);
    await storedCount(gina.jid, 0);
    await g1.xmpp.stop();

    const g2 = await online(t, gina.jid, { password: gina.password });
    // Sent once Gina is online again: had the stored ones been delivered again, they would be in first.
    await alice.xmpp.send(msg(gina.jid, "live"));
    const live = await waitFor(g2.inbox, withBody("live"));
    expect(live.getChild("delay", NS_DELAY)).toBeUndefined();
    expect(g2.inbox.filter((s) => s.is("message") && s.getChild("delay", NS_DELAY))).toEqual([]);
    await Promise.all([alice.xmpp.stop(), g2.xmpp.stop()]);
  });

  it("bounces messages past the per-account cap with service-unavailable, and keeps those before it", async () => {
    const previous = process.env[OFFLINE_MAX_ENV];
    process.env[OFFLINE_MAX_ENV] = "3";
    try {
      const alice = await online(t, `alice-c@${D}`, { presence: false });
      const hugo = await t.account(`hugo-c@${D}`);
      // One at a time: this is about the cap, not about the order of pipelined stanzas.
      for (const n of [1, 2, 3]) {
        await alice.xmpp.send(msg(hugo.jid, `m${n}`, { id: `m${n}` }));
        await storedCount(hugo.jid, n);
      }
      await alice.xmpp.send(msg(hugo.jid, "m4", { id: "m4" }));
      const bounce = await waitFor(alice.inbox, (s) => s.is("message") && s.attrs.id === "m4");
      expect(bounce.attrs.type).toBe("error");
      expect(errorCondition(bounce)).toBe("service-unavailable");
      expect(alice.inbox.filter((s) => s.attrs.type === "error").map((s) => s.attrs.id)).toEqual(["m4"]);

      const h = await online(t, hugo.jid, { password: hugo.password });
      for (const n of [1, 2, 3]) await waitFor(h.inbox, withBody(`m${n}`));
      await storedCount(hugo.jid, 0);
      expect(h.inbox.some(withBody("m4"))).toBe(false);
      await Promise.all([alice.xmpp.stop(), h.xmpp.stop()]);
    } finally {
      if (previous === undefined) delete process.env[OFFLINE_MAX_ENV];
      else process.env[OFFLINE_MAX_ENV] = previous;
    }
  });

  it("does not store headline or error messages", async () => {
    const alice = await online(t, `alice-h@${D}`, { presence: false });
    const ivy = await t.account(`ivy-h@${D}`);
    await alice.xmpp.send(msg(ivy.jid, "news", { type: "headline" }));
    await alice.xmpp.send(msg(ivy.jid, "oops", { type: "error" }));
    // A round trip on the same stream, so that both were handled before Ivy comes online.
    await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: D }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    await alice.xmpp.send(msg(ivy.jid, "kept"));
    await storedCount(ivy.jid, 1);
    const i = await online(t, ivy.jid, { password: ivy.password });
    await waitFor(i.inbox, withBody("kept"));
    expect(i.inbox.some(withBody("news"))).toBe(false);
    expect(i.inbox.some(withBody("oops"))).toBe(false);
    // Both are dropped silently, not bounced.
    expect(alice.inbox.some((s) => s.attrs.type === "error")).toBe(false);
    await Promise.all([alice.xmpp.stop(), i.xmpp.stop()]);
  });
});
