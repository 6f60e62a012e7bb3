import { describe, expect, it } from "vitest";
import { type AuditEntry, GENESIS, nextEntry, signCheckpoint, verifyChain } from "../../shared/consent/chain";
import { tenantKey } from "../../shared/consent/keys";
import { makeReceipt, signReceipt, verifyReceipt } from "../../shared/consent/receipt";
import {
  type ConsentRequest,
  ConsentRuleError,
  consentRequestSchema,
  requestConsent,
  stateAt,
  transition,
} from "../../shared/consent/record";

const SECRET = Buffer.from("a test signing secret of more than thirty-two characters");
const key = tenantKey("tenant-a", SECRET);
const keys = new Map([[key.keyId, key.publicKey]]);
const T0 = new Date("2026-01-01T00:00:00Z");

const request: ConsentRequest = consentRequestSchema.parse({
  subject: "household@asso.test",
  recipient: { kind: "jid", id: "advisor@other.test" },
  scope: { streams: [{ service: "pubsub.asso.test", node: "meter" }], names: ["urn:dev:meter:power"] },
  purposes: [{ code: "ServiceOptimisation", text: "tariff advice" }],
  retentionDays: 30,
  validDays: 365,
});

describe("consent records", () => {
  it("goes requested → granted → withdrawn, with its history and validity", () => {
    const r0 = requestConsent("c1", "tenant-a", request, "advisor@other.test", "xmpp", T0);
    expect(r0.state).toBe("requested");
    expect(r0.legalBasis).toBe("Consent");
    const r1 = transition(r0, "granted", { by: "household@asso.test", via: "http", at: T0, validDays: 90 });
    expect(r1.validFrom).toBe("2026-01-01T00:00:00.000Z");
    expect(r1.validUntil).toBe("2026-04-01T00:00:00.000Z");
    const r2 = transition(r1, "withdrawn", {
      by: "household@asso.test",
      via: "xmpp",
      at: new Date("2026-02-01"),
    });
    expect(r2.history.map((h) => h.state)).toEqual(["requested", "granted", "withdrawn"]);
    expect(() => transition(r2, "granted", { by: "x", via: "http", at: T0 })).toThrow(
      /withdrawn cannot become granted/,
    );
  });

  it("caps validity at the deployment's maximum, and a grant cannot lengthen what was asked", () => {
    expect(() => requestConsent("c", "t", { ...request, validDays: 2000 }, "x", "http", T0)).toThrow(
      ConsentRuleError,
    );
    expect(() => requestConsent("c", "t", { ...request, validDays: 2000 }, "x", "http", T0)).toThrow(
      /at most 1095 days/,
    );
    const r0 = requestConsent("c", "t", request, "x", "http", T0);
    expect(() => transition(r0, "granted", { by: "s", via: "http", at: T0, validDays: 400 })).toThrow(
      /not lengthen/,
    );
  });

  it("is expired once past its validity, even before it was written so", () => {
    const r = transition(requestConsent("c", "t", request, "x", "http", T0), "granted", {
      by: "s",
      via: "http",
      at: T0,
    });
    expect(stateAt(r, new Date("2026-06-01"))).toBe("granted");
    expect(stateAt(r, new Date("2027-01-01T00:00:00Z"))).toBe("expired");
    expect(() => transition(r, "withdrawn", { by: "s", via: "http", at: new Date("2027-02-01") })).toThrow(
      /expired/,
    );
  });

  it("refuses an unknown purpose or legal basis, naming the field", () => {
    const bad = consentRequestSchema.safeParse({ ...request, purposes: [{ code: "Selling" }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["purposes", 0, "code"]);
  });
});

function chainOf(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      nextEntry(
        out.at(-1),
        "tenant-a/household@asso.test",
        "delivery",
        { item: `i${i}`, to: ["a", "b"] },
        T0,
      ),
    );
  }
  return out;
}

