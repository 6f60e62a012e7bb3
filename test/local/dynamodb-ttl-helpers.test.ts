import { describe, expect, it } from "vitest";
import { epochSeconds, isExpired, withoutExpired } from "../../shared/storage/ttl";

interface Session {
  connectionId: string;
  expiresAt?: number;
}

describe("isExpired", () => {
  it("follows DynamoDB's rule: expired once the attribute is strictly before now", () => {
    expect(isExpired({ expiresAt: 99 }, "expiresAt", 100)).toBe(true);
    expect(isExpired({ expiresAt: 100 }, "expiresAt", 100)).toBe(false);
    expect(isExpired({ expiresAt: 101 }, "expiresAt", 100)).toBe(false);
  });

  it("never expires an item without a numeric attribute, as DynamoDB ignores it", () => {
    expect(isExpired({}, "expiresAt", 100)).toBe(false);
    expect(isExpired({ expiresAt: "5" }, "expiresAt", 100)).toBe(false);
    expect(isExpired({ expiresAt: Number.NaN }, "expiresAt", 100)).toBe(false);
    expect(isExpired({ expiresAt: null }, "expiresAt", 100)).toBe(false);
  });

  it("reads the attribute it is given", () => {
    expect(isExpired({ expiresAt: 200, other: 1 }, "other", 100)).toBe(true);
  });
});

describe("withoutExpired", () => {
  it("keeps live items in order and accepts interface-typed items", () => {
    const items: Session[] = [
      { connectionId: "a", expiresAt: 50 },
      { connectionId: "b", expiresAt: 150 },
      { connectionId: "c" },
      { connectionId: "d", expiresAt: 99 },
    ];
    expect(withoutExpired(items, "expiresAt", 100).map((s) => s.connectionId)).toEqual(["b", "c"]);
  });
});

describe("epochSeconds", () => {
  it("truncates milliseconds to whole seconds", () => {
    expect(epochSeconds(1_700_000_000_999)).toBe(1_700_000_000);
  });
});
