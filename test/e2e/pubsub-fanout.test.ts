import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverJob } from "../../shared/fanout/deliver";
import { fanOut, sqsPorts } from "../../shared/fanout/fan-out";
import { deliveryGroup, shardOf } from "../../shared/fanout/jobs";
import { DEFAULT_CONFIG } from "../../shared/pubsub/config";
import { createNode, putSubscription } from "../../shared/pubsub/store";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { startTestHub, type TestHub } from "../support/hub";
import { xml } from "../support/xmpp-client";
import { createOpenNode, notified, publish, sensml, subscribe, until } from "./pubsub-helpers";
import { online } from "./xmpp-helpers";

// Issue 6's "done when", on the local hub through the real queues and pollers: a stream's items
// reach every subscriber, on two tenants' domains, in publish order; an offline subscriber gets what
// it missed at login; a delivery or a fan-out that fails half-way and is retried notifies no one twice.

const A = "fan-a.test";
const B = "fan-b.test";
const SERVICE = `pubsub.${A}`;
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [A, B] });
});
afterAll(async () => {
  await t?.stop();
});

describe("SenML streams fanned out through the queues", () => {
  // 51 logins and 255 notifications through DynamoDB Local: give it time when the suite shares 2 cores.
  it("delivers every item to 50 subscribers on two domains in publish order, and to an offline one at login", {
    timeout: 180_000,
  }, async () => {
    const node = "urn:dev:prm:30001610071843_consumption/power/active/raw";
    const owner = await online(t, `owner@${A}`);
    await createOpenNode(owner.xmpp, node, SERVICE);

    const subscribers: Awaited<ReturnType<typeof online>>[] = [];
    for (let i = 0; i < 50; i++) {
      const s = await online(t, `sub${i}@${i % 2 === 0 ? A : B}`);
      await subscribe(s.xmpp, `sub${i}@${i % 2 === 0 ? A : B}`, node, SERVICE);
      subscribers.push(s);
    }
    const away = { ...(await t.account(`away@${B}`)) };
    const awayClient = await online(t, away.jid, { password: away.password });
    await subscribe(awayClient.xmpp, away.jid, node, SERVICE);
    await awayClient.xmpp.stop();

    const ids = ["i1", "i2", "i3", "i4", "i5"];
    for (const [n, id] of ids.entries()) {
      expect(await publish(owner.xmpp, node, id, sensml(1000 + n, 1_700_000_000 + n * 1800), SERVICE)).toBe(
        "result",
      );
    }
    await until(
      () => subscribers.every((s) => notified(s.inbox, node, SERVICE).length >= ids.length),
      "50 × 5 notifications",
    );
    for (const s of subscribers) expect(notified(s.inbox, node, SERVICE)).toEqual(ids);
    const first = subscribers[0]?.inbox.find((s) => s.is("message") && s.attrs.from === SERVICE);
    const senml = first
      ?.getChild("event", NS_PUBSUB_EVENT)
      ?.getChild("items")
      ?.getChild("item")
      ?.getChild("sensml");
    expect(senml?.getChild("senml")?.attrs.v).toBe("1000");

    const back = await online(t, `away@${B}`, { password: away.password });
    await until(
      () => notified(back.inbox, node, SERVICE).length >= ids.length,
      "the missed notifications at login",
    );
    expect(notified(back.inbox, node, SERVICE)).toEqual(ids);
    await Promise.all([owner.xmpp.stop(), back.xmpp.stop(), ...subscribers.map((s) => s.xmpp.stop())]);
  });

  it("refuses an invalid SenML pack with the record, the field and the reason", async () => {
    const node = "bad-senml";
    const owner = await online(t, `owner2@${A}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const bad = xml(
      "sensml",
      { xmlns: "urn:ietf:params:xml:ns:senml" },
      xml("senml", { n: "x", v: "1", u: "kwh" }),
    );
    const error = await owner.xmpp.iqCaller
      .request(
        xml(
          "iq",
          { type: "set", to: SERVICE },
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id: "b1" }, bad))),
        ),
        15_000,
      )
      .then(
        () => undefined,
        (e: { condition?: string; text?: string }) => e,
      );
    expect(error?.condition).toBe("bad-request");
    expect(error?.text ?? "").toMatch(/record 0.*'u'.*kwh/);
    await owner.xmpp.stop();
  });

  it("a delivery that fails half-way, retried, notifies each subscriber once", async () => {
    const node = "retry-delivery";
    const owner = await online(t, `owner3@${A}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    // No subscriber: the pipeline itself delivers this item to no one; the job below is built by hand.
    expect(await publish(owner.xmpp, node, "r1", sensml(1, 1_700_000_000), SERVICE)).toBe("result");
    const people = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => online(t, `rd${i}@${A}`)));
    const job = {
      tenantId: `local-${A}`,
      service: SERVICE,
      node,
      itemId: "r1",
      recipients: people.map((_, i) => ({ jid: `rd${i}@${A}`, subid: "" })),
    };
    // The first attempt: every notification but rd3's "succeeds" (a stub standing in for delivery, so
    // nobody really receives these), rd3's fails. The retry goes through the real delivery and must
    // notify rd3 only, once.
    await expect(
      deliverJob(job, {
        notify: async (notices) =>
          notices.map((n) => (n.jid === `rd3@${A}` ? new Error("crash on one recipient") : "online")),
      }),
    ).rejects.toThrow(/1 of 6 notifications failed/);
    const counts = await deliverJob(job);
    expect(counts.skipped).toBe(5);
    expect(counts.online).toBe(1);
    await until(() => notified(people[3]?.inbox ?? [], node, SERVICE).length >= 1, "rd3's notification");
    await new Promise((r) => setTimeout(r, 300));
    expect(people.map((p) => notified(p.inbox, node, SERVICE).length)).toEqual([0, 0, 0, 1, 0, 0]);
    await Promise.all([owner.xmpp.stop(), ...people.map((p) => p.xmpp.stop())]);
  });

  it("a fan-out that fails half-way, retried, sends no delivery twice", async () => {
    const node = "retry-fanout";
    const owner = await online(t, `owner4@${A}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const people: Awaited<ReturnType<typeof online>>[] = [];
    for (let i = 0; i < 12; i++) {
      const p = await online(t, `rf${i}@${A}`);
      await subscribe(p.xmpp, `rf${i}@${A}`, node, SERVICE);
      people.push(p);
    }
    expect(await publish(owner.xmpp, node, "f1", sensml(2, 1_700_000_000), SERVICE)).toBe("result");
    await until(
      () => people.every((p) => notified(p.inbox, node, SERVICE).length === 1),
      "the pipeline's own delivery",
    );

    // The same item fanned out again by hand, one recipient per delivery message (12 messages, two
    // SQS batches), failing after the first batch, then retried: whatever SQS's deduplication does not
    // drop, the delivery's marks must: everyone was notified once already, by the pipeline.
    const job = { tenantId: `local-${A}`, service: SERVICE, node, itemId: "f1", page: 0 };
    let batches = 0;
    const failing = {
      ...sqsPorts,
      sendDeliveries: async (entries: Parameters<typeof sqsPorts.sendDeliveries>[0]) => {
        batches++;
        if (batches === 2) throw new Error("crash after the first batch");
        await sqsPorts.sendDeliveries(entries);
      },
    };
    const sizes = { page: 500, perDelivery: 1 };
    await expect(fanOut(job, failing, sizes)).rejects.toThrow(/crash/);
    await fanOut(job, sqsPorts, sizes);
    await new Promise((r) => setTimeout(r, 2000));
    expect(people.map((p) => notified(p.inbox, node, SERVICE).length)).toEqual(people.map(() => 1));
    await Promise.all([owner.xmpp.stop(), ...people.map((p) => p.xmpp.stop())]);
  });

  it("spreads an item's deliveries over subscriber shards, each subscriber always in its own", async () => {
    const node = "sharded";
    await createNode(
      { service: SERVICE, node, tenantId: `local-${A}`, config: DEFAULT_CONFIG, createdAt: 0 },
      `o@${A}`,
    );
    const jids = Array.from({ length: 40 }, (_, i) => `shard${String(i).padStart(2, "0")}@${A}`);
    for (const jid of jids) {
      await putSubscription(SERVICE, node, { jid, subid: jid, state: "subscribed", deliver: true });
    }
    const sent: Parameters<typeof sqsPorts.sendDeliveries>[0] = [];
    const recording = { ...sqsPorts, sendDeliveries: async (e: typeof sent) => void sent.push(...e) };
    const job = { tenantId: `local-${A}`, service: SERVICE, node, itemId: "s1", page: 0 };
    await fanOut(job, recording, { page: 500, perDelivery: 4 });
    const placed = sent.flatMap((d) => d.body.recipients.map((r) => [r.jid, d.group] as const));
    expect(placed.map(([jid]) => jid).sort()).toEqual(jids);
    for (const [jid, group] of placed) expect(group).toBe(deliveryGroup(SERVICE, node, shardOf(jid)));
    expect(new Set(sent.map((d) => d.group)).size).toBeGreaterThan(1);
    expect(sent.every((d) => d.body.recipients.length <= 4)).toBe(true);
    // The same page fanned out again names its messages the same: SQS drops the repeats.
    const again: typeof sent = [];
    await fanOut(
      job,
      { ...sqsPorts, sendDeliveries: async (e: typeof sent) => void again.push(...e) },
      {
        page: 500,
        perDelivery: 4,
      },
    );
    expect(again.map((d) => d.dedup)).toEqual(sent.map((d) => d.dedup));
    expect(new Set(sent.map((d) => d.dedup)).size).toBe(sent.length);
  });

  it("notifies an item its node already trimmed: the delivery carries it", { timeout: 60_000 }, async () => {
    const node = "carried";
    const owner = await online(t, `owner5@${A}`);
    await createOpenNode(owner.xmpp, node, SERVICE);
    const s = await online(t, `carry@${A}`);
    await subscribe(s.xmpp, `carry@${A}`, node, SERVICE);
    // The item is not on the node (trimmed by max_items behind a backlog): only the job has it.
    const counts = await deliverJob({
      tenantId: `local-${A}`,
      service: SERVICE,
      node,
      itemId: "gone-from-node",
      recipients: [{ jid: `carry@${A}`, subid: "" }],
      item: {
        payload: sensml(7, 1_700_000_000).toString(),
        publisher: `owner5@${A}`,
        publishedAt: Date.now(),
      },
    });
    expect(counts.online).toBe(1);
    await until(() => notified(s.inbox, node, SERVICE).includes("gone-from-node"), "the carried item");
    // Without the item in the job nor on the node, there is nothing to notify.
    const none = await deliverJob({
      tenantId: `local-${A}`,
      service: SERVICE,
      node,
      itemId: "never-published",
      recipients: [{ jid: `carry@${A}`, subid: "" }],
    });
    expect(none.online).toBe(0);
    await Promise.all([owner.xmpp.stop(), s.xmpp.stop()]);
  });
});
