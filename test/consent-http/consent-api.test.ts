import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yauzl from "yauzl";
import { verifyReceipt } from "../../shared/consent/receipt";
import { getAccount } from "../../shared/directory/accounts";
import { latestItems } from "../../shared/pubsub/store";
import { parsePack } from "../../shared/senml";
import { call, expectProblem, signUp, streamPath } from "../api/api-client";
import { startTestHub, type TestHub } from "../support/hub";
import {
  basic,
  ingest,
  me,
  ndjson,
  type Person,
  person,
  personalStream,
  requestConsent,
  type Tenant,
} from "./helpers";

// The consent store's HTTP doors without XMPP: the tenant's admin asks, the data subject decides with
// their own account's password, receipts verify with the tenant's published key, the audit chain
// verifies, the export holds exactly the subject's data, rectification and erasure are carried out,
// and neither another tenant nor another subject reaches any of it.

let t: TestHub;
let a: Tenant;
let b: Tenant;
let alice: Person;
let zoe: Person;
let bobOfB: Person;
const ALICE_STREAM = "alice-meter";
const ZOE_STREAM = "zoe-meter";
const pack = (stream: string, v: number, n = "power") => [{ bn: `${stream}/`, n, u: "W", v }];

beforeAll(async () => {
  t = await startTestHub({ domains: ["consent.test"] });
  a = await signUp(t, "coop-a");
  b = await signUp(t, "coop-b");
  alice = await person(t, a, "alice");
  zoe = await person(t, a, "zoe");
  bobOfB = await person(t, b, "bob");
  await personalStream(t, a, ALICE_STREAM, alice);
  await personalStream(t, a, ZOE_STREAM, zoe);
});
afterAll(async () => {
  await t?.stop();
});

describe("streams carry their data subject", () => {
  it("is set on declare and configure, shown on get and list, and must be an account of the tenant", async () => {
    const got = await call(t, "GET", streamPath(ALICE_STREAM), { key: a.admin });
    expect(got.body.dataSubject).toBe(alice.jid);
    const listed = await call(t, "GET", "/v1/streams", { key: a.admin });
    const byId = Object.fromEntries(listed.body.streams.map((s: { id: string }) => [s.id, s]));
    expect(byId[ZOE_STREAM].dataSubject).toBe(zoe.jid);

    const foreign = await call(t, "POST", "/v1/streams", {
      key: a.admin,
      json: { id: "not-mine", dataSubject: bobOfB.jid },
    });
    expectProblem(foreign, 400, "validation");
    expect(foreign.body.errors[0].field).toBe("dataSubject");

    await call(t, "POST", "/v1/streams", { key: a.admin, json: { id: "plain" } });
    const set = await call(t, "PATCH", streamPath("plain"), { key: a.admin, json: { dataSubject: zoe.jid } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.dataSubject).toBe(zoe.jid);
    const cleared = await call(t, "PATCH", streamPath("plain"), {
      key: a.admin,
      json: { dataSubject: null },
    });
    expect(cleared.body.dataSubject).toBeUndefined();
  });
});

describe("requesting a consent", () => {
  it("refuses a subject, a stream or a recipient that is not the tenant's, naming the field", async () => {
    const bad = await call(t, "POST", "/v1/consents", {
      key: a.admin,
      json: {
        subject: alice.jid,
        recipient: { kind: "webhook", id: "no-such-endpoint" },
        scope: {
          streams: [
            { service: a.service, node: ZOE_STREAM },
            { service: a.service, node: "plain" },
            { service: b.service, node: ALICE_STREAM },
          ],
        },
        purposes: [{ code: "ServiceProvision" }],
        retentionDays: 1,
        validDays: 1,
      },
    });
    expectProblem(bad, 422, "consent-scope");
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      "recipient.id",
      "scope.streams.0.node",
      "scope.streams.1.node",
      "scope.streams.2.service",
    ]);
    const otherSubject = await call(t, "POST", "/v1/consents", {
      key: a.admin,
      json: {
        subject: bobOfB.jid,
        recipient: { kind: "jid", id: "x@y.example" },
        scope: { streams: [{ service: a.service, node: ALICE_STREAM }] },
        purposes: [{ code: "ServiceProvision" }],
        retentionDays: 1,
        validDays: 1,
      },
    });
    expectProblem(otherSubject, 422, "consent-scope");
    expect(otherSubject.body.errors.map((e: { field: string }) => e.field)).toContain("subject");
    const tooLong = await call(t, "POST", "/v1/consents", {
      key: a.admin,
      json: {
        subject: alice.jid,
        recipient: { kind: "domain", id: "energy-advisor.example" },
        scope: { streams: [{ service: a.service, node: ALICE_STREAM }] },
        purposes: [{ code: "ServiceProvision" }],
        retentionDays: 1,
        validDays: 4000,
      },
    });
    expectProblem(tooLong, 400, "validation");
    expect(tooLong.body.errors[0].field).toBe("validDays");
  });
});

