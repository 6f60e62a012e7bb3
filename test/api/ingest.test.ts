import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Element } from "@xmpp/xml";
import { encode } from "cbor2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { idempotencyKey } from "../../shared/directory/keys";
import { claimKey, requestHash, STALE_CLAIM_SECONDS } from "../../shared/http/idempotency";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { iqOutcome, online, xml } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";
import { call, expectProblem, signUp, streamPath } from "./api-client";

// Issue 7's main path over real HTTP: sign up, declare a stream, make an ingest key, POST SenML; an XMPP
// subscriber of the same node (one store, two doors) gets the item through the real fan-out queues.

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ domains: ["api.test"] });
});
afterAll(async () => {
  await t?.stop();
});

const STREAM = "urn:dev:prm:30001610071843_consumption/power/active/raw";

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("sign-up to XMPP delivery", () => {
  it("a tenant signs up, declares a stream, ingests SenML with an ingest key; an XMPP subscriber gets it", async () => {
    const tenant = await signUp(t, "coop-du-val");
    expect(tenant.domain).toBe("coop-du-val.api.test");
    expect(tenant.admin).toMatch(/^rls_/);

    const created = await call(t, "POST", "/v1/streams", {
      key: tenant.admin,
      json: { id: STREAM, title: "Consumption", units: ["W"] },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.xmpp).toEqual({ service: `pubsub.${tenant.domain}`, node: STREAM });

    const ingestKey = await call(t, "POST", "/v1/keys", {
      key: tenant.admin,
      json: { name: "meter script", scope: "ingest", stream: STREAM },
    });
    expect(ingestKey.status, ingestKey.text).toBe(201);
    const key = ingestKey.body.key as string;

    // The new domain is served by XMPP: an account on it logs in and subscribes to the node.
    const sub = await online(t, `member@${tenant.domain}`);
    expect(
      await iqOutcome(
        sub.xmpp,
        xml(
          "iq",
          { type: "set", to: tenant.service },
          xml(
            "pubsub",
            { xmlns: NS_PUBSUB },
            xml("subscribe", { node: STREAM, jid: `member@${tenant.domain}` }),
          ),
        ),
      ),
    ).toBe("result");

    const pack = [{ bn: `${STREAM}/`, bt: 1_700_000_000, bu: "W", n: "p", v: 1234 }];
    const posted = await call(t, "POST", `${streamPath(STREAM)}/items`, {
      key,
      json: pack,
      type: "application/senml+json",
    });
    expect(posted.status, posted.text).toBe(201);
    const itemId = posted.body.itemId as string;

    const notification = () =>
      sub.inbox
        .filter((s: Element) => s.is("message") && s.attrs.from === tenant.service)
        .map((s: Element) => s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items")?.getChild("item"))
        .find((i) => i?.attrs.id === itemId);
    await until(() => notification() !== undefined, "the XMPP notification");
    const senml = notification()?.getChild("sensml")?.getChild("senml");
    expect(senml?.attrs.v).toBe("1234");
    expect(senml?.attrs.bu).toBe("W");

    // XML ingest goes the same way; reading returns both items, resolved.
    const xmlPack = `<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml bn="${STREAM}/" n="p" bt="1700000060" v="1300" u="W"/></sensml>`;
    const postedXml = await call(t, "POST", `${streamPath(STREAM)}/items`, {
      key,
      body: xmlPack,
      type: "application/senml+xml",
    });
    expect(postedXml.status, postedXml.text).toBe(201);
    // And CBOR (RFC 8428 section 6: integer labels): -2 bn, 0 n, 6 t, 2 v, 1 u.
    const cborPack = encode([
      new Map<number, unknown>([
        [-2, `${STREAM}/`],
        [0, "p"],
        [6, 1_700_000_030],
        [2, 1250],
        [1, "W"],
      ]),
    ]);
    const postedCbor = await call(t, "POST", `${streamPath(STREAM)}/items`, {
      key,
      body: cborPack,
      type: "application/senml+cbor",
    });
    expect(postedCbor.status, postedCbor.text).toBe(201);

    const latest = await call(t, "GET", `${streamPath(STREAM)}/items?limit=1`, { key: tenant.admin });
    expect(latest.status, latest.text).toBe(200);
    expect(latest.body.items).toHaveLength(1);
    expect(latest.body.items[0].records[0]).toMatchObject({
      n: `${STREAM}/p`,
      v: 1250,
      u: "W",
      t: 1_700_000_030,
    });
    const range = await call(
      t,
      "GET",
      `${streamPath(STREAM)}/items?from=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`,
      { key: tenant.admin },
    );
    expect(range.body.items.map((i: { id: string }) => i.id)).toEqual([
      itemId,
      postedXml.body.itemId,
      postedCbor.body.itemId,
    ]);
    const future = await call(t, "GET", `${streamPath(STREAM)}/items?from=2100-01-01T00:00:00Z`, {
      key: tenant.admin,
    });
    expect(future.body.items).toEqual([]);

    // The ingest key publishes to its stream only, and reads nothing.
    expectProblem(await call(t, "GET", `${streamPath(STREAM)}/items`, { key }), 403, "forbidden");
    await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "other" } });
    expectProblem(
      await call(t, "POST", `${streamPath("other")}/items`, { key, json: pack }),
      403,
      "forbidden",
    );
    await sub.xmpp.stop();
  });

  it("a retried POST with the same Idempotency-Key publishes once; another body with that key is a 422", async () => {
    const tenant = await signUp(t);
    await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "meter" } });
    const pack = [{ n: "meter", t: 1_700_000_000, v: 1, u: "W" }];
    const headers = { "idempotency-key": "batch-42" };
    const first = await call(t, "POST", `${streamPath("meter")}/items`, {
      key: tenant.admin,
      json: pack,
      headers,
    });
    const again = await call(t, "POST", `${streamPath("meter")}/items`, {
      key: tenant.admin,
      json: pack,
      headers,
    });
    expect(first.status, first.text).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const items = await call(t, "GET", `${streamPath("meter")}/items`, { key: tenant.admin });
    expect(items.body.items).toHaveLength(1);
    const usage = await call(t, "GET", "/v1/tenant/usage", { key: tenant.admin });
    expect(usage.body.ingestToday).toBe(1);

    const other = await call(t, "POST", `${streamPath("meter")}/items`, {
      key: tenant.admin,
      json: [{ ...pack[0], v: 2 }],
      headers,
    });
    expectProblem(other, 422, "idempotency-key-reused");
    expect(other.body.errors).toEqual([
      { field: "Idempotency-Key", reason: "already used for a different request", in: "header" },
    ]);
  });

  it("a request that died after claiming its Idempotency-Key blocks retries briefly, then is taken over", async () => {
    const tenant = await signUp(t);
    await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "crash" } });
    const body = JSON.stringify([{ n: "crash", v: 1 }]);
    // The first request's claim, as a function that crashed right after it would have left it.
    const hash = requestHash(["POST", "crash", "application/json", new TextEncoder().encode(body)]);
    expect(await claimKey(tenant.tenantId, "k-crash", hash)).toEqual({ kind: "new" });
    const retry = () =>
      call(t, "POST", `${streamPath("crash")}/items`, {
        key: tenant.admin,
        body,
        type: "application/json",
        headers: { "idempotency-key": "k-crash" },
      });
    const blocked = await retry();
    expectProblem(blocked, 409, "idempotency-in-progress");
    expect(blocked.headers.get("retry-after")).toBe("1");
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Directory"),
        Key: idempotencyKey(tenant.tenantId, "k-crash"),
        UpdateExpression: "SET claimedAt = :old",
        ExpressionAttributeValues: { ":old": Math.floor(Date.now() / 1000) - STALE_CLAIM_SECONDS - 1 },
      }),
    );
    const taken = await retry();
    expect(taken.status, taken.text).toBe(201);
    expect((await retry()).body).toEqual(taken.body);
  });

  it("one store, two doors: an account named publisher over HTTP publishes over XMPP, and HTTP reads it", async () => {
    const tenant = await signUp(t);
    const foreign = await call(t, "POST", "/v1/streams", {
      key: tenant.admin,
      json: { id: "door", publishers: ["someone@elsewhere.test"] },
    });
    expectProblem(foreign, 400, "validation");
    expect(foreign.body.errors[0].field).toBe("publishers.0");
    expectProblem(await call(t, "GET", streamPath("door"), { key: tenant.admin }), 404, "not-found");

    const jid = `writer@${tenant.domain}`;
    const created = await call(t, "POST", "/v1/streams", {
      key: tenant.admin,
      json: { id: "door", publishers: [jid] },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.publishers).toEqual([jid]);
    const writer = await online(t, jid);
    const publish = xml(
      "iq",
      { type: "set", to: tenant.service },
      xml(
        "pubsub",
        { xmlns: NS_PUBSUB },
        xml(
          "publish",
          { node: "door" },
          xml(
            "item",
            { id: "from-xmpp" },
            xml(
              "sensml",
              { xmlns: "urn:ietf:params:xml:ns:senml" },
              xml("senml", { n: "door", v: "7", t: "1700000000" }),
            ),
          ),
        ),
      ),
    );
    expect(await iqOutcome(writer.xmpp, publish)).toBe("result");
    const read = await call(t, "GET", `${streamPath("door")}/items`, { key: tenant.admin });
    expect(read.body.items).toEqual([
      { id: "from-xmpp", publishedAt: expect.any(String), records: [{ n: "door", v: 7, t: 1_700_000_000 }] },
    ]);
    // Taken off the list, the account may no longer publish.
    const patched = await call(t, "PATCH", streamPath("door"), {
      key: tenant.admin,
      json: { publishers: [] },
    });
    expect(patched.body.publishers).toEqual([]);
    expect(await iqOutcome(writer.xmpp, publish)).toBe("forbidden");
    await writer.xmpp.stop();
  });
});
