import type { Element } from "@xmpp/xml";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { iqOutcome, online, until, xml } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";
import { type Receiver, receiver } from "../support/webhook-receiver";
import { call, expectProblem, signUp, streamPath } from "./api-client";

// Issue 7's "done when", all through the HTTP door as an association's admin would with curl: sign up,
// declare a stream, make an ingest key, register a webhook; POST SenML; an XMPP subscriber and a real
// HTTP receiver both get it, the receiver checking the Standard Webhooks signature; a receiver that
// keeps failing is parked, shows in the log and the dead-letter list, and is redelivered on request.

Object.assign(process.env, {
  RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  RELAIS_WEBHOOK_ALLOW_HTTP: "1",
  RELAIS_WEBHOOK_BACKOFF_BASE_MS: "300",
  RELAIS_WEBHOOK_MAX_ATTEMPTS: "3",
});

let t: TestHub;
const receivers: Receiver[] = [];
beforeAll(async () => {
  t = await startTestHub({ domains: ["hooks.test"] });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t?.stop();
});

const STREAM = "urn:dev:prm:30001610071843_consumption/power/active/raw";
const pack = (v: number) => [{ bn: `${STREAM}/`, bt: 1_700_000_000, bu: "W", n: "p", v }];

async function setUp(answer?: (n: number) => { status: number }) {
  const tenant = await signUp(t);
  expect((await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: STREAM } })).status).toBe(
    201,
  );
  const ingest = await call(t, "POST", "/v1/keys", {
    key: tenant.admin,
    json: { name: "meter script", scope: "ingest", stream: STREAM },
  });
  const hook = await receiver(receivers, answer);
  const endpoint = await call(t, "POST", "/v1/webhooks", {
    key: tenant.admin,
    json: { url: hook.url, streams: [STREAM], description: "the co-op's dashboard" },
  });
  expect(endpoint.status, endpoint.text).toBe(201);
  expect(endpoint.body.secret).toMatch(/^whsec_/);
  return {
    tenant,
    key: ingest.body.key as string,
    hook,
    endpoint: endpoint.body as { id: string; secret: string },
  };
}

describe("webhooks over the HTTP API", () => {
  it("ingested SenML reaches an XMPP subscriber and a signed webhook, once", {
    timeout: 60_000,
  }, async () => {
    const { tenant, key, hook, endpoint } = await setUp();
    const sub = await online(t, `member@${tenant.domain}`);
    const subscribe = xml(
      "iq",
      { type: "set", to: tenant.service },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node: STREAM, jid: `member@${tenant.domain}` })),
    );
    expect(await iqOutcome(sub.xmpp, subscribe)).toBe("result");

    const posted = await call(t, "POST", `${streamPath(STREAM)}/items`, {
      key,
      json: pack(1234),
      type: "application/senml+json",
    });
    expect(posted.status, posted.text).toBe(201);
    const itemId = posted.body.itemId as string;

    const notified = () =>
      sub.inbox.some(
        (s: Element) =>
          s.is("message") &&
          s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items")?.getChild("item")?.attrs.id === itemId,
      );
    await until(notified, "the XMPP notification", 30_000);
    await until(() => hook.ok().length === 1, "the webhook delivery", 30_000);
    const [delivery] = hook.ok();
    if (!delivery) throw new Error("no delivery");
    const verified = new Webhook(endpoint.secret).verify(delivery.body, {
      "webhook-id": String(delivery.headers["webhook-id"]),
      "webhook-timestamp": String(delivery.headers["webhook-timestamp"]),
      "webhook-signature": String(delivery.headers["webhook-signature"]),
    }) as { type: string; stream: string; itemId: string; senml: { n: string; v: number }[] };
    expect(verified).toMatchObject({ type: "stream.item", stream: STREAM, itemId });
    expect(verified.senml[0]).toMatchObject({ n: `${STREAM}/p`, v: 1234 });

    const log = await call(t, "GET", `/v1/webhooks/${endpoint.id}/deliveries`, { key: tenant.admin });
    expect(log.status, log.text).toBe(200);
    expect(log.body.deliveries).toHaveLength(1);
    expect(log.body.deliveries[0]).toMatchObject({ itemId, status: "succeeded", attempts: 1 });
    expect(log.body.deliveries[0].id).toBe(delivery.headers["webhook-id"]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(hook.requests).toHaveLength(1);
    await sub.xmpp.stop();
  });

  it("a receiver that keeps failing is parked, listed, and redelivered on request", {
    timeout: 60_000,
  }, async () => {
    let up = false;
    const { tenant, key, hook, endpoint } = await setUp(() => ({ status: up ? 200 : 503 }));
    const posted = await call(t, "POST", `${streamPath(STREAM)}/items`, { key, json: pack(7) });
    expect(posted.status, posted.text).toBe(201);
    const parked = async () =>
      (await call(t, "GET", "/v1/webhook-deliveries/parked", { key: tenant.admin })).body.parked as {
        deliveryId: string;
        lastError: string;
      }[];
    const started = Date.now();
    while ((await parked()).length === 0) {
      if (Date.now() - started > 40_000) throw new Error("never parked");
      await new Promise((r) => setTimeout(r, 200));
    }
    const [dead] = await parked();
    expect(hook.requests).toHaveLength(3);
    expect(dead?.lastError).toMatch(/503/);
    const one = await call(t, "GET", `/v1/webhook-deliveries/${dead?.deliveryId}`, { key: tenant.admin });
    expect(one.body).toMatchObject({ status: "parked", attempts: 3, lastStatusCode: 503 });

    // Redelivering something that succeeded is refused; the parked one goes once the receiver is up.
    up = true;
    const again = await call(t, "POST", `/v1/webhook-deliveries/${dead?.deliveryId}/redeliver`, {
      key: tenant.admin,
    });
    expect(again.status, again.text).toBe(202);
    await until(() => hook.ok().length === 1, "the redelivery", 30_000);
    const done = await call(t, "GET", `/v1/webhook-deliveries/${dead?.deliveryId}`, { key: tenant.admin });
    expect(done.body.status).toBe("succeeded");
    expectProblem(
      await call(t, "POST", `/v1/webhook-deliveries/${dead?.deliveryId}/redeliver`, { key: tenant.admin }),
      409,
      "not-redeliverable",
    );
    expect(
      (await call(t, "GET", `/v1/webhooks/${endpoint.id}`, { key: tenant.admin })).body.failedDeliveries,
    ).toBe(1);
  });

  it("refuses a private URL with a precise problem, and counts endpoints against the quota", async () => {
    delete process.env.RELAIS_WEBHOOK_ALLOW_HOSTS;
    try {
      const tenant = await signUp(t);
      const refused = await call(t, "POST", "/v1/webhooks", {
        key: tenant.admin,
        json: { url: "http://127.0.0.1:9/hook" },
      });
      expectProblem(refused, 422, "webhook-url-refused");
      expect(refused.body.errors[0].field).toBe("url");
      const metadata = await call(t, "POST", "/v1/webhooks", {
        key: tenant.admin,
        json: { url: "https://169.254.169.254/latest" },
      });
      expectProblem(metadata, 422, "webhook-url-refused");
      const usage = await call(t, "GET", "/v1/tenant/usage", { key: tenant.admin });
      expect(JSON.stringify(usage.body)).toMatch(/webhookEndpoints/);
    } finally {
      process.env.RELAIS_WEBHOOK_ALLOW_HOSTS = "127.0.0.1";
    }
  });
});
