import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../support/hub";
import { call, expectProblem, signUp, streamPath } from "./api-client";

// Every way a request can be wrong gets a precise RFC 9457 problem: which field, where, why.

let t: TestHub;
let admin: string;
beforeAll(async () => {
  t = await startTestHub({ domains: ["errors.test"] });
  admin = (await signUp(t, "errs")).admin;
  const s = await call(t, "POST", "/v1/streams", { key: admin, json: { id: "meter", units: ["W", "Wh"] } });
  expect(s.status, s.text).toBe(201);
});
afterAll(async () => {
  await t?.stop();
});

const items = `${streamPath("meter")}/items`;

describe("problem+json answers", () => {
  it("bad JSON, on a JSON route and on ingest", async () => {
    const a = await call(t, "POST", "/v1/streams", { key: admin, body: '{"id": ', type: "application/json" });
    expectProblem(a, 400, "bad-json");
    expect(a.body.errors[0]).toMatchObject({ field: "(body)", in: "body" });
    const b = await call(t, "POST", items, { key: admin, body: "[{", type: "application/senml+json" });
    expectProblem(b, 400, "bad-json");
  });

  it("a schema violation names each field", async () => {
    const a = await call(t, "POST", "/v1/signup", {
      json: { name: "", contactEmail: "not-an-email", slug: "A!" },
    });
    expectProblem(a, 400, "validation");
    const fields = (a.body.errors as { field: string; in: string }[]).map((e) => `${e.in}:${e.field}`).sort();
    expect(fields).toEqual(["body:contactEmail", "body:name", "body:slug"]);
    const reserved = await call(t, "POST", "/v1/signup", {
      json: { name: "x", contactEmail: "a@b.example", slug: "pubsub" },
    });
    expectProblem(reserved, 400, "validation");
    expect(reserved.body.errors).toEqual([
      { field: "slug", reason: expect.stringMatching(/reserved/), in: "body" },
    ]);
    const b = await call(t, "PATCH", streamPath("meter"), { key: admin, json: { maxItems: 0 } });
    expectProblem(b, 400, "validation");
    expect(b.body.errors[0]).toMatchObject({ field: "maxItems", in: "body" });
    const q = await call(t, "GET", `${items}?limit=5000`, { key: admin });
    expectProblem(q, 400, "validation");
    expect(q.body.errors[0]).toMatchObject({ field: "limit", in: "query" });
  });

  it("bad SenML names the record index and the field", async () => {
    const pack = [
      { n: "meter", t: 1_700_000_000, v: 1, u: "W" },
      { n: "meter", t: 1_700_000_001, v: 2, u: "kwh" },
    ];
    const a = await call(t, "POST", items, { key: admin, json: pack, type: "application/senml+json" });
    expectProblem(a, 422, "invalid-senml");
    expect(a.body.errors).toEqual([expect.objectContaining({ field: "1.u", in: "body" })]);
    expect(a.body.errors[0].reason).toMatch(/kwh/);
    // A valid pack whose unit the stream does not carry: the same path as an XMPP publish refuses it.
    const b = await call(t, "POST", items, { key: admin, json: [{ n: "meter", v: 1, u: "A" }] });
    expectProblem(b, 422, "invalid-senml");
    expect(b.body.errors).toEqual([expect.objectContaining({ field: "0.u" })]);
    const c = await call(t, "POST", items, {
      key: admin,
      body: '<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml n="meter" v="x"/></sensml>',
      type: "application/senml+xml",
    });
    expectProblem(c, 422, "invalid-senml");
    expect(c.body.errors[0].field).toBe("0.v");
  });

  it("a wrong content type is a 415 naming the header", async () => {
    const a = await call(t, "POST", items, { key: admin, body: "1,2,3", type: "text/csv" });
    expectProblem(a, 415, "unsupported-media-type");
    expect(a.body.errors[0]).toMatchObject({ field: "Content-Type", in: "header" });
    const b = await call(t, "POST", "/v1/streams", {
      key: admin,
      body: "id=x",
      type: "application/x-www-form-urlencoded",
    });
    expectProblem(b, 415, "unsupported-media-type");
  });

  it("an oversized body is a 413 before it is parsed", async () => {
    const big = JSON.stringify(
      Array.from({ length: 6000 }, (_, i) => ({ n: "meter", v: i, u: "W", t: 1_700_000_000 + i })),
    );
    expect(big.length).toBeGreaterThan(256 * 1024);
    const a = await call(t, "POST", items, { key: admin, body: big, type: "application/senml+json" });
    expectProblem(a, 413, "payload-too-large");
  });

  it("unknown routes, missing and unknown keys", async () => {
    expectProblem(await call(t, "GET", "/v1/nothing-here"), 404, "not-found");
    expectProblem(await call(t, "GET", "/v1/streams"), 401, "unauthorized");
    const bad = await call(t, "GET", "/v1/streams", {
      key: "rls_aaaaaaaaaaaaaaaa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    });
    expectProblem(bad, 401, "unauthorized");
    expect(bad.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expectProblem(await call(t, "GET", streamPath("nope"), { key: admin }), 404, "not-found");
  });

  it("the OpenAPI document lists every route of the app, and the reference page serves it", async () => {
    const doc = await call(t, "GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    const listed = new Set<string>();
    for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(ops)) listed.add(`${method.toUpperCase()} /v1${path}`);
    // Every route the app answers, from Hono's own route table (the document must not miss one).
    const { app } = await import("../../functions/http-api/handler");
    const served = new Set(
      app.routes
        .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`)
        .filter((r) => !r.endsWith("/openapi.json") && !r.endsWith("/docs")),
    );
    expect(served.size).toBeGreaterThan(15);
    expect([...served].filter((r) => !listed.has(r))).toEqual([]);
    expect([...listed].filter((r) => !served.has(r))).toEqual([]);
    const page = await fetch(`${t.httpUrl}/v1/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/v1/openapi.json");
  });
});