describe("the data subject's door", () => {
  it("refuses wrong, unknown and missing Basic credentials with 401 problem+json", async () => {
    for (const header of [
      basic({ jid: alice.jid, password: "not-her-password" }),
      basic({ jid: `nobody@${a.domain}`, password: "whatever-password" }),
      `Bearer ${a.admin}`,
      undefined,
    ]) {
      const r = await call(t, "GET", "/v1/me/consents", header ? { headers: { authorization: header } } : {});
      expectProblem(r, 401, "subject-unauthorized");
      expect(r.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(r.body.errors[0].field).toBe("Authorization");
    }
    // The failure was counted on the account, as a failed XMPP login is; a right password resets it.
    expect((await me(t, alice, "GET", "/consents")).status).toBe(200);
  });

  it("locks the account after five wrong passwords, as XMPP logins do: then even the right one gets 403", async () => {
    const target = await person(t, a, "target");
    expect((await me(t, target, "GET", "/consents")).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expectProblem(
        await me(t, { jid: target.jid, password: `guess-${i}-password` }, "GET", "/consents"),
        401,
        "subject-unauthorized",
      );
    }
    const locked = await me(t, target, "GET", "/consents");
    expectProblem(locked, 403, "account-locked");
    expect(locked.body.errors[0].reason).toMatch(/locked/);
    // It is the account's own lock, the one XMPP logins check too.
    expect((await getAccount(target.jid))?.lockedUntil).toBeGreaterThan(Date.now());
  });

  it("grants, with a receipt signed by the tenant's published key; a refused one cannot be granted", async () => {
    const id = await requestConsent(t, a, alice, { kind: "jid", id: "advisor@energy.example" }, [
      ALICE_STREAM,
    ]);
    const listed = await me(t, alice, "GET", "/consents");
    expect(listed.body.consents.map((c: { consentId: string }) => c.consentId)).toContain(id);
    const mine = listed.body.consents.find((c: { consentId: string }) => c.consentId === id);
    expect(mine).toMatchObject({
      state: "requested",
      recipient: { kind: "jid", id: "advisor@energy.example" },
      purposes: [{ code: "ServiceOptimisation", iri: "https://w3id.org/dpv#ServiceOptimisation" }],
      scope: { streams: [{ service: a.service, node: ALICE_STREAM }] },
    });

    expectProblem(await me(t, alice, "POST", `/consents/${id}/grant`, { validDays: 400 }), 400, "validation");
    const granted = await me(t, alice, "POST", `/consents/${id}/grant`, { validDays: 30 });
    expect(granted.status, granted.text).toBe(200);
    expect(granted.body.consent.state).toBe("granted");
    const days = (Date.parse(granted.body.consent.validUntil) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const keys = await call(t, "GET", "/v1/tenant/keys", { key: a.admin });
    const trusted = new Map<string, string>(
      keys.body.keys.map((k: { keyId: string; publicKey: string }) => [k.keyId, k.publicKey]),
    );
    expect(granted.body.receipt.receipt).toMatchObject({
      event: "granted",
      piiPrincipalId: alice.jid,
      consentId: id,
    });
    expect(verifyReceipt(granted.body.receipt, trusted)).toEqual({ ok: true });
    // B's key is not A's: a receipt of A does not pass as B's.
    const bKeys = await call(t, "GET", "/v1/tenant/keys", { key: b.admin });
    expect(bKeys.body.keys[0].keyId).not.toBe(keys.body.keys[0].keyId);
    expect(
      verifyReceipt(granted.body.receipt, new Map([[bKeys.body.keys[0].keyId, bKeys.body.keys[0].publicKey]]))
        .ok,
    ).toBe(false);

    const other = await requestConsent(t, a, alice, { kind: "domain", id: "research.example" }, [
      ALICE_STREAM,
    ]);
    const refused = await me(t, alice, "POST", `/consents/${other}/refuse`);
    expect(refused.status, refused.text).toBe(200);
    expect(refused.body.receipt.receipt.event).toBe("refused");
    expectProblem(await me(t, alice, "POST", `/consents/${other}/grant`), 409, "consent-state");

    const receipts = await me(t, alice, "GET", "/receipts");
    expect(
      receipts.body.receipts.map((r: { receipt: { consentId: string } }) => r.receipt.consentId).sort(),
    ).toEqual([id, other].sort());
    // The tenant sees the same record, with its receipts.
    const one = await call(t, "GET", `/v1/consents/${id}`, { key: a.admin });
    expect(one.body.consent.state).toBe("granted");
    expect(one.body.receipts).toHaveLength(1);
  });

  it("does not let one subject decide on another's consent, nor another tenant see it (404)", async () => {
    const id = await requestConsent(t, a, zoe, { kind: "jid", id: "advisor@energy.example" }, [ZOE_STREAM]);
    expectProblem(await me(t, alice, "POST", `/consents/${id}/grant`), 404, "not-found");
    expectProblem(await me(t, bobOfB, "POST", `/consents/${id}/withdraw`), 404, "not-found");
    for (const path of [
      `/v1/consents/${id}`,
      `/v1/consents/subjects/${zoe.jid}`,
      `/v1/consents/subjects/${zoe.jid}/audit`,
    ]) {
      const r = await call(t, "GET", path, { key: b.admin });
      expectProblem(r, 404, "not-found");
      expect(r.text).not.toContain("advisor@energy.example");
    }
    expect(
      (await call(t, "GET", `/v1/consents/subjects/${zoe.jid}`, { key: a.admin })).body.consents,
    ).toHaveLength(1);
  });

  it("shows the tenant the subject's audit chain, verified with the tenant's key", async () => {
    const r = await call(t, "GET", `/v1/consents/subjects/${alice.jid}/audit`, { key: a.admin });
    expect(r.status, r.text).toBe(200);
    expect(r.body.verdict).toMatchObject({ ok: true });
    expect(r.body.verdict.length).toBe(r.body.entries.length);
    expect(r.body.entries.map((e: { kind: string }) => e.kind)).toEqual([
      "consent.requested",
      "consent.granted",
      "consent.requested",
      "consent.refused",
    ]);
  });

  it("exports exactly the subject's data as streamed ndjson: totals first, end last", async () => {
    const aliceItems = [
      await ingest(t, a, ALICE_STREAM, pack(ALICE_STREAM, 1111)),
      await ingest(t, a, ALICE_STREAM, pack(ALICE_STREAM, 2222, "energy")),
    ];
    const zoeItem = await ingest(t, a, ZOE_STREAM, pack(ZOE_STREAM, 9999));
    const res = await fetch(`${t.httpUrl}/v1/me/export`, { headers: { authorization: basic(alice) } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get("content-length")).toBeNull(); // streamed (chunked), not built whole
    const text = await res.text();
    const lines = ndjson(text);
    const first = lines[0] as { type: string; subject: string; total: Record<string, number> };
    expect(first).toMatchObject({ type: "export", subject: alice.jid });
    expect(first.total).toMatchObject({ streams: 1, items: 2, consents: 2 });
    const items = lines.filter((l) => l.type === "item");
    expect(items.map((i) => i.itemId).sort()).toEqual([...aliceItems].sort());
    expect(items.flatMap((i) => i.senml as { n: string; v: number }[])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ n: `${ALICE_STREAM}/power`, v: 1111 }),
        expect.objectContaining({ n: `${ALICE_STREAM}/energy`, v: 2222 }),
      ]),
    );
    expect(lines.filter((l) => l.type === "consent")).toHaveLength(2);
    expect(lines.filter((l) => l.type === "audit").length).toBe(first.total.auditEntries);
    const end = lines.at(-1) as { type: string; counts: Record<string, number> };
    expect(end.type).toBe("end");
    expect(end.counts).toMatchObject({ streams: 1, items: 2, consents: 2, receipts: 2 });
    for (const foreign of [zoe.jid, zoeItem, ZOE_STREAM, "9999"]) expect(text).not.toContain(foreign);
  });

  it("exports the same as a ZIP archive: a SenML pack per stream, consents, the chain", async () => {
    const res = await fetch(`${t.httpUrl}/v1/me/export?format=zip`, {
      headers: { authorization: basic(alice) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-length")).toBeNull(); // streamed
    const files = await unzip(Buffer.from(await res.arrayBuffer()));
    expect([...files.keys()].sort()).toEqual([
      "audit.ndjson",
      "consents.json",
      "export.json",
      "streams/1/items.senml.json",
      "streams/1/stream.json",
      "summary.json",
    ]);
    // The stream's items: one valid SenML JSON pack, resolved (every record names itself).
    const text = files.get("streams/1/items.senml.json") ?? "";
    const pack = JSON.parse(text) as { n: string; v: number }[];
    const parsed = parsePack(text, "json", { now: Date.now() / 1000 });
    expect(parsed.ok).toBe(true);
    expect(pack).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ n: `${ALICE_STREAM}/power`, v: 1111 }),
        expect.objectContaining({ n: `${ALICE_STREAM}/energy`, v: 2222 }),
      ]),
    );
    expect(JSON.parse(files.get("consents.json") ?? "[]")).toHaveLength(2);
    const summary = JSON.parse(files.get("summary.json") ?? "{}") as { counts: Record<string, number> };
    expect(summary.counts).toMatchObject({ streams: 1, items: 2, consents: 2 });
    const audit = (files.get("audit.ndjson") ?? "").trim().split("\n");
    expect(audit.filter((l) => l.includes('"type":"audit"')).length).toBe(summary.counts.auditEntries);
    for (const f of files.values())
      for (const foreign of [zoe.jid, ZOE_STREAM, "9999"]) expect(f).not.toContain(foreign);
  });

  it("records a rectification for the admin, who marks it done; both logged on the chain", async () => {
    const filed = await me(t, alice, "POST", "/requests", {
      kind: "rectification",
      details: "the meter reading of 3 March is someone else's",
    });
    expect(filed.status, filed.text).toBe(201);
    expect(filed.body).toMatchObject({ kind: "rectification", state: "open", subject: alice.jid });
    const open = await call(t, "GET", "/v1/consents/requests?state=open", { key: a.admin });
    expect(open.body.requests.map((r: { requestId: string }) => r.requestId)).toContain(filed.body.requestId);
    expect((await call(t, "GET", "/v1/consents/requests", { key: b.admin })).body.requests).toEqual([]);
    expectProblem(
      await call(t, "POST", `/v1/consents/requests/${filed.body.requestId}/done`, { key: b.admin }),
      404,
      "not-found",
    );
    const done = await call(t, "POST", `/v1/consents/requests/${filed.body.requestId}/done`, {
      key: a.admin,
      json: { note: "reading corrected" },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ state: "done", outcome: { note: "reading corrected" } });
    expect(done.body.doneBy).toMatch(/^tenant-admin:/);
    expectProblem(
      await call(t, "POST", `/v1/consents/requests/${filed.body.requestId}/done`, { key: a.admin }),
      409,
      "conflict",
    );
    expect((await me(t, alice, "GET", "/requests")).body.requests[0].state).toBe("done");
    const chain = await call(t, "GET", `/v1/consents/subjects/${alice.jid}/audit`, { key: a.admin });
    expect(chain.body.verdict.ok).toBe(true);
    expect(chain.body.entries.map((e: { kind: string }) => e.kind).slice(-2)).toEqual([
      "rights.rectification.requested",
      "rights.rectification.done",
    ]);
  });

  it("carries out an erasure at once: the subject's items deleted, active consents withdrawn with receipts", async () => {
    const granted = await requestConsent(t, a, zoe, { kind: "domain", id: "research.example" }, [ZOE_STREAM]);
    expect((await me(t, zoe, "POST", `/consents/${granted}/grant`)).status).toBe(200);
    await ingest(t, a, ZOE_STREAM, pack(ZOE_STREAM, 7));
    // The tenant's own keys read personal data only under a consent either: checked on the store.
    expectProblem(
      await call(t, "GET", `${streamPath(ALICE_STREAM)}/items`, { key: a.admin }),
      403,
      "consent-required",
    );
    const aliceBefore = await latestItems(a.service, ALICE_STREAM);
    expect(aliceBefore.length).toBeGreaterThan(0);

    const erased = await me(t, zoe, "POST", "/requests", { kind: "erasure", details: "forget me" });
    expect(erased.status, erased.text).toBe(201);
    expect(erased.body.state).toBe("done");
    expect(erased.body.outcome.itemsDeleted).toBe(2);
    expect(erased.body.outcome.consentsWithdrawn).toHaveLength(2); // the granted one and the requested one
    expect(await latestItems(a.service, ZOE_STREAM)).toEqual([]);
    const consents = (await me(t, zoe, "GET", "/consents")).body.consents;
    expect(consents.every((c: { state: string }) => c.state === "withdrawn")).toBe(true);
    const receipts = (await me(t, zoe, "GET", "/receipts")).body.receipts;
    expect(
      receipts.filter((r: { receipt: { event: string } }) => r.receipt.event === "withdrawn"),
    ).toHaveLength(2);
    // Another subject's data is not touched.
    expect(await latestItems(a.service, ALICE_STREAM)).toEqual(aliceBefore);
    const exported = ndjson(
      await (await fetch(`${t.httpUrl}/v1/me/export`, { headers: { authorization: basic(zoe) } })).text(),
    );
    expect(exported.filter((l) => l.type === "item")).toEqual([]);
  });
});

