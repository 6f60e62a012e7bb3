// Every class of error, with its message: what a publisher reads when a pack is refused.
import { describe, expect, it } from "vitest";
import {
  formatSenmlError,
  formatSenmlErrors,
  normalise,
  type ParseOptions,
  parsePack,
  type Refused,
  type SenmlError,
  type SenmlFormat,
} from "../../shared/senml";

const NOW = 1_700_000_000;

function refused(text: string, format: SenmlFormat = "json", opts: Partial<ParseOptions> = {}): SenmlError[] {
  const result = parsePack(text, format, { now: NOW, ...opts });
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.records)}`);
  return result.errors;
}

/** The only error of a refused pack, as text. */
function only(text: string, format: SenmlFormat = "json", opts: Partial<ParseOptions> = {}): string {
  const errors = refused(text, format, opts);
  expect(errors).toHaveLength(1);
  return formatSenmlError(errors[0] as SenmlError);
}

const pack = (...records: object[]) => JSON.stringify(records);
const ok = { n: "ok", v: 1 };

describe("units", () => {
  it("an unknown unit is named, with the registry's spelling when only the case differs", () => {
    expect(only(pack(ok, ok, ok, { n: "e", u: "kwh", v: 3 }))).toBe(
      "record 3: field 'u': unknown unit 'kwh' (did you mean 'kWh'?); units come from the IANA SenML units registry (RFC 8428 section 12.1, RFC 8798)",
    );
  });

  it("the suggestion ignores case, in u and in bu", () => {
    expect(only(pack({ bn: "x", bu: "WH", v: 1 }))).toContain(
      "record 0: field 'bu': unknown unit 'WH' (did you mean 'Wh'?)",
    );
    expect(only(pack({ n: "x", u: "MHZ", v: 1 }))).toContain("unknown unit 'MHZ' (did you mean 'MHz'?)");
    expect(only(pack({ n: "x", u: "OHM", v: 1 }))).toContain("(did you mean 'Ohm'?)");
  });

  it("common spellings outside the registry get their registry symbol suggested", () => {
    expect(only(pack({ n: "x", u: "°C", v: 1 }))).toContain("unknown unit '°C' (did you mean 'Cel'?)");
    expect(only(pack({ n: "x", u: "rpm", v: 1 }))).toContain("(did you mean '1/min'?)");
  });

  it("a unit with no near match gets no suggestion", () => {
    expect(only(pack({ n: "x", u: "furlong", v: 1 }))).toBe(
      "record 0: field 'u': unknown unit 'furlong'; units come from the IANA SenML units registry (RFC 8428 section 12.1, RFC 8798)",
    );
  });

  it("secondary units (RFC 8798) are accepted by default, and refused under the 'primary' policy", () => {
    const text = pack({ bn: "urn:dev:prm:1_", bu: "kWh", v: 2 });
    expect(parsePack(text, "json", { now: NOW }).ok).toBe(true);
    expect(only(text, "json", { units: "primary" })).toBe(
      "record 0: field 'bu': unit 'kWh' is a secondary unit; SenML version 10 takes only primary units in u and bu (RFC 8798 section 3): give the value in 'J' (multiply by 3600000)",
    );
    expect(only(pack({ n: "x", u: "dBm", v: 2 }), "json", { units: "primary" })).toContain(
      "give the value in 'dBW' (multiply by 1 and add -30)",
    );
  });

  it("a field named like an Object.prototype member is not a unit", () => {
    expect(only(pack({ n: "x", u: "constructor", v: 1 }))).toContain("unknown unit 'constructor'");
  });
});

describe("names (RFC 8428 section 4.5.1)", () => {
  it("a character outside the name set is named", () => {
    expect(only(pack({ bn: "urn:dev:ow:1:", n: "temp#1", v: 1 }))).toBe(
      "record 0: field 'n': the name 'urn:dev:ow:1:temp#1': character '#' is not allowed; names use only letters, digits and - : . / _ (RFC 8428 section 4.5.1)",
    );
    expect(only(pack({ n: "température", v: 1 }))).toContain("character 'é' is not allowed");
    expect(only(pack({ n: "a b", v: 1 }))).toContain("character ' ' is not allowed");
  });

  it("the first character of the resolved name is a letter or a digit", () => {
    expect(only(pack({ n: "_x", v: 1 }))).toBe(
      "record 0: field 'n': the name '_x' must start with a letter or a digit (RFC 8428 section 4.5.1)",
    );
    // With a base name, n may start with anything of the set.
    expect(parsePack(pack({ bn: "dev", n: "/_x", v: 1 }), "json", { now: NOW }).ok).toBe(true);
  });

  it("a base name is checked on its own record, even when that record measures nothing", () => {
    expect(only(pack({ bn: "-dev/" }, { n: "x", v: 1 }))).toBe(
      "record 0: field 'bn': '-dev/' must start with a letter or a digit (RFC 8428 section 4.5.1)",
    );
    expect(only(pack({ bn: "dev?" }, { n: "x", v: 1 }))).toContain(
      "record 0: field 'bn': 'dev?': character '?'",
    );
  });

  it("a record with neither n nor a base name has no name", () => {
    expect(only(pack({ v: 1 }))).toBe(
      "record 0: field 'n': the record has no name: neither n nor a base name in effect (RFC 8428 section 4.2)",
    );
  });

  it("Quoalise data identifiers are valid base names", () => {
    for (const id of [
      "urn:dev:prm:30001610071843_consumption/power/active/raw",
      "urn:dev:prm:30001610071843_production/energy/active/index",
      "urn:dev:prm:30001610071843_consumption/power/apparent/max",
    ]) {
      const result = parsePack(pack({ bn: id, bt: 1638313200, bu: "W", v: 1 }), "json", { now: NOW });
      expect(result.ok && result.records[0]?.n).toBe(id);
    }
  });
});

describe("values (RFC 8428 section 4.2)", () => {
  it("at most one value field", () => {
    expect(only(pack({ n: "x", v: 1, vs: "one" }))).toBe(
      "record 0: field 'vs': a record carries at most one value field, and this one has 'v', 'vs' (RFC 8428 section 4.2)",
    );
  });

  it("a value or a sum is required", () => {
    expect(only(pack({ n: "x", u: "W" }))).toBe(
      "record 0: the record has no value: it needs one of v, vs, vb, vd, or a sum s (RFC 8428 section 4.2)",
    );
  });

  it("a sum alone is enough, and a base sum gives a sum to the records after it (4.5.4)", () => {
    const result = parsePack(
      pack({ bn: "m:", bs: 100, n: "a", v: 1 }, { n: "b", s: 5 }, { n: "c", vb: true }),
      "json",
      {
        now: NOW,
      },
    );
    expect(result.ok && result.records).toEqual([
      { n: "m:a", t: NOW, v: 1, s: 100 },
      { n: "m:b", t: NOW, s: 105 },
      { n: "m:c", t: NOW, vb: true, s: 100 },
    ]);
  });

  it("a base value adds to v only", () => {
    const result = parsePack(pack({ bn: "m:", bv: 10, n: "a", v: 1 }, { n: "b", vs: "x" }), "json", {
      now: NOW,
    });
    expect(result.ok && result.records).toEqual([
      { n: "m:a", t: NOW, v: 11 },
      { n: "m:b", t: NOW, vs: "x" },
    ]);
  });

  it("each field has its type", () => {
    expect(only(pack({ n: "x", v: "12" }))).toBe(
      "record 0: field 'v': must be a number, not the string '12'",
    );
    expect(only(pack({ n: "x", vs: 12 }))).toBe("record 0: field 'vs': must be a string, not number 12");
    expect(only(pack({ n: "x", vb: "true" }))).toBe(
      "record 0: field 'vb': must be true or false, not the string 'true'",
    );
    expect(only(pack({ n: "x", v: 1, t: null }))).toBe("record 0: field 't': must be a number, not null");
    expect(only(pack({ n: ["x"], v: 1 }))).toBe("record 0: field 'n': must be a string, not an array");
    expect(only(pack({ n: "x", v: 1, ut: {} }))).toBe(
      "record 0: field 'ut': must be a number, not an object",
    );
    expect(only('[{"n":"x","v":1e400}]')).toBe("record 0: field 'v': must be a finite number, not Infinity");
  });

  it("vd is base64url without padding", () => {
    expect(only(pack({ n: "x", vd: "aGk=" }))).toBe(
      "record 0: field 'vd': base64url without padding: remove the trailing '=' (RFC 8428 section 4.3)",
    );
    expect(only(pack({ n: "x", vd: "a+b/" }))).toContain("uses the base64 alphabet ('+', '/')");
    expect(only(pack({ n: "x", vd: "a.b" }))).toBe(
      "record 0: field 'vd': is not base64url (RFC 4648 section 5)",
    );
    expect(only(pack({ n: "x", vd: "abcde" }))).toContain("a length of 5 cannot be decoded");
  });

  it("an update time is not negative", () => {
    expect(only(pack({ n: "x", v: 1, ut: -5 }))).toBe(
      "record 0: field 'ut': an update time is a period and cannot be negative",
    );
  });

  it("XML attributes must have their label's XML type", () => {
    const xml = (attrs: string) =>
      `<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml n="x" ${attrs}/></sensml>`;
    expect(only(xml('v="abc"'), "xml")).toBe("record 0: field 'v': 'abc' is not a number (xsd:double)");
    expect(only(xml('vb="yes"'), "xml")).toBe(
      "record 0: field 'vb': 'yes' is not a boolean (xsd:boolean: true, false, 1 or 0)",
    );
    expect(only(xml('v="1" bver="5.5"'), "xml")).toBe(
      "record 0: field 'bver': '5.5' is not an integer (xsd:int)",
    );
    expect(only(xml('v="INF"'), "xml")).toBe("record 0: field 'v': must be a finite number, not Infinity");
    expect(only(xml('v="0x10"'), "xml")).toContain("'0x10' is not a number");
    // xsd:double and xsd:boolean allow surrounding whitespace, and 1/0 for booleans.
    const result = parsePack(xml('vb=" 1 " t=" -1.5E1 "'), "xml", { now: NOW });
    expect(result.ok && result.records).toEqual([{ n: "x", t: NOW - 15, vb: true }]);
  });
});

describe("times (RFC 8428 section 4.5.3)", () => {
  it("times below 2**28 are relative to now, at or above it absolute", () => {
    const result = parsePack(pack({ n: "a", t: -60, v: 1 }, { n: "b", t: 2 ** 28, v: 2 }), "json", {
      now: NOW,
    });
    expect(result.ok && result.records).toEqual([
      { n: "b", t: 2 ** 28, v: 2 },
      { n: "a", t: NOW - 60, v: 1 },
    ]);
  });

  it("a relative time that lands before 2**28 cannot be resolved", () => {
    expect(only(pack({ n: "a", t: -1.5e9, v: 1 }))).toBe(
      `record 0: field 't': the time resolves to ${NOW - 1.5e9}, before 1978-07-04T21:24:16Z (2**28 s), which SenML cannot express as an absolute time (RFC 8428 section 4.5.3)`,
    );
  });

  it("'now' must be a Unix time: anything else is a caller's bug", () => {
    expect(() => parsePack(pack(ok), "json", { now: 0 })).toThrow(RangeError);
    expect(() => parsePack(pack(ok), "json", { now: Number.NaN })).toThrow(RangeError);
  });
});

describe("versions (RFC 8428 section 4.4)", () => {
  it("a version above 10 refuses the pack", () => {
    expect(only(pack({ bver: 11, n: "x", v: 1 }))).toBe(
      "record 0: field 'bver': version 11 is newer than SenML version 10, which this system implements; the pack cannot be used (RFC 8428 section 4.4)",
    );
  });

  it("all records of a pack have the same version", () => {
    expect(only(pack({ n: "a", v: 1 }, { bver: 5, n: "b", v: 2 }))).toBe(
      "record 1: field 'bver': version 5 differs from version 10 of record 0: all records of a pack have the same version (RFC 8428 section 4.4)",
    );
    expect(only(pack({ bver: 5, n: "a", v: 1 }, { bver: 10, n: "b", v: 2 }))).toContain(
      "record 1: field 'bver': version 10 differs from version 5 of record 0",
    );
    // Repeating the same version is fine.
    expect(
      parsePack(pack({ bver: 5, n: "a", v: 1 }, { bver: 5, n: "b", v: 2 }), "json", { now: NOW }).ok,
    ).toBe(true);
  });

  it("a version is a positive integer", () => {
    expect(only(pack({ bver: 0, n: "x", v: 1 }))).toBe(
      "record 0: field 'bver': the version must be a positive integer, not 0 (RFC 8428 section 4.1)",
    );
    expect(only(pack({ bver: 2.5, n: "x", v: 1 }))).toContain("not 2.5");
  });

  it("version errors refuse the pack even in partial mode", () => {
    const result = parsePack(pack(ok, { bver: 11, n: "x", v: 1 }), "json", { now: NOW, partial: true });
    expect(result.ok).toBe(false);
    const mixed = parsePack(pack(ok, { bver: 5, n: "x", v: 1 }), "json", { now: NOW, partial: true });
    expect(mixed.ok).toBe(false);
  });
});

describe("extensions (RFC 8428 section 4.4)", () => {
  it("unknown fields are ignored, and left out of the pack", () => {
    const result = parsePack(pack({ n: "x", v: 1, foo: "bar", bfoo: 3 }), "json", { now: NOW });
    expect(result.ok && result.pack).toEqual([{ n: "x", v: 1 }]);
  });

  it("an unknown field whose label ends with '_' must be understood, so it refuses the record", () => {
    expect(only(pack({ n: "x", v: 1, sec_: 1 }))).toBe(
      "record 0: field 'sec_': must-understand extension field (label ending with '_') that this system does not support (RFC 8428 section 4.4)",
    );
    expect(
      only(`<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml n="x" v="1" rt_="y"/></sensml>`, "xml"),
    ).toContain("record 0: field 'rt_': must-understand");
  });

  it("namespaced XML attributes are not SenML fields", () => {
    const xml = `<sensml xmlns="urn:ietf:params:xml:ns:senml" xmlns:e="urn:example"><senml n="x" v="1" e:foo_="1" xml:lang="fr"/></sensml>`;
    expect(parsePack(xml, "xml", { now: NOW }).ok).toBe(true);
  });
});

describe("the pack as a whole", () => {
  it("JSON syntax", () => {
    expect(only("[{")).toMatch(/^pack: invalid JSON: /);
    expect(only('{"n":"x","v":1}')).toBe(
      "pack: a SenML pack is a JSON array of records (RFC 8428 section 5), not a object",
    );
    expect(only("[1]")).toBe("record 0: a record is a JSON object, not a number");
    expect(only("[]")).toBe("pack: the pack holds no record; it needs at least one (RFC 8428 section 11)");
    expect(only(new Uint8Array([0x5b, 0xff, 0x5d]) as unknown as string)).toBe(
      "pack: the pack is not valid UTF-8, the only encoding SenML JSON allows (RFC 8428 section 5)",
    );
  });

  it("XML syntax and structure", () => {
    expect(only("<sensml", "xml")).toMatch(/^pack: invalid XML: /);
    expect(only(`<sensml><senml n="x" v="1"/></sensml>`, "xml")).toBe(
      'pack: the root element must be <sensml xmlns="urn:ietf:params:xml:ns:senml"> (RFC 8428 section 7), not <sensml> in no namespace',
    );
    expect(only(`<senml xmlns="urn:ietf:params:xml:ns:senml" n="x" v="1"/>`, "xml")).toContain("not <senml>");
    expect(only(`<sensml xmlns="urn:ietf:params:xml:ns:senml"><foo/></sensml>`, "xml")).toBe(
      "pack: <sensml> holds only <senml> elements, not <foo>",
    );
    expect(only(`<sensml xmlns="urn:ietf:params:xml:ns:senml">hello</sensml>`, "xml")).toBe(
      "pack: <sensml> holds only <senml> elements, not text",
    );
    expect(
      only(`<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml n="x" v="1">3</senml></sensml>`, "xml"),
    ).toBe("record 0: a <senml> element carries its fields as attributes and has no content");
    expect(only(`<sensml xmlns="urn:ietf:params:xml:ns:senml"></sensml>`, "xml")).toContain(
      "the pack holds no record",
    );
  });

  it("restricted XML: no DTD, no entity expansion", () => {
    const bomb = `<!DOCTYPE sensml [<!ENTITY a "aaaa">]><sensml xmlns="urn:ietf:params:xml:ns:senml"><senml n="x" vs="&a;"/></sensml>`;
    expect(only(bomb, "xml")).toContain("pack: invalid XML: a DTD (<!DOCTYPE>) is not allowed");
  });

  it("a pack of base fields only carries no measurement", () => {
    expect(only(pack({ bn: "dev:", bt: 1.7e9 }))).toBe(
      "pack: no record of the pack carries a value or a sum: it only sets base fields",
    );
  });

  it("all errors of all records are listed, in pack order", () => {
    const errors = refused(pack({ n: "a", u: "kwh", v: 1 }, ok, { n: "#", v: "x" }));
    expect(errors).toEqual([
      { record: 0, field: "u", reason: expect.stringContaining("unknown unit 'kwh'") },
      { record: 2, field: "v", reason: "must be a number, not the string 'x'" },
    ]);
    // Record 2's name is not checked while the record is already refused for a field of its own.
    expect(formatSenmlErrors(errors)).toMatch(
      /^record 0: field 'u': .*; record 2: field 'v': must be a number/,
    );
  });

  it("a strict refusal names the root cause, not the records that depend on it", () => {
    expect(refused(pack({ bn: "d:", bt: "yesterday", n: "a", v: 1 }, { n: "b", v: 2 }))).toEqual([
      { record: 0, field: "bt", reason: "must be a number, not the string 'yesterday'" },
    ]);
  });
});

describe("limits", () => {
  it("records per pack", () => {
    expect(only(pack(ok, ok, ok, ok), "json", { limits: { maxRecords: 3 } })).toBe(
      "pack: the pack holds 4 records, more than the 3 accepted",
    );
    const xml = `<sensml xmlns="urn:ietf:params:xml:ns:senml">${'<senml n="x" v="1"/>'.repeat(4)}</sensml>`;
    expect(only(xml, "xml", { limits: { maxRecords: 3 } })).toBe(
      "pack: the pack holds 4 records, more than the 3 accepted",
    );
    expect(parsePack(pack(ok, ok, ok), "json", { now: NOW, limits: { maxRecords: 3 } }).ok).toBe(true);
  });

  it("the default: 10,000 records", () => {
    const big = pack(...Array.from({ length: 10_001 }, () => ok));
    expect(only(big)).toBe("pack: the pack holds 10001 records, more than the 10000 accepted");
  });

  it("bytes", () => {
    expect(only(pack(ok), "json", { limits: { maxBytes: 10 } })).toBe(
      "pack: the pack is larger than 10 bytes",
    );
    expect(only(`<sensml xmlns="urn:ietf:params:xml:ns:senml"/>`, "xml", { limits: { maxBytes: 10 } })).toBe(
      "pack: invalid XML: the message is larger than 10 bytes",
    );
  });

  it("string lengths", () => {
    const limits = { maxNameLength: 8, maxStringLength: 4 };
    expect(only(pack({ n: "abcdefghi", v: 1 }), "json", { limits })).toBe(
      "record 0: field 'n': a name of 9 characters is longer than the 8 accepted",
    );
    expect(only(pack({ bn: "abcdefghi", v: 1 }), "json", { limits })).toBe(
      "record 0: field 'bn': a base name of 9 characters is longer than the 8 accepted",
    );
    expect(only(pack({ bn: "abcde", n: "fghi", v: 1 }), "json", { limits })).toBe(
      "record 0: field 'n': the name is 9 characters long, more than the 8 accepted",
    );
    expect(only(pack({ n: "x", vs: "hello" }), "json", { limits })).toBe(
      "record 0: field 'vs': a string value of 5 characters is longer than the 4 accepted",
    );
    expect(only(pack({ n: "x", vd: "aGkgCg" }), "json", { limits })).toContain(
      "a data value of 6 characters",
    );
  });

  it("error lists are capped, and the rest counted", () => {
    const errors = refused(pack(...Array.from({ length: 150 }, (_, i) => ({ n: `r${i}`, u: "kwh", v: 1 }))));
    expect(errors).toHaveLength(101);
    expect(errors[99]).toMatchObject({ record: 99, field: "u" });
    expect(errors[100]).toEqual({ record: -1, reason: "50 more errors, in 50 records, not listed" });
  });

  it("quoted values in messages are cut short", () => {
    const message = only(pack({ n: "x", u: "x".repeat(1000), v: 1 }));
    expect(message.length).toBeLessThan(250);
    expect(message).toContain(`'${"x".repeat(64)}…'`);
  });
});

describe("normalise", () => {
  it("resolves records built in code, in chronological order", () => {
    const result = normalise(
      [
        { bn: "m:", bt: 1.7e9, bu: "W", n: "a", t: 10, v: 1 },
        { n: "b", v: 2, u: undefined },
      ],
      { now: NOW },
    );
    expect(result).toEqual({
      ok: true,
      records: [
        { n: "m:b", u: "W", t: 1.7e9, v: 2 },
        { n: "m:a", u: "W", t: 1.7e9 + 10, v: 1 },
      ],
    });
  });

  it("checks them like a parsed pack", () => {
    const result = normalise([{ n: "x", u: "kwh", v: 1 }], { now: NOW }) as Refused;
    expect(result.ok).toBe(false);
    expect(formatSenmlError(result.errors[0] as SenmlError)).toContain("did you mean 'kWh'?");
  });
});
