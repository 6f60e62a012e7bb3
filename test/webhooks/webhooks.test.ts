import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDeliveryOutput, listDeliveries, listParked, redeliver } from "../../shared/webhooks/deliveries";
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
} from "../../shared/webhooks/endpoints";
import { enqueueWebhookDeliveries } from "../../shared/webhooks/enqueue";
import { sendJob } from "../../shared/webhooks/jobs";
import { webhookSettings } from "../../shared/webhooks/settings";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { iqOutcome, online, until } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";
import { type Received, type Receiver, receiver } from "../support/webhook-receiver";
import { xml } from "../support/xmpp-client";

// Issue 7's webhooks out, end to end on the local hub: items published over XMPP go through the real
// Fanout and Webhooks queues to real HTTP receivers on this machine, which check the signatures with
// the Standard Webhooks reference library.

const DOMAIN = "wh.test";
const TENANT = `local-${DOMAIN}`; // the local hub makes each configured domain a tenant of its own
const SERVICE = `pubsub.${DOMAIN}`;
const TIMEOUT_MS = 2000;
const MAX_ATTEMPTS = 5;

// Settings of the webhook functions, read from the environment of this process (the hub runs here).
Object.assign(process.env, {
  RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  RELAIS_WEBHOOK_ALLOW_HTTP: "1",
  RELAIS_WEBHOOK_BACKOFF_BASE_MS: "500",
  RELAIS_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  RELAIS_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  RELAIS_WEBHOOK_ENDPOINT_CONCURRENCY: "1",
});

let t: TestHub;
let owner: Awaited<ReturnType<typeof online>>;
/** The first test's endpoint and its delivery, for the tenant-confinement test. */
let delivered: { endpointId: string; deliveryId: string } | undefined;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await startTestHub({ domains: [DOMAIN] });
  owner = await online(t, `owner@${DOMAIN}`);
});
afterAll(async () => {
  await owner?.xmpp.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await t?.stop();
});

// ---- XMPP side

const pack = (value: number) =>
  xml(
    "sensml",
    { xmlns: "urn:ietf:params:xml:ns:senml" },
    xml("senml", { bn: "urn:dev:prm:30001610071843_", bt: "1700000000", bu: "W" }),
    xml("senml", { n: "consumption/power/active/raw", v: String(value) }),
    xml("senml", { n: "consumption/power/active/raw", t: "1800", v: String(value + 1) }),
  );

async function createNode(c: Client, node: string): Promise<void> {
  const outcome = await iqOutcome(
    c,
    xml("iq", { type: "set", to: SERVICE }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node }))),
  );
  expect(outcome).toBe("result");
}

async function publish(c: Client, node: string, id: string, payload: Element = pack(1000)): Promise<void> {
  const outcome = await iqOutcome(
    c,
    xml(
      "iq",
      { type: "set", to: SERVICE },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload))),
    ),
  );
  expect(outcome).toBe("result");
}

async function register(url: string, streams: string[] | "all"): Promise<{ id: string; secret: string }> {
  const created = await createEndpoint(TENANT, { url, streams, description: "test receiver" });
  if (!created.ok) throw new Error(`registration refused: ${created.error.detail}`);
  return created.value;
}

const verified = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    "webhook-id": String(r.headers["webhook-id"]),
    "webhook-timestamp": String(r.headers["webhook-timestamp"]),
    "webhook-signature": String(r.headers["webhook-signature"]),
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deliveryOf(endpointId: string, itemId: string) {
  const page = await listDeliveries(TENANT, endpointId, { limit: 50 });
  if (!page.ok) throw new Error(page.error.detail);
  return page.value.deliveries.find((d) => d.itemId === itemId);
}

