import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import { connectClient, waitFor, xml } from "../support/xmpp-client";

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: ["asso-a.test", "asso-b.test"] });
});
afterAll(async () => {
  await t?.stop();
});

describe("XMPP over WebSocket with @xmpp/client", () => {
  it("logs in to two tenants' domains and exchanges a message within one", async () => {
    const alice = await t.account("alice@asso-a.test");
    const bob = await t.account("bob@asso-a.test");
    const carol = await t.account("carol@asso-b.test");
    const a = await connectClient({ service: t.wsUrl, ...alice, resource: "phone" });
    const b = await connectClient({ service: t.wsUrl, ...bob });
    const c = await connectClient({ service: t.wsUrl, ...carol });
    expect(a.xmpp.jid?.toString()).toBe("alice@asso-a.test/phone");
    expect(c.xmpp.jid?.toString()).toMatch(/^carol@asso-b\.test\//);
    await b.xmpp.send(xml("presence"));
    await a.xmpp.send(xml("message", { to: "bob@asso-a.test", type: "chat" }, xml("body", {}, "bonjour")));
    const got = await waitFor(b.inbox, (s) => s.is("message") && s.getChildText("body") === "bonjour");
    expect(got.attrs.from).toBe("alice@asso-a.test/phone");
    await Promise.all([a.xmpp.stop(), b.xmpp.stop(), c.xmpp.stop()]);
  });
});
