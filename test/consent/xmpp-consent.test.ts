import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { readChain } from "../../shared/consent/audit";
import { verifyChain } from "../../shared/consent/chain";
import { tenantKey } from "../../shared/consent/keys";
import { chainOf, grantKey } from "../../shared/consent/layout";
import { type SignedReceipt, verifyReceipt } from "../../shared/consent/receipt";
import { consentRequestSchema } from "../../shared/consent/record";
import { changeConsent, createConsent } from "../../shared/consent/store";
import { deliverJob } from "../../shared/fanout/deliver";
import { putItem } from "../../shared/pubsub/store";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { createOpenNode, notified, publish } from "../e2e/pubsub-helpers";
import { iqOutcome, online, until, xml } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";

// Issue 8 over XMPP: a subscription to a stream of personal data stays pending until the data subject
// approves the XEP-0060 authorisation form (with purpose and duration); then items flow, minimised to
// the consented SenML names; after withdrawal nothing more arrives, not even an item already queued;
// an expired consent stops deliveries; every step is on the subject's verifiable audit chain.

const D = "consent.test";
const SERVICE = `pubsub.${D}`;
const TENANT = `local-${D}`;
const NS_CONSENT = "urn:relais:consent:0";
const NODE = "urn:dev:prm:30001610071843_household";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: [D] });
});
afterAll(async () => {
  await t?.stop();
});

const pack = (power: number, voltage: number) =>
  xml(
    "sensml",
    { xmlns: "urn:ietf:params:xml:ns:senml" },
    xml("senml", { bn: `${NODE}:`, bt: "1700000000", n: "power", u: "W", v: String(power) }),
    xml("senml", { n: "voltage", u: "V", v: String(voltage) }),
  );

const field = (name: string, ...values: string[]) =>
  xml("field", { var: name }, ...values.map((v) => xml("value", {}, v)));