describe("webhooks out", () => {
  it("delivers a published item, signed, to the endpoints of its stream only, once even if fanned out again", {
    timeout: 60_000,
  }, async () => {
    const node = "meter-1";
    await createNode(owner.xmpp, node);
    const hook = await receiver(receivers);
    const other = await receiver(receivers);
    const ep = await register(hook.url, [node]);
    await register(other.url, ["another-stream"]);

    // An XMPP subscriber gets the same item: one store, two doors.
    const sub = await online(t, `sub@${DOMAIN}`);
    expect(
      await iqOutcome(
        sub.xmpp,
        xml(
          "iq",
          { type: "set", to: SERVICE },
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid: `sub@${DOMAIN}` })),
        ),
      ),
    ).toBe("result");

    await publish(owner.xmpp, node, "i1", pack(1000));
    await until(() => hook.requests.length >= 1, "the webhook", 20_000);
    const [got] = hook.requests as [Received];
    const payload = verified(ep.secret, got) as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: "stream.item",
      stream: node,
      itemId: "i1",
      publisher: `owner@${DOMAIN}`,
    });
    expect(new Date(String(payload.publishedAt)).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(payload.senml).toEqual([
      { n: "urn:dev:prm:30001610071843_consumption/power/active/raw", u: "W", t: 1700000000, v: 1000 },
      { n: "urn:dev:prm:30001610071843_consumption/power/active/raw", u: "W", t: 1700001800, v: 1001 },
    ]);
    expect(got.headers["content-type"]).toBe("application/json");
    expect(String(got.headers["webhook-id"])).toMatch(/^msg_/);
    // A receiver holding another secret does not accept it.
    const stranger = await register(other.url, ["nothing"]);
    expect(() => verified(stranger.secret, got)).toThrow();

    await until(
      () =>
        sub.inbox.some((s) => s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items")?.attrs.node === node),
      "the XMPP notification",
      20_000,
    );

    // The fan-out's webhook step run again for the same item (a retried Fanout message) sends nothing more.
    await enqueueWebhookDeliveries({ tenantId: TENANT, service: SERVICE, node, itemId: "i1" });
    await sleep(2500);
    expect(hook.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);

    const log = await deliveryOf(ep.id, "i1");
    expect(log).toMatchObject({
      id: got.headers["webhook-id"],
      status: "succeeded",
      attempts: 1,
      lastStatusCode: 200,
    });
    expect(log?.lastLatencyMs).toBeGreaterThanOrEqual(0);
    delivered = { endpointId: ep.id, deliveryId: String(log?.id) };
    await sub.xmpp.stop();
  });

  it("retries a receiver that fails 3 times, which then gets the delivery exactly once", {
    timeout: 60_000,
  }, async () => {
    const node = "meter-flaky";
    await createNode(owner.xmpp, node);
    const hook = await receiver(receivers, (n) => ({ status: n <= 3 ? 500 : 200 }));
    const ep = await register(hook.url, [node]);

    await publish(owner.xmpp, node, "f1");
    await until(() => hook.ok().length >= 1, "a 2xx-answered delivery", 40_000);
    await sleep(3000); // room for a wrong extra send to show
    expect(hook.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(hook.ok()).toHaveLength(1);
    expect(new Set(hook.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    // Same body on every attempt, each one signed with its own timestamp.
    expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
    for (const r of hook.requests) expect(verified(ep.secret, r)).toMatchObject({ itemId: "f1" });

    const log = await deliveryOf(ep.id, "f1");
    expect(log).toMatchObject({ status: "succeeded", attempts: 4, lastStatusCode: 200 });
    expect(log?.lastError).toBeUndefined();

    // A stray copy of an attempt's message, arriving after the delivery succeeded, sends nothing.
    const id = String(hook.requests[0]?.headers["webhook-id"]);
    await sendJob({ tenantId: TENANT, deliveryId: id, generation: 1, attempt: 4 });
    await sendJob({ tenantId: TENANT, deliveryId: id, generation: 1, attempt: 5 });
    await sleep(2500);
    expect(hook.requests).toHaveLength(4);
  });

  it("parks a delivery its receiver keeps refusing, logs why, and delivers it on redeliver once the receiver is back", {
    timeout: 90_000,
  }, async () => {
    const node = "meter-down";
    await createNode(owner.xmpp, node);
    let up = false;
    const hook = await receiver(receivers, () => ({ status: up ? 204 : 503 }));
    const ep = await register(hook.url, [node]);

    await publish(owner.xmpp, node, "d1");
    await until(
      async () => (await deliveryOf(ep.id, "d1"))?.status === "parked",
      "the delivery parked",
      60_000,
    );
    expect(hook.requests).toHaveLength(MAX_ATTEMPTS);
    const parked = await deliveryOf(ep.id, "d1");
    expect(parked).toMatchObject({ status: "parked", attempts: MAX_ATTEMPTS, lastStatusCode: 503 });
    expect(parked?.lastError).toMatch(/^HTTP 503; gave up: 5 attempts made$/);
    const dead = await listParked(TENANT);
    expect(dead.ok && dead.value.parked.map((p) => p.deliveryId)).toContain(parked?.id);
    const endpoint = await getEndpoint(TENANT, ep.id);
    expect(endpoint.ok && endpoint.value.failedDeliveries).toBe(1);

    up = true;
    const again = await redeliver(TENANT, String(parked?.id));
    expect(again).toMatchObject({ ok: true, value: { status: "pending", attempts: 0 } });
    await until(() => hook.ok().length >= 1, "the redelivery", 20_000);
    await sleep(2000);
    expect(hook.ok()).toHaveLength(1);
    expect(hook.requests.at(-1)?.headers["webhook-id"]).toBe(parked?.id);
    expect(verified(ep.secret, hook.requests.at(-1) as Received)).toMatchObject({ itemId: "d1" });
    expect(await deliveryOf(ep.id, "d1")).toMatchObject({
      status: "succeeded",
      attempts: 1,
      lastStatusCode: 204,
    });
    const after = await listParked(TENANT);
    expect(after.ok && after.value.parked.map((p) => p.deliveryId)).not.toContain(parked?.id);

    // A delivery that succeeded is not redelivered.
    expect(await redeliver(TENANT, String(parked?.id))).toMatchObject({
      ok: false,
      error: { code: "not-redeliverable" },
    });
  });

  it("does not let a slow endpoint delay another endpoint's deliveries", { timeout: 90_000 }, async () => {
    const node = "meter-busy";
    await createNode(owner.xmpp, node);
    const slow = await receiver(receivers, () => ({ status: 200, delayMs: TIMEOUT_MS * 4 }));
    const fast = await receiver(receivers);
    await register(slow.url, [node]);
    await register(fast.url, [node]);

    const items = ["s1", "s2", "s3", "s4"];
    for (const id of items) await publish(owner.xmpp, node, id);
    await until(() => fast.ok().length >= items.length, "the fast endpoint's deliveries", 30_000);
    await until(() => slow.requests.length >= 1, "the slow endpoint's first request", 30_000);
    // Every fast delivery arrived before the slow endpoint's first attempt even timed out: nothing of
    // the fast endpoint waited behind it (one after another, it would be 4 timeouts of 2 s late).
    const firstSlow = (slow.requests[0] as Received).at;
    const lastFast = Math.max(...fast.ok().map((r) => r.at));
    expect(lastFast).toBeLessThan(firstSlow + TIMEOUT_MS);
    expect(
      fast
        .ok()
        .map((r) => (JSON.parse(r.body) as { itemId: string }).itemId)
        .sort(),
    ).toEqual(items);
    // Its concurrency limit (1) holds: the slow endpoint never had two requests open at once.
    await sleep(TIMEOUT_MS * 2);
    const starts = slow.requests.map((r) => r.at).sort((a, b) => a - b);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < starts.length; i++) {
      expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    }
  });

  it("signs with the old and the new secret during a rotation, and sends nothing to a disabled endpoint", {
    timeout: 60_000,
  }, async () => {
    const node = "meter-rotate";
    await createNode(owner.xmpp, node);
    const hook = await receiver(receivers);
    const ep = await register(hook.url, [node]);
    const rotated = await rotateSecret(TENANT, ep.id);
    if (!rotated.ok) throw new Error(rotated.error.detail);
    expect(rotated.value.secret).not.toBe(ep.secret);
    expect(JSON.stringify(await getEndpoint(TENANT, ep.id))).not.toContain("whsec_");

    await publish(owner.xmpp, node, "r1");
    await until(() => hook.requests.length >= 1, "the webhook", 20_000);
    const got = hook.requests[0] as Received;
    expect(String(got.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verified(rotated.value.secret, got)).toMatchObject({ itemId: "r1" });
    expect(verified(ep.secret, got)).toMatchObject({ itemId: "r1" });

    const off = await updateEndpoint(TENANT, ep.id, { enabled: false });
    expect(off).toMatchObject({ ok: true, value: { enabled: false, streams: [node] } });
    expect(
      await updateEndpoint(
        TENANT,
        ep.id,
        { url: "http://10.0.0.1/x" },
        { settings: { ...webhookSettings(), allowHosts: [] } },
      ),
    ).toMatchObject({
      ok: false,
      error: { code: "url-refused", field: "url" },
    });
    await publish(owner.xmpp, node, "r2");
    await sleep(3000);
    expect(hook.requests).toHaveLength(1);
  });

  it("refuses to register an internal address unless allow-listed, and says why", async () => {
    const strict = { ...webhookSettings(), allowHosts: [] };
    const loopback = await createEndpoint(TENANT, { url: "http://127.0.0.1:9/hooks" }, { settings: strict });
    expect(loopback).toEqual({
      ok: false,
      error: {
        code: "url-refused",
        field: "url",
        detail:
          "http://127.0.0.1:9/hooks: 127.0.0.1 is loopback (127.0.0.0/8): webhooks are only sent to public addresses",
      },
    });
    const http = await createEndpoint(
      TENANT,
      { url: "http://hooks.example/x" },
      { settings: { ...strict, allowHttp: false } },
    );
    expect(http).toMatchObject({ ok: false, error: { code: "url-refused", field: "url" } });
    expect(!http.ok && http.error.detail).toMatch(/https is required/);
    // No public DNS here: a stand-in resolver answers what a rebinding name would.
    const rebinding = await createEndpoint(
      TENANT,
      { url: "https://hooks.example/x" },
      { settings: strict, lookup: async () => ["93.184.216.34", "10.0.0.5"] },
    );
    expect(!rebinding.ok && rebinding.error.detail).toMatch(
      /hooks\.example resolves to 10\.0\.0\.5 is private/,
    );
    const badStreams = await createEndpoint(
      TENANT,
      { url: "https://hooks.example/x", streams: [] },
      { settings: strict },
    );
    expect(badStreams).toMatchObject({ ok: false, error: { code: "invalid-input", field: "streams" } });
    // With the allow-list (this file's setting), the same loopback URL is accepted.
    expect((await createEndpoint(TENANT, { url: "http://127.0.0.1:9/hooks" })).ok).toBe(true);
  });

  it("confines every call to its tenant", async () => {
    const hook = await receiver(receivers);
    const ep = await register(hook.url, "all");
    expect(await getEndpoint("another-tenant", ep.id)).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    expect((await listEndpoints("another-tenant")).map((e) => e.id)).not.toContain(ep.id);
    expect(await deleteEndpoint("another-tenant", ep.id)).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    if (!delivered) throw new Error("needs the first test's delivery");
    expect(await getDeliveryOutput("another-tenant", delivered.deliveryId)).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    expect(await redeliver("another-tenant", delivered.deliveryId, async () => {})).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    expect(await listDeliveries("another-tenant", delivered.endpointId)).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    // A cursor of one tenant's list is refused on another's.
    const cursor = Buffer.from(
      JSON.stringify({ gsi1pk: `WHLOG#${TENANT}#${delivered.endpointId}`, gsi1sk: "0", pk: "x", sk: "#" }),
    ).toString("base64url");
    expect(await listDeliveries(TENANT, delivered.endpointId, { cursor })).toMatchObject({ ok: true });
    const foreign = Buffer.from(
      JSON.stringify({
        gsi1pk: `WHLOG#another-tenant#${delivered.endpointId}`,
        gsi1sk: "0",
        pk: "x",
        sk: "#",
      }),
    ).toString("base64url");
    expect(await listDeliveries(TENANT, delivered.endpointId, { cursor: foreign })).toMatchObject({
      ok: false,
      error: { code: "invalid-input", field: "cursor" },
    });
    expect(await listDeliveries("another-tenant", delivered.endpointId, { cursor })).toMatchObject({
      ok: false,
      error: { code: "not-found" },
    });
    expect((await getEndpoint(TENANT, ep.id)).ok).toBe(true);
    expect((await deleteEndpoint(TENANT, ep.id)).ok).toBe(true);
  });
});
