import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAccount, loginThrottle } from "../../shared/directory/accounts";
import { NS_SASL } from "../../shared/xmpp/namespaces";
import { startTestHub, type TestHub } from "../support/hub";
import { newClient, RawStream, xml } from "./xmpp-helpers";

// RFC 6120 section 6 (SASL) and stream opening, with @xmpp/client and with a raw RFC 7395 client.

const D = "auth.test";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [D] });
});
afterAll(async () => {
  await t?.stop();
});

/** The mechanism of every <auth/> a client sends. */
function mechanismsUsed(xmpp: ReturnType<typeof newClient>["xmpp"]): string[] {
  const used: string[] = [];
  xmpp.on("send", (el: Element) => {
    if (el.is("auth", NS_SASL)) used.push(el.attrs.mechanism ?? "");
  });
  return used;
}

const conditionOf = (el: Element) => el.getChildElements().find((c) => c.name !== "text")?.name;

describe("authentication (RFC 6120 6)", () => {
  it("logs @xmpp/client in with SCRAM-SHA-1, its own choice", async () => {
    const acc = await t.account(`scram1@${D}`);
    const c = newClient(t, acc.jid, acc.password, { scram: true, resource: "r" });
    const used = mechanismsUsed(c.xmpp);
    const jid = await c.xmpp.start();
    expect(jid.toString()).toBe(`${acc.jid}/r`);
    expect(used).toEqual(["SCRAM-SHA-1"]);
    await c.xmpp.stop();
  });

  it("logs @xmpp/client in with PLAIN when it picks that mechanism", async () => {
    const acc = await t.account(`plain1@${D}`);
    const c = newClient(t, acc.jid, acc.password);
    const used = mechanismsUsed(c.xmpp);
    await c.xmpp.start();
    expect(used).toEqual(["PLAIN"]);
    const pong = await c.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: D }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    expect(pong.attrs.type).toBe("result");
    await c.xmpp.stop();
  });

  it("offers SCRAM-SHA-256 to a raw client and logs it in with it, then binds", async () => {
    const acc = await t.account(`scram256@${D}`);
    const s = await RawStream.connect(t.wsUrl);
    const features = await s.open(D);
    const offered = features
      .getChild("mechanisms", NS_SASL)
      ?.getChildren("mechanism")
      .map((m) => m.text());
    expect(offered).toEqual(expect.arrayContaining(["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]));
    const { end, verified } = await s.scram("SHA-256", "scram256", acc.password);
    expect(end.name).toBe("success");
    expect(verified).toBe(true); // the server proved it knows the credentials too
    expect(await s.bind(D, "raw")).toBe(`${acc.jid}/raw`);
    s.close();
  });

  it("logs a raw client in with PLAIN by hand (RFC 7395: open, auth, restart, bind)", async () => {
    const acc = await t.account(`plain2@${D}`);
    const s = await RawStream.connect(t.wsUrl);
    await s.open(D);
    expect((await s.plain("plain2", acc.password)).name).toBe("success");
    const full = await s.bind(D);
    expect(full).toMatch(new RegExp(`^plain2@${D.replace(".", "\\.")}/.+`));
    s.close();
  });

  it("answers a wrong password with <failure><not-authorized/>, with both clients", async () => {
    const acc = await t.account(`wrong1@${D}`);
    const s = await RawStream.connect(t.wsUrl);
    await s.open(D);
    const failure = await s.plain("wrong1", "not-the-password");
    expect(failure.name).toBe("failure");
    expect(conditionOf(failure)).toBe("not-authorized");
    // The same stream may try again (fewer than three failures).
    expect((await s.plain("wrong1", acc.password)).name).toBe("success");
    s.close();

    const scram = await RawStream.connect(t.wsUrl);
    await scram.open(D);
    const { end } = await scram.scram("SHA-256", "wrong1", "not-the-password");
    expect(conditionOf(end)).toBe("not-authorized");
    scram.close();

    const c = newClient(t, acc.jid, "not-the-password", { scram: true });
    c.xmpp.reconnect.stop();
    await expect(c.xmpp.start()).rejects.toMatchObject({ condition: "not-authorized" });
    await c.xmpp.stop().catch(() => {});
  });

  it("closes a stream after three failed attempts with policy-violation", async () => {
    await t.account(`wrong3@${D}`);
    const s = await RawStream.connect(t.wsUrl);
    await s.open(D);
    for (let i = 0; i < 3; i++)
      expect(conditionOf(await s.plain("wrong3", `bad-${i}-password`))).toBe("not-authorized");
    const error = await s.element("error", "http://etherx.jabber.org/streams");
    expect(error.getChild("policy-violation", "urn:ietf:params:xml:ns:xmpp-streams")).toBeDefined();
    await s.next((f) => f.kind === "close");
    await s.closed;
  });

  it("locks an account after five failed logins across connections, even for the right password", async () => {
    const acc = await t.account(`locked@${D}`);
    const other = await t.account(`notlocked@${D}`);
    expect(loginThrottle.maxFailures).toBe(5);
    let failures = 0;
    while (failures < loginThrottle.maxFailures) {
      const s = await RawStream.connect(t.wsUrl);
      await s.open(D);
      for (let i = 0; i < 2 && failures < loginThrottle.maxFailures; i++, failures++) {
        expect(conditionOf(await s.plain("locked", `bad-${failures}-password`))).toBe("not-authorized");
      }
      s.close();
    }
    const lockedUntil = (await getAccount(acc.jid))?.lockedUntil ?? 0;
    expect(lockedUntil).toBeGreaterThan(Date.now());

    const s = await RawStream.connect(t.wsUrl);
    await s.open(D);
    const refused = await s.plain("locked", acc.password);
    expect(refused.name).toBe("failure");
    expect(conditionOf(refused)).toBe("account-disabled");
    // The right password is not counted as one more failure: the lock is not extended by it.
    expect((await getAccount(acc.jid))?.lockedUntil).toBe(lockedUntil);
    // Another account of the domain is not affected.
    expect((await s.plain("notlocked", other.password)).name).toBe("success");
    s.close();
  });

  it("answers a stream to a domain not hosted here with host-unknown, and closes it", async () => {
    const s = await RawStream.connect(t.wsUrl);
    s.send(
      xml("open", { xmlns: "urn:ietf:params:xml:ns:xmpp-framing", to: "not-hosted.example", version: "1.0" }),
    );
    await s.next((f) => f.kind === "open");
    const error = await s.element("error", "http://etherx.jabber.org/streams");
    expect(error.getChild("host-unknown", "urn:ietf:params:xml:ns:xmpp-streams")).toBeDefined();
    await s.next((f) => f.kind === "close");
    await s.closed;
    expect(s.frames.some((f) => f.kind === "element" && f.element.is("features"))).toBe(false);
  });
});
