// SenML CBOR (RFC 8428 section 6): each JSON example of section 5.1, encoded as the RFC says (integer
// labels of Table 4, vd as a byte string), resolves to exactly the records its JSON resolves to.
import { encode } from "cbor2";
import { describe, expect, it } from "vitest";
import { type Accepted, parsePack, type Refused } from "../../shared/senml";
import { cborKeyOf } from "../../shared/senml/cbor";
import * as examples from "./rfc8428-examples";

const NOW = 1_700_000_000;

function toCbor(json: string): Uint8Array {
  const pack = JSON.parse(json) as Record<string, unknown>[];
  return encode(
    pack.map(
      (record) =>
        new Map(
          Object.entries(record).map(([label, value]) => [
            cborKeyOf(label) ?? label,
            label === "vd" ? new Uint8Array(Buffer.from(String(value), "base64url")) : value,
          ]),
        ),
    ),
  );
}

const records = (r: Accepted | Refused) => {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.records;
};

describe("SenML CBOR", () => {
  it.each(Object.entries(examples))("%s resolves as its JSON does", (_, json) => {
    const fromJson = records(parsePack(json, "json", { now: NOW }));
    expect(records(parsePack(toCbor(json), "cbor", { now: NOW }))).toEqual(fromJson);
  });

  it("carries vd as a byte string", () => {
    const bytes = encode([
      new Map<number, unknown>([
        [0, "blob"],
        [8, new Uint8Array([1, 2, 3, 250])],
      ]),
    ]);
    expect(records(parsePack(bytes, "cbor", { now: NOW }))[0]?.vd).toBe("AQID-g");
  });

  it("refuses with the same reasons as JSON, and names CBOR's own mistakes", () => {
    const unknownUnit = encode([
      new Map<number, unknown>([
        [0, "x"],
        [1, "kwh"],
        [2, 1],
      ]),
    ]);
    const r = parsePack(unknownUnit, "cbor", { now: NOW });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toMatch(/kwh/);
    const textLabel = parsePack(encode([{ n: "x", v: 1 }]), "cbor", { now: NOW });
    expect(JSON.stringify(textLabel)).toMatch(/'n' is sent with its integer label 0/);
    expect(JSON.stringify(parsePack(new Uint8Array([0xff, 0x00]), "cbor", { now: NOW }))).toMatch(
      /invalid CBOR/,
    );
    expect(JSON.stringify(parsePack(encode({ a: 1 }), "cbor", { now: NOW }))).toMatch(
      /CBOR array of records/,
    );
    expect(JSON.stringify(parsePack(encode([[1, 2]]), "cbor", { now: NOW }))).toMatch(
      /a record is a CBOR map/,
    );
    expect(JSON.stringify(parsePack("[]", "cbor", { now: NOW }))).toMatch(/binary/);
  });
});
