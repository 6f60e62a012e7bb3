import { describe, expect, it } from "vitest";
import { fieldErrors, problemOf } from "../../shared/http/problem";
import { quotasFromStored, secondsUntilNextUtcDay, utcDay } from "../../shared/tenants/quotas";
import { DOMAIN_PATTERN, slugFrom, slugProblem } from "../../shared/tenants/slug";

// The pure parts of the tenant API: no hub.

describe("slugs and domains", () => {
  it("makes DNS labels of names, or none", () => {
    expect(slugFrom("Énergie Citoyenne du Val")).toBe("energie-citoyenne-du-val");
    expect(slugFrom("  --Coop 42!! ")).toBe("coop-42");
    expect(slugFrom("é")).toBeUndefined();
    expect(slugFrom("a".repeat(60))).toHaveLength(40);
    expect(slugProblem("pubsub")).toMatch(/reserved/);
    expect(slugProblem("-bad")).toBeDefined();
    expect(slugProblem("good-one")).toBeUndefined();
  });
  it("accepts domain names only", () => {
    expect(DOMAIN_PATTERN.test("asso.example")).toBe(true);
    expect(DOMAIN_PATTERN.test("a.b.example")).toBe(true);
    expect(DOMAIN_PATTERN.test("localhost")).toBe(false);
    expect(DOMAIN_PATTERN.test("-x.example")).toBe(false);
    expect(DOMAIN_PATTERN.test("x..example")).toBe(false);
  });
});

describe("quotas", () => {
  it("reads stored overrides, defaulting what is missing or malformed", () => {
    expect(quotasFromStored({ streams: 3, accounts: -1, ingestPerDay: "9" })).toEqual({
      accounts: 100,
      streams: 3,
      ingestPerDay: 100_000,
      webhookEndpoints: 10,
    });
  });
  it("counts days in UTC and retries at the next UTC midnight", () => {
    const t = Date.UTC(2026, 10, 27, 23, 59, 30, 500);
    expect(utcDay(t)).toBe("2026-11-27");
    expect(secondsUntilNextUtcDay(t)).toBe(30);
    expect(secondsUntilNextUtcDay(Date.UTC(2026, 10, 28))).toBe(24 * 3600);
  });
});

describe("problems", () => {
  it("names fields by their path, and leaves out what is empty", () => {
    expect(fieldErrors([{ path: ["records", 3, "u"], message: "bad unit" }], "body")).toEqual([
      { field: "records.3.u", reason: "bad unit", in: "body" },
    ]);
    expect(fieldErrors([{ path: [], message: "expected array" }])).toEqual([
      { field: "(root)", reason: "expected array" },
    ]);
    expect(problemOf("rate-limited")).toEqual({
      type: "urn:relais:problem:rate-limited",
      title: "The tenant's daily limit is reached",
      status: 429,
    });
  });
});
