import { describe, expect, it } from "vitest";
import { type AuditEntry, type Json, nextEntry } from "../../shared/consent/chain";
import { deliveryCounts } from "../../shared/consent/delivery-log";
import { parseBasic } from "../../shared/http/v1/subject-auth";

const delivery = (prev: AuditEntry | undefined, at: string, decisions: Json[]): AuditEntry =>
  nextEntry(prev, "t/alice@x", "delivery", { stream: "s/n", itemId: "i", at, decisions }, new Date(at));

describe("the subject's delivery log", () => {
  it("counts delivered (refused === null) and refused decisions per bare recipient per UTC day", () => {
    const e1 = delivery(undefined, "2026-03-01T23:59:00.000Z", [
      { to: "bob@x/phone", consentId: "c1", refused: null },
      { to: "carol@x", consentId: null, refused: "no consent" },
    ]);
    const other = nextEntry(e1, "t/alice@x", "consent.withdrawn", { consentId: "c1" }, new Date());
    const e2 = delivery(other, "2026-03-02T00:00:01.000Z", [
      { to: "bob@x/laptop", consentId: "c1", refused: null },
      { to: "bob@x/phone", consentId: "c1", refused: null },
    ]);
    const e3 = delivery(e2, "2026-03-01T10:00:00.000Z", [
      { to: "bob@x", consentId: null, refused: "consent expired" },
    ]);
    expect(deliveryCounts([e1, other, e2, e3])).toEqual([
      { day: "2026-03-01", recipient: "bob@x", delivered: 1, refused: 1 },
      { day: "2026-03-01", recipient: "carol@x", delivered: 0, refused: 1 },
      { day: "2026-03-02", recipient: "bob@x", delivered: 2, refused: 0 },
    ]);
  });

  it("ignores entries that are not deliveries and decisions it cannot read", () => {
    const odd = nextEntry(
      undefined,
      "c",
      "delivery",
      { at: "2026-01-01T00:00:00Z", decisions: [1, { refused: null }] },
      new Date(),
    );
    expect(deliveryCounts([odd])).toEqual([]);
  });
});

describe("HTTP Basic credentials of the subject's door", () => {
  const header = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
  it("reads jid:password, the password keeping any colon, the JID in lowercase", () => {
    expect(parseBasic(header("Alice@Coop.Example:pa:ss word"))).toEqual({
      jid: "alice@coop.example",
      password: "pa:ss word",
    });
  });
  it("refuses what is not a JID and a password", () => {
    for (const bad of [
      undefined,
      "",
      "Bearer abc",
      header("alice"),
      header(":pw"),
      header("alice:pw"),
      header("a@b:"),
    ]) {
      expect(parseBasic(bad)).toBeUndefined();
    }
  });
});
