import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { consentKey, grantKey } from "../../shared/consent/layout";
import { getSubscription } from "../../shared/pubsub/store";
import { NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { call, signUp } from "../api/api-client";
import { subscribe, until } from "../e2e/pubsub-helpers";
import { online } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";
import { ingest, me, type Person, person, personalStream, requestConsent, type Tenant } from "./helpers";

// Issue 8's "done when" for the HTTP door, end to end: an XMPP subscriber (@xmpp/client) of a stream
// of personal data gets items published through ingest only while the data subject's consent, granted
// over HTTP, holds; a withdrawal over HTTP stops items already queued; a consent limited to some SenML
// names lets only those records through; an expired consent stops deliveries. Deliveries are decided
// at delivery time against the grants, so each check waits for the delivery's decision on the audit
// chain rather than for a fixed time.

let t: TestHub;
let a: Tenant;
let alice: Person;
const STREAM = "alice-home";
const name = (n: string) => `${STREAM}/${n}`;
const pack = (v: number, n = "power") => [{ bn: `${STREAM}/`, n, u: "W", v }];

interface Subscriber {
  readonly person: Person;
  readonly arrivals: { at: number; itemId: string; records: Element[] }[];
  stop(): Promise<void>;
}

async function subscriber(username: string): Promise<Subscriber> {
  const p = await person(t, a, username);
  const c = await online(t, p.jid, { password: p.password });
  const arrivals: Subscriber["arrivals"] = [];
  c.xmpp.on("stanza", (s: Element) => {
    const item = s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items")?.getChild("item");
    if (s.is("message") && item) {
      arrivals.push({
        at: Date.now(),
        itemId: item.attrs.id ?? "",
        records: item.getChild("sensml")?.getChildren("senml") ?? [],
      });
    }
  });
  await subscribe(c.xmpp, p.jid, STREAM, a.service);
  return { person: p, arrivals, stop: () => c.xmpp.stop().then(() => undefined) };
}

interface Decision {
  readonly to: string;
  readonly refused: string | null;
}

/**
 * The delivery decision logged on the subject's chain for an item and a recipient, once there is one (an
 * item's subscribers are spread over several delivery messages, each logged as one entry).
 */
async function decisionFor(itemId: string, jid: string): Promise<Decision> {
  let found: Decision[] = [];
  const started = Date.now();
  for (;;) {
    const chain = await call(t, "GET", `/v1/consents/subjects/${alice.jid}/audit`, { key: a.admin });
    found = chain.body.entries
      .filter(
        (e: { kind: string; data: { itemId?: string } }) => e.kind === "delivery" && e.data.itemId === itemId,
      )
      .flatMap((e: { data: { decisions: Decision[] } }) => e.data.decisions);
    const mine = found.find((d) => d.to.split("/")[0] === jid);
    if (mine) return mine;
    if (Date.now() - started > 30_000)
      throw new Error(`no decision for ${jid} on item ${itemId}: ${JSON.stringify(found)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const subs: Subscriber[] = [];
beforeAll(async () => {
  t = await startTestHub({ domains: ["flows.test"] });
  a = await signUp(t, "coop");
  alice = await person(t, a, "alice");
  await personalStream(t, a, STREAM, alice);
});
afterAll(async () => {
  await Promise.all(subs.map((s) => s.stop().catch(() => undefined)));
  await t?.stop();
});

describe("consent decides deliveries of personal data, at delivery time", () => {
  it("nothing without consent; items flow once the subject grants over HTTP; a withdrawal stops even queued items", {
    timeout: 120_000,
  }, async () => {
    const bob = await subscriber("bob");
    subs.push(bob);
    // Without consent the subscription waits (pending): the item goes to no one.
    expect((await getSubscription(a.service, STREAM, bob.person.jid))?.state).toBe("pending");
    await ingest(t, a, STREAM, pack(1));
    await new Promise((r) => setTimeout(r, 1500));
    expect(bob.arrivals).toEqual([]);

    const id = await requestConsent(t, a, alice, { kind: "jid", id: bob.person.jid }, [STREAM]);
    const granted = await me(t, alice, "POST", `/consents/${id}/grant`);
    expect(granted.status, granted.text).toBe(200);
    const first = await ingest(t, a, STREAM, pack(2));
    await until(() => bob.arrivals.some((x) => x.itemId === first), "the first item after the grant");
    expect(bob.arrivals.map((x) => x.itemId)).toEqual([first]);

    // Twenty items at once, then the withdrawal: most are still in the fan-out and delivery queues.
    const queued = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ingest(t, a, STREAM, pack(100 + i))),
    );
    const withdrawn = await me(t, alice, "POST", `/consents/${id}/withdraw`);
    const answeredAt = Date.now();
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.body.receipt.receipt.event).toBe("withdrawn");
    // Each queued item was delivered before the withdrawal, refused by a delivery that ran after it, or
    // not fanned out to bob at all (the withdrawal also ended his subscription)...
    await new Promise((r) => setTimeout(r, 3000));
    const chain = await call(t, "GET", `/v1/consents/subjects/${alice.jid}/audit`, { key: a.admin });
    const decisions: Decision[] = chain.body.entries
      .filter(
        (e: { kind: string; data: { itemId?: string } }) =>
          e.kind === "delivery" && queued.includes(e.data.itemId ?? ""),
      )
      .flatMap((e: { data: { decisions: Decision[] } }) => e.data.decisions)
      .filter((d: Decision) => d.to.split("/")[0] === bob.person.jid);
    const refused = decisions.filter((d) => d.refused === "no consent").length;
    const late = bob.arrivals.filter((x) => x.at > answeredAt + IN_FLIGHT_MS);
    // ...none arrives after the answer plus the in-flight window (a delivery that read the grant just
    // before the withdrawal was written), and none arrives without a decision that allowed it.
    expect(late.map((x) => x.itemId)).toEqual([]);
    expect(bob.arrivals.length + refused).toBeLessThanOrEqual(1 + queued.length);
    expect(decisions.filter((d) => d.refused === null).length).toBe(bob.arrivals.length - 1);
    const lastDelivery = Math.max(...bob.arrivals.map((x) => x.at));
    console.info(
      `withdrawal: ${refused} of ${queued.length} queued items stopped; last delivery ${lastDelivery - answeredAt} ms after the withdrawal's answer`,
    );

    // The subject sees it in their delivery log: counts per recipient per day.
    const log = await me(t, alice, "GET", "/deliveries");
    const today = new Date().toISOString().slice(0, 10);
    const bobToday = log.body.deliveries.find(
      (d: { day: string; recipient: string }) => d.day === today && d.recipient === bob.person.jid,
    );
    expect(bobToday).toEqual({
      day: today,
      recipient: bob.person.jid,
      delivered: bob.arrivals.length,
      refused,
    });
  });

  it("a consent covering only some SenML names delivers only those records", {
    timeout: 60_000,
  }, async () => {
    const carol = await subscriber("carol");
    subs.push(carol);
    const id = await requestConsent(t, a, alice, { kind: "jid", id: carol.person.jid }, [STREAM], {
      scope: { streams: [{ service: a.service, node: STREAM }], names: [name("power")] },
    });
    expect((await me(t, alice, "POST", `/consents/${id}/grant`)).status).toBe(200);
    const both = await ingest(t, a, STREAM, [
      { bn: `${STREAM}/`, n: "power", u: "W", v: 1500 },
      { n: "energy", u: "Wh", v: 86_000 },
    ]);
    const energyOnly = await ingest(t, a, STREAM, pack(3, "energy"));
    await until(() => carol.arrivals.some((x) => x.itemId === both), "the minimised item");
    expect((await decisionFor(energyOnly, carol.person.jid)).refused).toBe(
      "no record within the consent's names",
    );
    const got = carol.arrivals.find((x) => x.itemId === both);
    expect(got?.records.map((r) => [r.attrs.n, r.attrs.v])).toEqual([[name("power"), "1500"]]);
    expect(carol.arrivals.map((x) => x.itemId)).toEqual([both]);
  });

  it("an expired consent stops deliveries, and shows as expired to the subject", {
    timeout: 60_000,
  }, async () => {
    const dave = await subscriber("dave");
    subs.push(dave);
    const id = await requestConsent(t, a, alice, { kind: "jid", id: dave.person.jid }, [STREAM]);
    expect((await me(t, alice, "POST", `/consents/${id}/grant`, { validDays: 1 })).status).toBe(200);
    const during = await ingest(t, a, STREAM, pack(4));
    await until(() => dave.arrivals.some((x) => x.itemId === during), "an item while the consent holds");

    // A day cannot pass in a test: the consent is made to have ended a second ago by rewriting its
    // validUntil in DynamoDB, on the grant a delivery checks and on the record the subject lists.
    const past = new Date(Date.now() - 1000).toISOString();
    const db = documents();
    const table = tableName("Consents");
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: grantKey(a.service, STREAM, `jid:${dave.person.jid}`),
        UpdateExpression: "SET validUntil = :p",
        ExpressionAttributeValues: { ":p": past },
      }),
    );
    const stored = (await db.send(new GetCommand({ TableName: table, Key: consentKey(id) }))).Item ?? {};
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...stored,
          record: JSON.stringify({ ...JSON.parse(String(stored.record)), validUntil: past }),
        },
      }),
    );

    const after = await ingest(t, a, STREAM, pack(5));
    expect((await decisionFor(after, dave.person.jid)).refused).toBe("consent expired");
    expect(dave.arrivals.map((x) => x.itemId)).toEqual([during]);
    const listed = (await me(t, alice, "GET", "/consents")).body.consents;
    expect(listed.find((c: { consentId: string }) => c.consentId === id)?.state).toBe("expired");
  });
});

/** How long after a withdrawal's answer a delivery that had read the grant just before may still land. */
const IN_FLIGHT_MS = 250;
