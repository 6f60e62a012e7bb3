import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import { call, signUp, streamPath } from "./api-client";

// Tenant A's keys against everything of tenant B, over every route of the OpenAPI document: a new route
// is covered the day it is added (a route with no sample body below fails here until it gets one).

let t: TestHub;
let a: Awaited<ReturnType<typeof signUp>>;
let b: Awaited<ReturnType<typeof signUp>>;
const B = {
  stream: "b-private-stream",
  keyId: "",
  jid: "",
  endpointId: "",
  deliveryId: "",
  consentId: "",
  requestId: "",
  secrets: [] as string[],
};

// B's webhook endpoint points at this machine (nothing listens on port 9): allowed for the test.
Object.assign(process.env, { RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1", RELAIS_WEBHOOK_ALLOW_HTTP: "1" });

beforeAll(async () => {
  t = await startTestHub({ domains: ["iso.test"] });
  a = await signUp(t, "tenant-a");
  b = await signUp(t, "tenant-b");
  expect((await call(t, "POST", "/v1/streams", { key: b.admin, json: { id: B.stream } })).status).toBe(201);
  await call(t, "POST", `${streamPath(B.stream)}/items`, {
    key: b.admin,
    json: [{ n: "secret-b-record", v: 42, t: 1_700_000_000 }],
  });
  const key = await call(t, "POST", "/v1/keys", {
    key: b.admin,
    json: { name: "b-read-key", scope: "read" },
  });
  B.keyId = key.body.keyId;
  const acct = await call(t, "POST", "/v1/accounts", {
    key: b.admin,
    json: { username: "bob", password: "bob-password-1" },
  });
  expect(acct.status, acct.text).toBe(201);
  B.jid = acct.body.jid;
  // A has a stream of the same id as B's: the same name in two tenants is two streams.
  await call(t, "POST", "/v1/streams", { key: a.admin, json: { id: "shared-name" } });
  await call(t, "POST", "/v1/streams", { key: b.admin, json: { id: "shared-name" } });
  await call(t, "POST", `${streamPath("shared-name")}/items`, {
    key: b.admin,
    json: [{ n: "secret-b-shared", v: 1 }],
  });
  const hook = await call(t, "POST", "/v1/webhooks", {
    key: b.admin,
    json: { url: "http://127.0.0.1:9/b-secret-hook", description: "b-hook" },
  });
  expect(hook.status, hook.text).toBe(201);
  B.endpointId = hook.body.id;
  await call(t, "POST", `${streamPath(B.stream)}/items`, { key: b.admin, json: [{ n: "secret-b-2", v: 2 }] });
  for (let i = 0; i < 100 && !B.deliveryId; i++) {
    const log = await call(t, "GET", `/v1/webhooks/${B.endpointId}/deliveries`, { key: b.admin });
    B.deliveryId = log.body.deliveries?.[0]?.id ?? "";
    if (!B.deliveryId) await new Promise((r) => setTimeout(r, 100));
  }
  expect(B.deliveryId).not.toBe("");
  // A personal-data stream of B's bob, a consent asked of him, and a rectification he filed.
  await call(t, "PATCH", streamPath(B.stream), { key: b.admin, json: { dataSubject: B.jid } });
  const consent = await call(t, "POST", "/v1/consents", {
    key: b.admin,
    json: {
      subject: B.jid,
      recipient: { kind: "jid", id: "b-secret-recipient@elsewhere.example" },
      scope: { streams: [{ service: b.service, node: B.stream }] },
      purposes: [{ code: "ServiceProvision" }],
      retentionDays: 1,
      validDays: 1,
    },
  });
  expect(consent.status, consent.text).toBe(201);
  B.consentId = consent.body.consentId;
  const rights = await call(t, "POST", "/v1/me/requests", {
    headers: { authorization: `Basic ${Buffer.from(`${B.jid}:bob-password-1`).toString("base64")}` },
    json: { kind: "rectification", details: "b-secret-rectification" },
  });
  expect(rights.status, rights.text).toBe(201);
  B.requestId = rights.body.requestId;
  B.secrets = [
    b.tenantId,
    b.domain,
    B.stream,
    B.keyId,
    B.jid,
    B.endpointId,
    "secret-b",
    "b-read-key",
    "b-secret-hook",
    "b-hook",
    B.consentId,
    B.requestId,
    "b-secret-recipient",
    "b-secret-rectification",
  ];
});
afterAll(async () => {
  await t?.stop();
});

/** Valid bodies per route, so a refusal is about the tenant, not about a malformed request. */
const SAMPLE_BODIES: Record<string, unknown> = {
  "POST /streams": { id: "a-new-stream" },
  "PATCH /streams/{id}": { title: "taken over" },
  "POST /streams/{id}/items": [{ n: "x", v: 1 }],
  "POST /keys": { name: "k", scope: "read" },
  "POST /accounts": { username: "alice", password: "alice-password-1" },
  "PATCH /accounts/{jid}": { disabled: true },
  "POST /accounts/{jid}/password": { password: "stolen-password-1" },
  "POST /accounts/invitations": {},
  "POST /tenant/domain/verify": undefined,
  "POST /keys/{keyId}/rotate": undefined,
  "POST /webhooks": { url: "https://hooks.example.com/relais" },
  "PATCH /webhooks/{endpointId}": { description: "taken over" },
  "POST /webhooks/{endpointId}/rotate": undefined,
  "POST /webhook-deliveries/{deliveryId}/redeliver": undefined,
  "POST /consents": {
    subject: "alice@nowhere.example",
    recipient: { kind: "jid", id: "x@y.example" },
    scope: { streams: [{ service: "pubsub.nowhere.example", node: "x" }] },
    purposes: [{ code: "ServiceProvision" }],
    retentionDays: 1,
    validDays: 1,
  },
  "POST /consents/requests/{requestId}/done": undefined,
};

const bParams = (): Record<string, string> => ({
  id: B.stream,
  keyId: B.keyId,
  jid: B.jid,
  endpointId: B.endpointId,
  deliveryId: B.deliveryId,
  consentId: B.consentId,
  subject: B.jid,
  requestId: B.requestId,
});

describe("tenant isolation over every route", () => {
  it("A's admin key gets 403/404 on B's resources and never sees B's data", async () => {
    const doc = (await call(t, "GET", "/v1/openapi.json")).body as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[]; requestBody?: unknown }>>;
    };
    let checked = 0;
    let subjectRoutes = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.security) continue; // public routes (sign-up, invitation redemption) carry no tenant
        const route = `${method.toUpperCase()} ${path}`;
        if (op.security.some((s) => "basic" in s)) {
          // The data subject's door: an account's password, never an API key, reaches it.
          const answer = await call(t, method.toUpperCase(), `/v1${path.replace(/\{(\w+)\}/g, "x")}`, {
            key: a.admin,
            ...(op.requestBody !== undefined ? { json: {} } : {}),
          });
          expect(answer.status, `${route}: ${answer.text}`).toBe(401);
          subjectRoutes++;
          continue;
        }
        const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
        const url = `/v1${path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(bParams()[p] ?? "x"))}`;
        const body = op.requestBody !== undefined ? SAMPLE_BODIES[route] : undefined;
        if (op.requestBody !== undefined && !(route in SAMPLE_BODIES))
          throw new Error(`no sample body for ${route}`);
        const answer = await call(t, method.toUpperCase(), url, {
          key: a.admin,
          ...(body === undefined ? {} : { json: body }),
        });
        // What A itself put in the URL may be echoed back (a 404 names the missing id); nothing else of B.
        const sent = decodeURIComponent(url);
        for (const secret of B.secrets.filter((x) => !sent.includes(x)))
          expect(answer.text, `${route} leaks ${secret}`).not.toContain(secret);
        if (params.length > 0) expect([403, 404], `${route}: ${answer.text}`).toContain(answer.status);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
    expect(subjectRoutes).toBeGreaterThan(5);
    // B's resources are untouched.
    expect((await call(t, "GET", streamPath(B.stream), { key: b.admin })).body.title).toBe("");
    expect((await call(t, "GET", `/v1/keys/${B.keyId}`, { key: b.admin })).status).toBe(200);
    expect((await call(t, "GET", `/v1/accounts/${B.jid}`, { key: b.admin })).body.disabled).toBe(false);
    const shared = await call(t, "GET", `${streamPath("shared-name")}/items`, { key: a.admin });
    expect(shared.body.items).toEqual([]);
  });

  it("read keys read, and are refused every write with 403", async () => {
    const read = (await call(t, "POST", "/v1/keys", { key: a.admin, json: { name: "r", scope: "read" } }))
      .body.key;
    expect((await call(t, "GET", "/v1/streams", { key: read })).status).toBe(200);
    for (const [method, path, json] of [
      ["POST", "/v1/streams", { id: "nope" }],
      ["DELETE", streamPath("shared-name"), undefined],
      ["POST", `${streamPath("shared-name")}/items`, [{ n: "x", v: 1 }]],
      ["GET", "/v1/keys", undefined],
      ["GET", "/v1/accounts", undefined],
    ] as const) {
      const answer = await call(t, method, path, { key: read, ...(json ? { json } : {}) });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.type).toBe("urn:relais:problem:forbidden");
    }
  });

  it("a rotated key stops working at once, a revoked one too", async () => {
    const created = (
      await call(t, "POST", "/v1/keys", { key: a.admin, json: { name: "rot", scope: "admin" } })
    ).body;
    const rotated = await call(t, "POST", `/v1/keys/${created.keyId}/rotate`, { key: a.admin });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).not.toBe(created.key);
    expect((await call(t, "GET", "/v1/tenant", { key: created.key })).status).toBe(401);
    expect((await call(t, "GET", "/v1/tenant", { key: rotated.body.key })).status).toBe(200);
    const listed = await call(t, "GET", "/v1/keys", { key: a.admin });
    expect(listed.text).not.toContain(rotated.body.key.split("_")[2]);
    expect(listed.body.keys.map((k: { keyId: string }) => k.keyId)).toContain(created.keyId);
    expect((await call(t, "DELETE", `/v1/keys/${created.keyId}`, { key: a.admin })).status).toBe(204);
    expect((await call(t, "GET", "/v1/tenant", { key: rotated.body.key })).status).toBe(401);
  });
});