describe("the audit hash chain", () => {
  it("links each entry to the one before, from the genesis hash", () => {
    const c = chainOf(3);
    expect(c[0]?.prev).toBe(GENESIS);
    expect(c[1]?.prev).toBe(c[0]?.hash);
    expect(verifyChain(c, [], keys)).toEqual({ ok: true, length: 3, checkpointsChecked: 0 });
  });

  it("names the first altered entry", () => {
    const c = chainOf(5);
    const altered = c.map((e) => (e.seq === 3 ? { ...e, data: { item: "i2", to: ["a"] } } : e));
    const verdict = verifyChain(altered, [], keys);
    expect(verdict).toMatchObject({ ok: false, seq: 3 });
    expect(JSON.stringify(verdict)).toMatch(/entry 3 was altered/);
  });

  it("finds an entry removed from the middle, and a re-hashed forgery breaking the next link", () => {
    const c = chainOf(5);
    expect(
      verifyChain(
        c.filter((e) => e.seq !== 2),
        [],
        keys,
      ),
    ).toMatchObject({ ok: false, seq: 2 });
    const forged = nextEntry(c[1], c[0]?.chain ?? "", "delivery", { item: "forged" }, T0);
    const rewritten = c.map((e) => (e.seq === 3 ? forged : e));
    expect(verifyChain(rewritten, [], keys)).toMatchObject({ ok: false, seq: 4 });
  });

  it("detects a cut-off tail with a signed checkpoint, and a forged checkpoint", () => {
    const c = chainOf(6);
    const cp = signCheckpoint(c[5] as AuditEntry, key, T0);
    expect(verifyChain(c, [cp], keys)).toMatchObject({ ok: true, checkpointsChecked: 1 });
    const cut = verifyChain(c.slice(0, 4), [cp], keys);
    expect(cut).toMatchObject({ ok: false, seq: 5 });
    expect(JSON.stringify(cut)).toMatch(/tail was cut off/);
    expect(verifyChain(c, [{ ...cp, seq: 5, hash: c[4]?.hash ?? "" }], keys)).toMatchObject({
      ok: false,
      seq: 5,
    });
    const otherKey = tenantKey("tenant-b", SECRET);
    expect(verifyChain(c, [signCheckpoint(c[5] as AuditEntry, otherKey, T0)], keys)).toMatchObject({
      ok: false,
    });
  });
});

describe("consent receipts", () => {
  const granted = transition(
    requestConsent("c9", "tenant-a", request, "advisor@other.test", "xmpp", T0),
    "granted",
    {
      by: "household@asso.test",
      via: "http",
      at: T0,
    },
  );
  const signed = signReceipt(
    makeReceipt(granted, "granted", "asso.test", { chain: "x", seq: 1, hash: GENESIS }, T0, "r1"),
    key,
  );

  it("verifies, with the tenant's keys", () => {
    expect(verifyReceipt(signed, keys)).toEqual({ ok: true });
    expect(signed.receipt.purposes[0]?.purposeCategory).toBe("https://w3id.org/dpv#ServiceOptimisation");
  });

  it("detects any altered byte of the receipt or of its signature", () => {
    const text = JSON.stringify(signed);
    const base = JSON.parse(text) as typeof signed;
    // One character changed at each of many positions inside the receipt's values.
    const tampered = { ...base, receipt: { ...base.receipt, validUntil: "2027-01-01T00:00:00.001Z" } };
    expect(verifyReceipt(tampered, keys)).toMatchObject({ ok: false });
    const sig = base.signature.value;
    const flipped = `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    expect(verifyReceipt({ ...base, signature: { ...base.signature, value: flipped } }, keys)).toMatchObject({
      ok: false,
    });
    const otherKey = tenantKey("tenant-b", SECRET);
    expect(verifyReceipt(signReceipt(base.receipt, otherKey), keys)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not one of the tenant's keys/),
    });
  });
});
