import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverJob } from "../../shared/fanout/deliver";
import { putItem } from "../../shared/pubsub/store";
import { NS_DELAY } from "../../shared/xmpp/namespaces";
import { startTestHub, type TestHub } from "../support/hub";
import { xml } from "../support/xmpp-client";
import { createOpenNode, notified, publish, sensml, subscribe, until } from "./pubsub-helpers";
import { online, storedAvailable } from "./xmpp-helpers";

// Notifications a subscriber missed while it had no available session are replayed from the node at
// its next available presence (shared/xmpp/features/pubsub-replay.ts): once, in publish order, with
// delay stamps, and only what the node still keeps.

const D = "replay.test";
const SERVICE = `pubsub.${D}`;
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [D] });
});
afterAll(async () => {
  await t?.stop();
});

const item = (id: string) => ({ id, payload: sensml(Number(id.replace(/\D/g, "")) || 1, 1_700_000_000) });

describe("missed stream notifications, replayed at login", () => {
  it("replays what was published while offline, stamped, once, and not to a second resource", async () => {
    const node = "replay-basic";
    const owner = await online(t, `owner@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const sub = await t.account(`sub@${D}`);
    const first = await online(t, sub.jid, { password: sub.password, resource: "one" });
    await subscribe(first.xmpp, sub.jid, node, SERVICE);
    expect(await publish(owner.xmpp, node, "before", item("before").payload, SERVICE)).toBe("result");
    await until(() => notified(first.inbox, node, SERVICE).length === 1, "the live notification");
    await first.xmpp.stop();

    for (const id of ["m1", "m2", "m3"]) {
      expect(await publish(owner.xmpp, node, id, item(id).payload, SERVICE)).toBe("result");
    }
    // Let the pipeline find the subscriber offline before it comes back.
    await new Promise((r) => setTimeout(r, 1500));
    const back = await online(t, sub.jid, { password: sub.password, resource: "one" });
    await until(() => notified(back.inbox, node, SERVICE).length >= 3, "the replay");
    expect(notified(back.inbox, node, SERVICE)).toEqual(["m1", "m2", "m3"]);
    const stamped = back.inbox.filter((s) => s.attrs.from === SERVICE && s.getChild("delay", NS_DELAY));
    expect(stamped).toHaveLength(3);

    // A second resource of an account that stayed online gets nothing replayed.
    const second = await online(t, sub.jid, { password: sub.password, resource: "two" });
    await new Promise((r) => setTimeout(r, 800));
    expect(notified(second.inbox, node, SERVICE)).toEqual([]);
    // And the first one's next login, after staying online all along, replays nothing again.
    await second.xmpp.stop();
    expect(notified(back.inbox, node, SERVICE)).toEqual(["m1", "m2", "m3"]);
    await Promise.all([owner.xmpp.stop(), back.xmpp.stop()]);
  });

  it("replays to a resource that was unavailable, at its next available presence", async () => {
    const node = "replay-unavailable";
    const owner = await online(t, `owner2@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const s = await online(t, `sub2@${D}`);
    await subscribe(s.xmpp, `sub2@${D}`, node, SERVICE);
    await s.xmpp.send(xml("presence", { type: "unavailable" }));
    await storedAvailable(s.full, false);
    expect(await publish(owner.xmpp, node, "u1", item("u1").payload, SERVICE)).toBe("result");
    await new Promise((r) => setTimeout(r, 1500));
    expect(notified(s.inbox, node, SERVICE)).toEqual([]);
    await s.xmpp.send(xml("presence"));
    await until(() => notified(s.inbox, node, SERVICE).length >= 1, "the replay at available presence");
    expect(notified(s.inbox, node, SERVICE)).toEqual(["u1"]);
    await Promise.all([owner.xmpp.stop(), s.xmpp.stop()]);
  });

  it("replays only what the node still keeps (pubsub#max_items)", async () => {
    const node = "replay-max";
    const owner = await online(t, `owner3@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE, { "pubsub#max_items": "2" });
    const sub = await t.account(`sub3@${D}`);
    const s = await online(t, sub.jid, { password: sub.password });
    await subscribe(s.xmpp, sub.jid, node, SERVICE);
    await s.xmpp.stop();
    for (const id of ["k1", "k2", "k3", "k4"]) {
      expect(await publish(owner.xmpp, node, id, item(id).payload, SERVICE)).toBe("result");
    }
    await new Promise((r) => setTimeout(r, 1500));
    const back = await online(t, sub.jid, { password: sub.password });
    await until(() => notified(back.inbox, node, SERVICE).length >= 2, "the replay");
    await new Promise((r) => setTimeout(r, 500));
    expect(notified(back.inbox, node, SERVICE)).toEqual(["k3", "k4"]);
    await Promise.all([owner.xmpp.stop(), back.xmpp.stop()]);
  });

  it("an item published before the subscriber left but delivered after is replayed too", async () => {
    const node = "replay-backlog";
    const owner = await online(t, `owner4@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const sub = await t.account(`sub4@${D}`);
    const s = await online(t, sub.jid, { password: sub.password });
    await subscribe(s.xmpp, sub.jid, node, SERVICE);
    // An item stored a moment ago whose fan-out is still queued (stored here without its fan-out)...
    const publishedAt = Date.now();
    await putItem({
      service: SERVICE,
      node,
      itemId: "late",
      payload: item("late").payload.toString(),
      publisher: `owner4@${D}`,
      publishedAt,
    });
    await new Promise((r) => setTimeout(r, 50));
    // ...and the subscriber leaves before the delivery runs: it finds the account offline.
    await s.xmpp.stop();
    const counts = await deliverJob({
      tenantId: `local-${D}`,
      service: SERVICE,
      node,
      itemId: "late",
      recipients: [{ jid: sub.jid, subid: "" }],
    });
    expect(counts.deferred).toBe(1);
    const back = await online(t, sub.jid, { password: sub.password });
    await until(() => notified(back.inbox, node, SERVICE).length >= 1, "the replay of the late item");
    expect(notified(back.inbox, node, SERVICE)).toEqual(["late"]);
    await Promise.all([owner.xmpp.stop(), back.xmpp.stop()]);
  });
});
