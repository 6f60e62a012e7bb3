import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { readChain } from "../../shared/consent/audit";
import { chainOf } from "../../shared/consent/layout";
import { getConsent, grantsOn } from "../../shared/consent/store";
import { countItems } from "../../shared/pubsub/item-pages";
import { accountSubscriptions, putSubscription } from "../../shared/pubsub/store";
import { getDelivery } from "../../shared/webhooks/deliveries";
import { routeKey } from "../../shared/xmpp/session/routes";
import { call, signUp, streamPath } from "../api/api-client";
import { startTestHub, type TestHub } from "../support/hub";
import { type Receiver, receiver } from "../support/webhook-receiver";
import { ingest, me, type Person, person, personalStream, requestConsent, type Tenant } from "./helpers";

// Issue 8: the data of a deleted account or stream is erased everywhere the hub stored it; what is
// kept on purpose (the consent records and the audit chain, as proof) is said in shared/consent/erase.ts.

Object.assign(process.env, { RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1", RELAIS_WEBHOOK_ALLOW_HTTP: "1" });

let t: TestHub;
let a: Tenant;
let alice: Person;
let bob: Person;
const receivers: Receiver[] = [];
const STREAM = "urn:dev:prm:erase_household";

beforeAll(async () => {
  t = await startTestHub({ domains: ["erase.test"] });
  a = await signUp(t, "erasers");
  alice = await person(t, a, "alice");
  bob = await person(t, a, "bob");
  await personalStream(t, a, STREAM, alice);
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t?.stop();
});

const pack = (v: number) => [{ bn: `${STREAM}:`, n: "power", u: "W", v, t: 1_700_000_000 + v }];

describe("erasure of deleted accounts and streams", () => {
  it("a deleted recipient's consents end, its grants and subscriptions go", async () => {
    const id = await requestConsent(t, a, alice, { kind: "jid", id: bob.jid }, [STREAM]);
    expect((await me(t, alice, "POST", `/consents/${id}/grant`)).status).toBe(200);
    await putSubscription(a.service, STREAM, {
      jid: bob.jid,
      subid: "s",
      state: "subscribed",
      deliver: true,
    });
    expect((await grantsOn(a.service, STREAM, [`jid:${bob.jid}`])).size).toBe(1);

    const gone = await call(t, "DELETE", `/v1/accounts/${bob.jid}`, { key: a.admin });
    expect(gone.status, gone.text).toBe(204);
    expect((await getConsent(id))?.record.state).toBe("withdrawn");
    expect((await grantsOn(a.service, STREAM, [`jid:${bob.jid}`])).size).toBe(0);
    expect(await accountSubscriptions(bob.jid)).toEqual([]);
    const route = await documents().send(
      new GetCommand({ TableName: tableName("Sessions"), Key: routeKey(bob.jid), ConsistentRead: true }),
    );
    expect(route.Item).toBeUndefined();
  });

  it("a deleted subject's stream items and consents go; the chain keeps the proof", async () => {
    const carol = await person(t, a, "carol");
    const id = await requestConsent(t, a, alice, { kind: "jid", id: carol.jid }, [STREAM]);
    expect((await me(t, alice, "POST", `/consents/${id}/grant`)).status).toBe(200);
    await ingest(t, a, STREAM, pack(1));
    await ingest(t, a, STREAM, pack(2));
    expect(await countItems(a.service, STREAM)).toBeGreaterThanOrEqual(2);

    expect((await call(t, "DELETE", `/v1/accounts/${alice.jid}`, { key: a.admin })).status).toBe(204);
    expect(await countItems(a.service, STREAM)).toBe(0);
    expect((await getConsent(id))?.record.state).toBe("withdrawn");
    const chain = await readChain(chainOf(a.tenantId, alice.jid));
    expect(chain.entries.at(-1)?.kind).toBe("account.erased");
    expect(chain.entries.at(-1)?.data).toMatchObject({ itemsDeleted: 2 });
  });

  it("a deleted stream's grants go, and its webhook deliveries lose their bodies", {
    timeout: 60_000,
  }, async () => {
    const b = await signUp(t, "streamers");
    const dan = await person(t, b, "dan");
    const erin = await person(t, b, "erin");
    const node = "urn:dev:prm:erase_stream";
    await personalStream(t, b, node, dan);
    let up = false;
    const hook = await receiver(receivers, () => ({ status: up ? 200 : 503 }));
    const ep = await call(t, "POST", "/v1/webhooks", {
      key: b.admin,
      json: { url: hook.url, streams: [node] },
    });
    expect(ep.status, ep.text).toBe(201);
    const toHook = await requestConsent(t, b, dan, { kind: "webhook", id: ep.body.id }, [node]);
    expect((await me(t, dan, "POST", `/consents/${toHook}/grant`)).status).toBe(200);
    const toErin = await requestConsent(t, b, dan, { kind: "jid", id: erin.jid }, [node]);
    expect((await me(t, dan, "POST", `/consents/${toErin}/grant`)).status).toBe(200);
    await ingest(t, b, node, pack(3));
    // The receiver refuses, so the delivery waits with its body for a retry.
    let deliveryId = "";
    for (let i = 0; i < 100 && !deliveryId; i++) {
      const log = await call(t, "GET", `/v1/webhooks/${ep.body.id}/deliveries`, { key: b.admin });
      deliveryId = log.body.deliveries?.[0]?.id ?? "";
      if (!deliveryId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(deliveryId).not.toBe("");
    expect((await getDelivery(b.tenantId, deliveryId))?.body).toMatch(/power/);

    expect((await call(t, "DELETE", streamPath(node), { key: b.admin })).status).toBe(204);
    expect((await grantsOn(b.service, node, [`jid:${erin.jid}`, `webhook:${ep.body.id}`])).size).toBe(0);
    const after = await getDelivery(b.tenantId, deliveryId);
    expect(after?.body).toBe("");
    expect(after?.record.status).toBe("failed");
    up = true;
    const again = await call(t, "POST", `/v1/webhook-deliveries/${deliveryId}/redeliver`, { key: b.admin });
    expect(again.status).toBe(409);
  });
});