function recordsOf(inbox: Element[], itemId: string): Record<string, string>[] {
  const item = inbox
    .filter((s) => s.is("message") && s.attrs.from === SERVICE)
    .map((s) => s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items")?.getChild("item"))
    .find((i) => i?.attrs.id === itemId);
  return (item?.getChild("sensml")?.getChildren("senml") ?? []).map((r) => r.attrs as Record<string, string>);
}

/** The fields of the consent form the subject was sent, once it arrived. */
async function consentForm(inbox: Element[]): Promise<Map<string, string>> {
  const form = () =>
    inbox
      .find((s) => s.attrs.from === SERVICE && s.getChild("x", "jabber:x:data"))
      ?.getChild("x", "jabber:x:data");
  await until(() => form() !== undefined, "the consent form", 10_000);
  return new Map(
    (form()?.getChildren("field") ?? []).map((f) => [String(f.attrs.var), f.getChildText("value") ?? ""]),
  );
}

/** The subject's answer to the form: a submitted subscription authorisation form. */
function answer(fields: Element[]): Element {
  return xml(
    "message",
    { to: SERVICE },
    xml(
      "x",
      { xmlns: "jabber:x:data", type: "submit" },
      field("FORM_TYPE", "http://jabber.org/protocol/pubsub#subscribe_authorization"),
      ...fields,
    ),
  );
}

describe("consent over XMPP", () => {
  it("pending until approved; minimised; withdrawn, queued items included; logged on a verifiable chain", {
    timeout: 120_000,
  }, async () => {
    const owner = await online(t, `coop@${D}`);
    await createOpenNode(owner.xmpp, NODE, SERVICE, {
      "{urn:relais:stream:0}data_subject": `household@${D}`,
    });
    const household = await online(t, `household@${D}`);
    const advisor = await online(t, `advisor@${D}`);

    // The advisor asks, for a purpose, 90 days, and the power records only.
    const asked = await advisor.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", to: SERVICE },
        xml(
          "pubsub",
          { xmlns: NS_PUBSUB },
          xml("subscribe", { node: NODE, jid: `advisor@${D}` }),
          xml(
            "options",
            {},
            xml(
              "x",
              { xmlns: "jabber:x:data", type: "submit" },
              field("FORM_TYPE", "http://jabber.org/protocol/pubsub#subscribe_options"),
              field(`{${NS_CONSENT}}purpose`, "ServiceOptimisation"),
              field(`{${NS_CONSENT}}purpose_text`, "tariff advice"),
              field(`{${NS_CONSENT}}valid_days`, "90"),
              field(`{${NS_CONSENT}}names`, `${NODE}:power`),
            ),
          ),
        ),
      ),
    );
    expect(asked.getChild("pubsub")?.getChild("subscription")?.attrs.subscription).toBe("pending");

    // The subject is asked, with the purpose; meanwhile an item goes to no one but the subject.
    const values = await consentForm(household.inbox);
    expect(values.get(`{${NS_CONSENT}}purpose`)).toBe("tariff advice");
    const consentId = values.get(`{${NS_CONSENT}}consent_id`) ?? "";
    expect(await publish(owner.xmpp, NODE, "before", pack(1000, 230), SERVICE)).toBe("result");
    await new Promise((r) => setTimeout(r, 1500));
    expect(notified(advisor.inbox, NODE, SERVICE)).toEqual([]);

    // The subject allows, for 30 days only: subscribed, and a signed receipt.
    await household.xmpp.send(
      answer([
        field(`{${NS_CONSENT}}consent_id`, consentId),
        field("pubsub#node", NODE),
        field("pubsub#subscriber_jid", `advisor@${D}`),
        field(`{${NS_CONSENT}}valid_days`, "30"),
        field("pubsub#allow", "true"),
      ]),
    );
    const receiptOf = (inbox: Element[]) =>
      inbox.map((s) => s.getChild("receipt", NS_CONSENT)).find((r) => r !== undefined);
    await until(() => receiptOf(household.inbox) !== undefined, "the receipt", 10_000);
    const receipt = JSON.parse(receiptOf(household.inbox)?.getText() ?? "{}") as SignedReceipt;
    const keys = new Map([[tenantKey(TENANT).keyId, tenantKey(TENANT).publicKey]]);
    expect(verifyReceipt(receipt, keys)).toEqual({ ok: true });
    expect(receipt.receipt).toMatchObject({ event: "granted", consentId, piiPrincipalId: `household@${D}` });
    const granted =
      Date.parse(receipt.receipt.validUntil ?? "") - Date.parse(receipt.receipt.validFrom ?? "");
    expect(granted).toBe(30 * 86_400_000);

    // Items flow, minimised to the power records.
    expect(await publish(owner.xmpp, NODE, "after", pack(1100, 231), SERVICE)).toBe("result");
    await until(() => notified(advisor.inbox, NODE, SERVICE).includes("after"), "the consented item", 20_000);
    const records = recordsOf(advisor.inbox, "after");
    expect(records.map((r) => r.n)).toEqual([`${NODE}:power`]);
    expect(records[0]?.v).toBe("1100");

    // An item published before the withdrawal whose delivery is still queued (stored here without its
    // fan-out, which then runs after the withdrawal): refused at delivery time.
    await putItem({
      service: SERVICE,
      node: NODE,
      itemId: "queued",
      payload: pack(1200, 232).toString(),
      publisher: `coop@${D}`,
      publishedAt: Date.now(),
    });
    const withdrawn = await household.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: SERVICE }, xml("withdraw", { xmlns: NS_CONSENT, consent: consentId })),
    );
    const withdrawal = JSON.parse(
      withdrawn.getChild("receipt", NS_CONSENT)?.getText() ?? "{}",
    ) as SignedReceipt;
    expect(withdrawal.receipt.event).toBe("withdrawn");
    expect(verifyReceipt(withdrawal, keys)).toEqual({ ok: true });
    const late = await deliverJob({
      tenantId: TENANT,
      service: SERVICE,
      node: NODE,
      itemId: "queued",
      recipients: [{ jid: `advisor@${D}`, subid: "" }],
    });
    expect(late).toMatchObject({ refused: 1, online: 0, skipped: 0 });
    expect(await publish(owner.xmpp, NODE, "later", pack(1300, 233), SERVICE)).toBe("result");
    await new Promise((r) => setTimeout(r, 2000));
    expect(notified(advisor.inbox, NODE, SERVICE)).not.toContain("later");
    expect(notified(advisor.inbox, NODE, SERVICE)).not.toContain("queued");

    // The subject lists the consent, withdrawn.
    const listed = await household.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: SERVICE }, xml("consents", { xmlns: NS_CONSENT })),
    );
    expect(listed.getChild("consents", NS_CONSENT)?.getChild("consent")?.attrs).toMatchObject({
      id: consentId,
      state: "withdrawn",
      recipient: `jid:advisor@${D}`,
    });

    // The chain holds the request, the grant, the deliveries and the withdrawal, and verifies.
    const chain = await readChain(chainOf(TENANT, `household@${D}`));
    expect(chain.entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["consent.requested", "consent.granted", "delivery", "consent.withdrawn"]),
    );
    expect(verifyChain(chain.entries, chain.checkpoints, keys)).toMatchObject({ ok: true });
    await Promise.all([owner.xmpp.stop(), household.xmpp.stop(), advisor.xmpp.stop()]);
  });

  it("an expired consent stops deliveries", { timeout: 60_000 }, async () => {
    const node = `${NODE}-2`;
    const owner = await online(t, `coop2@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE, {
      "{urn:relais:stream:0}data_subject": `household2@${D}`,
    });
    const household = await online(t, `household2@${D}`);
    const advisor = await online(t, `advisor2@${D}`);
    expect(
      await iqOutcome(
        advisor.xmpp,
        xml(
          "iq",
          { type: "set", to: SERVICE },
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid: `advisor2@${D}` })),
        ),
      ),
    ).toBe("result");
    const consentId = (await consentForm(household.inbox)).get(`{${NS_CONSENT}}consent_id`) ?? "";
    await household.xmpp.send(
      answer([field(`{${NS_CONSENT}}consent_id`, consentId), field("pubsub#allow", "true")]),
    );
    await until(() => household.inbox.some((s) => s.getChild("receipt", NS_CONSENT)), "the receipt", 10_000);
    expect(await publish(owner.xmpp, node, "valid", pack(1, 2), SERVICE)).toBe("result");
    await until(
      () => notified(advisor.inbox, node, SERVICE).includes("valid"),
      "an item while valid",
      20_000,
    );
    // Days cannot pass in a test: the grant's validity is moved into the past in DynamoDB directly.
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Consents"),
        Key: grantKey(SERVICE, node, `jid:advisor2@${D}`),
        UpdateExpression: "SET validUntil = :past",
        ExpressionAttributeValues: { ":past": new Date(Date.now() - 1000).toISOString() },
      }),
    );
    expect(await publish(owner.xmpp, node, "expired", pack(3, 4), SERVICE)).toBe("result");
    await new Promise((r) => setTimeout(r, 2500));
    expect(notified(advisor.inbox, node, SERVICE)).toEqual(["valid"]);
    const chain = await readChain(chainOf(TENANT, `household2@${D}`));
    const refusals = chain.entries
      .filter((e) => e.kind === "delivery")
      .flatMap((e) =>
        (e.data as { decisions: { refused: string | null }[] }).decisions.map((d) => d.refused),
      );
    expect(refusals).toContain("consent expired");
    await Promise.all([owner.xmpp.stop(), household.xmpp.stop(), advisor.xmpp.stop()]);
  });

  it("a remote domain's grant is checked on the path to the federation gateway, and its withdrawal stops it", async () => {
    const node = `${NODE}-3`;
    const owner = await online(t, `coop3@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE, {
      "{urn:relais:stream:0}data_subject": `household3@${D}`,
    });
    const stored = (itemId: string, a: number, b: number) =>
      putItem({
        service: SERVICE,
        node,
        itemId,
        payload: pack(a, b).toString(),
        publisher: `coop3@${D}`,
        publishedAt: Date.now(),
      });
    await stored("r1", 5, 6);
    const job = {
      tenantId: TENANT,
      service: SERVICE,
      node,
      itemId: "r1",
      recipients: [{ jid: "advisor@remote.example", subid: "" }],
    };
    // No consent: refused, not even handed towards the remote server.
    expect(await deliverJob(job)).toMatchObject({ refused: 1, "remote-pending": 0 });
    // A consent to the whole remote domain, granted: the item goes towards the gateway.
    const request = consentRequestSchema.parse({
      subject: `household3@${D}`,
      recipient: { kind: "domain", id: "remote.example" },
      scope: { streams: [{ service: SERVICE, node }] },
      purposes: [{ code: "PublicBenefit", text: "a local energy study" }],
      retentionDays: 30,
      validDays: 30,
    });
    const record = await createConsent(TENANT, request, `coop3@${D}`, "http");
    await changeConsent(record.consentId, "granted", { by: `household3@${D}`, via: "http" }, D);
    expect(await deliverJob({ ...job, itemId: "r1" })).toMatchObject({ "remote-pending": 1, refused: 0 });
    // Withdrawn: the remote domain gets nothing more.
    await changeConsent(record.consentId, "withdrawn", { by: `household3@${D}`, via: "http" }, D);
    await stored("r2", 7, 8);
    expect(await deliverJob({ ...job, itemId: "r2" })).toMatchObject({ refused: 1, "remote-pending": 0 });
    await owner.xmpp.stop();
  });

  it("retrieving items of personal data needs the same consent, and gets only its names", {
    timeout: 60_000,
  }, async () => {
    const node = `${NODE}-4`;
    const owner = await online(t, `coop4@${D}`);
    await createOpenNode(owner.xmpp, node, SERVICE, {
      "{urn:relais:stream:0}data_subject": `household4@${D}`,
    });
    expect(await publish(owner.xmpp, node, "kept", pack(10, 230), SERVICE)).toBe("result");
    const reader = await online(t, `reader4@${D}`);
    const retrieve = () =>
      reader.xmpp.iqCaller
        .request(
          xml(
            "iq",
            { type: "get", to: SERVICE },
            xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })),
          ),
        )
        .then(
          (r: Element) => r,
          (e: { condition?: string }) => e.condition ?? "error",
        );
    expect(await retrieve()).toBe("not-authorized");
    const request = consentRequestSchema.parse({
      subject: `household4@${D}`,
      recipient: { kind: "jid", id: `reader4@${D}` },
      scope: { streams: [{ service: SERVICE, node }], names: [`${NODE}:voltage`] },
      purposes: [{ code: "ResearchAndDevelopment" }],
      retentionDays: 30,
      validDays: 30,
    });
    const record = await createConsent(TENANT, request, `reader4@${D}`, "http");
    await changeConsent(record.consentId, "granted", { by: `household4@${D}`, via: "http" }, D);
    const got = await retrieve();
    if (typeof got === "string") throw new Error(`refused: ${got}`);
    const records = got
      .getChild("pubsub")
      ?.getChild("items")
      ?.getChild("item")
      ?.getChild("sensml")
      ?.getChildren("senml");
    expect(records?.map((r) => [r.attrs.n, r.attrs.v])).toEqual([[`${NODE}:voltage`, "230"]]);
    await Promise.all([owner.xmpp.stop(), reader.xmpp.stop()]);
  });
});