/** The files of a ZIP archive, read with yauzl (the reading half of the library that wrote it). */
function unzip(bytes: Buffer): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const files = new Map<string, string>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, async (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          files.set(entry.fileName, Buffer.concat(chunks).toString("utf8"));
          zip.readEntry();
        });
      });
      zip.on("end", () => resolve(files));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

describe("reading personal data over HTTP", () => {
  it("needs a consent for the API key (an application recipient), and answers only its names", async () => {
    const key = await call(t, "POST", "/v1/keys", {
      key: a.admin,
      json: { name: "dashboard", scope: "read" },
    });
    expect(key.status, key.text).toBe(201);
    await ingest(t, a, ALICE_STREAM, [
      { bn: `${ALICE_STREAM}/`, n: "power", u: "W", v: 1500 },
      { n: "energy", u: "Wh", v: 86_000 },
    ]);
    expectProblem(
      await call(t, "GET", `${streamPath(ALICE_STREAM)}/items`, { key: key.body.key }),
      403,
      "consent-required",
    );
    const id = await requestConsent(
      t,
      a,
      alice,
      { kind: "application", id: key.body.keyId },
      [ALICE_STREAM],
      {
        scope: { streams: [{ service: a.service, node: ALICE_STREAM }], names: [`${ALICE_STREAM}/energy`] },
      },
    );
    expect((await me(t, alice, "POST", `/consents/${id}/grant`)).status).toBe(200);
    const read = await call(t, "GET", `${streamPath(ALICE_STREAM)}/items`, { key: key.body.key });
    expect(read.status, read.text).toBe(200);
    const names = read.body.items.flatMap((i: { records: { n: string }[] }) => i.records.map((r) => r.n));
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names)).toEqual(new Set([`${ALICE_STREAM}/energy`]));
    // The admin key has no consent of its own: still refused.
    expectProblem(
      await call(t, "GET", `${streamPath(ALICE_STREAM)}/items`, { key: a.admin }),
      403,
      "consent-required",
    );
  });
});
