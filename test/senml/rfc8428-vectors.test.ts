// The examples of RFC 8428 as test vectors: each parses, and resolves to the records the RFC gives.
// Texts are copied from the RFC (sections 5.1.1 to 5.1.7, 7 and 8), whitespace aside.
import { describe, expect, it } from "vitest";
import {
  type Accepted,
  parsePack,
  type Refused,
  type ResolvedRecord,
  type SenmlFormat,
  toJson,
  toXml,
} from "../../shared/senml";

import {
  EX_5_1_1,
  EX_5_1_2_NOW,
  EX_5_1_2_STREAM,
  EX_5_1_2_TIMED,
  EX_5_1_3,
  EX_5_1_4,
  EX_5_1_5,
  EX_5_1_6,
  EX_5_1_7_LIGHTS_OFF,
  EX_5_1_7_LIGHTS_ON,
  EX_5_1_7_THERMOSTAT,
} from "./rfc8428-examples";

// Any "now" will do for relative times; this one is 2023-11-14T22:13:20Z.
const NOW = 1_700_000_000;

function accepted(result: Accepted | Refused): Accepted {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result;
}

function resolve(text: string, format: SenmlFormat = "json"): ResolvedRecord[] {
  return accepted(parsePack(text, format, { now: NOW })).records;
}

const EX_7_XML = `<sensml xmlns="urn:ietf:params:xml:ns:senml">
  <senml bn="urn:dev:ow:10e2073a0108006:" bt="1.276020076001e+09"
  bu="A" bver="5" n="voltage" u="V" v="120.1"></senml>
  <senml n="current" t="-5" v="1.2"></senml>
  <senml n="current" t="-4" v="1.3"></senml>
  <senml n="current" t="-3" v="1.4"></senml>
  <senml n="current" t="-2" v="1.5"></senml>
  <senml n="current" t="-1" v="1.6"></senml>
  <senml n="current" v="1.7"></senml>
</sensml>`;

// Section 8 shows the XML it encodes as EXI: the first example of 5.1.2, then 5.1.1.
const EX_8_XML_NOW = `<sensml xmlns="urn:ietf:params:xml:ns:senml">
  <senml bn="urn:dev:ow:10e2073a01080063:" n="voltage" u="V"
  v="120.1"></senml>
  <senml n="current" u="A" v="1.2"></senml>
</sensml>`;

const EX_8_XML_SINGLE = `<sensml xmlns="urn:ietf:params:xml:ns:senml">
  <senml n="urn:dev:ow:10e2073a01080063" u="Cel" v="23.1"></senml>
</sensml>`;

const BT_5_1_2 = 1.276020076001e9;
const TIMED_5_1_2: ResolvedRecord[] = [
  ...[-5, -4, -3, -2, -1].map((dt, i) => ({
    bver: 5,
    n: "urn:dev:ow:10e2073a0108006:current",
    u: "A",
    t: BT_5_1_2 + dt,
    v: [1.2, 1.3, 1.4, 1.5, 1.6][i] as number,
  })),
  // Same time: the pack's order is kept.
  { bver: 5, n: "urn:dev:ow:10e2073a0108006:voltage", u: "V", t: BT_5_1_2, v: 120.1 },
  { bver: 5, n: "urn:dev:ow:10e2073a0108006:current", u: "A", t: BT_5_1_2, v: 1.7 },
];

const NOW_5_1_2: ResolvedRecord[] = [
  { n: "urn:dev:ow:10e2073a01080063:voltage", u: "V", t: NOW, v: 120.1 },
  { n: "urn:dev:ow:10e2073a01080063:current", u: "A", t: NOW, v: 1.2 },
];

const SINGLE_5_1_1: ResolvedRecord[] = [{ n: "urn:dev:ow:10e2073a01080063", u: "Cel", t: NOW, v: 23.1 }];

describe("RFC 8428 examples resolve to the records the RFC gives", () => {
  it("5.1.1 single data point: a time of zero is 'now'", () => {
    expect(resolve(EX_5_1_1)).toEqual(SINGLE_5_1_1);
  });

  it("5.1.2 multiple data points, 'now'", () => {
    expect(resolve(EX_5_1_2_NOW)).toEqual(NOW_5_1_2);
  });

  it("5.1.2 multiple data points with a base time, relative times and bver 5 (kept in resolved records, 4.6)", () => {
    expect(resolve(EX_5_1_2_TIMED)).toEqual(TIMED_5_1_2);
  });

  it("5.1.2 SensML stream: base unit and times relative to an absolute base time", () => {
    expect(resolve(EX_5_1_2_STREAM)).toEqual(
      [21.2, 21.3, 21.4, 21.4, 21.5, 21.5, 21.5, 21.6, 21.7].map((v, i) => ({
        n: "urn:dev:ow:10e2073a01080063",
        u: "%RH",
        t: 1320067464 + 10 * i,
        v,
      })),
    );
  });

  it("5.1.3 multiple measurements resolves to exactly the resolved data of 5.1.4", () => {
    const rfc514 = JSON.parse(EX_5_1_4) as ResolvedRecord[];
    expect(resolve(EX_5_1_3)).toEqual(rfc514);
    // And the resolved form is a fixed point.
    expect(resolve(EX_5_1_4)).toEqual(rfc514);
  });

  it("5.1.4's resolved records serialise back to the RFC's JSON", () => {
    expect(JSON.parse(toJson(resolve(EX_5_1_3)))).toEqual(JSON.parse(EX_5_1_4));
    // Field order of 5.1.4: n, u, t, v.
    expect(
      toJson(resolve(EX_5_1_3)).startsWith(
        '[{"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1320067464,"v":20}',
      ),
    ).toBe(true);
  });

  it("5.1.5 multiple data types: v, vs, vb and vd", () => {
    expect(resolve(EX_5_1_5)).toEqual([
      { n: "urn:dev:ow:10e2073a01080063:temp", u: "Cel", t: NOW, v: 23.1 },
      { n: "urn:dev:ow:10e2073a01080063:label", t: NOW, vs: "Machine Room" },
      { n: "urn:dev:ow:10e2073a01080063:open", t: NOW, vb: false },
      { n: "urn:dev:ow:10e2073a01080063:nfv-reader", t: NOW, vd: "aGkgCg" },
    ]);
  });

  it("5.1.6 collection of resources: the last record has the third's base name and the first's base time", () => {
    const t = 1320078429;
    expect(resolve(EX_5_1_6)).toEqual([
      { n: "2001:db8::2/temperature", u: "Cel", t, v: 25.2 },
      { n: "2001:db8::2/humidity", u: "%RH", t, v: 30 },
      { n: "2001:db8::1/temperature", u: "Cel", t, v: 12.3 },
      { n: "2001:db8::1/humidity", u: "%RH", t, v: 67 },
    ]);
  });

  it("5.1.7 setting an actuator: a record with only a base name sets context and yields no record", () => {
    const result = accepted(parsePack(EX_5_1_7_THERMOSTAT, "json", { now: NOW }));
    expect(result.records).toEqual([
      { n: "urn:dev:ow:10e2073a01080063:temp", u: "Cel", t: NOW, v: 23.1 },
      { n: "urn:dev:ow:10e2073a01080063:heat", u: "/", t: NOW, v: 1 },
      { n: "urn:dev:ow:10e2073a01080063:fan", u: "/", t: NOW, v: 0 },
    ]);
    expect(result.pack).toEqual([
      { bn: "urn:dev:ow:10e2073a01080063:" },
      { n: "temp", u: "Cel", v: 23.1 },
      { n: "heat", u: "/", v: 1 },
      { n: "fan", u: "/", v: 0 },
    ]);
  });

  it("5.1.7 lights: an absolute base time, a base unit, and 100 ms later", () => {
    const t = 1320078429;
    expect(resolve(EX_5_1_7_LIGHTS_ON)).toEqual([
      { n: "2001:db8::3", u: "/", t, v: 1 },
      { n: "2001:db8::4", u: "/", t, v: 1 },
    ]);
    expect(resolve(EX_5_1_7_LIGHTS_OFF)).toEqual([
      { n: "2001:db8::3", u: "/", t, v: 0.5 },
      { n: "2001:db8::4", u: "/", t, v: 0.5 },
      { n: "2001:db8::3", u: "/", t: 1.320078429e9 + 0.1, v: 0 },
      { n: "2001:db8::4", u: "/", t: 1.320078429e9 + 0.1, v: 0 },
    ]);
  });

  it("7 XML representation: the same records as its JSON twin in 5.1.2", () => {
    expect(resolve(EX_7_XML, "xml")).toEqual(TIMED_5_1_2);
    expect(resolve(EX_7_XML, "xml")).toEqual(resolve(EX_5_1_2_TIMED));
  });

  it("8 the XML behind the EXI examples", () => {
    expect(resolve(EX_8_XML_NOW, "xml")).toEqual(NOW_5_1_2);
    expect(resolve(EX_8_XML_SINGLE, "xml")).toEqual(SINGLE_5_1_1);
  });

  it("parses from bytes as well as from text", () => {
    const bytes = new TextEncoder().encode(EX_7_XML);
    expect(accepted(parsePack(bytes, "xml", { now: NOW })).records).toEqual(TIMED_5_1_2);
    expect(accepted(parsePack(new TextEncoder().encode(EX_5_1_3), "json", { now: NOW })).records).toEqual(
      JSON.parse(EX_5_1_4),
    );
  });
});

describe("round trips: JSON -> resolved -> XML (or JSON) -> parse gives the same records", () => {
  const vectors: Array<[string, string, SenmlFormat]> = [
    ["5.1.1", EX_5_1_1, "json"],
    ["5.1.2 now", EX_5_1_2_NOW, "json"],
    ["5.1.2 timed", EX_5_1_2_TIMED, "json"],
    ["5.1.2 stream", EX_5_1_2_STREAM, "json"],
    ["5.1.3", EX_5_1_3, "json"],
    ["5.1.5", EX_5_1_5, "json"],
    ["5.1.6", EX_5_1_6, "json"],
    ["5.1.7 thermostat", EX_5_1_7_THERMOSTAT, "json"],
    ["5.1.7 lights off", EX_5_1_7_LIGHTS_OFF, "json"],
    ["7", EX_7_XML, "xml"],
  ];
  for (const [name, text, format] of vectors) {
    it(name, () => {
      const records = resolve(text, format);
      // A later "now" shows that nothing relative is left in the resolved form.
      const later = { now: NOW + 3600 };
      expect(accepted(parsePack(toXml(records), "xml", later)).records).toEqual(records);
      expect(accepted(parsePack(toJson(records), "json", later)).records).toEqual(records);
    });
  }

  it("XML output escapes what it must", () => {
    const records = resolve(`[{"n":"x","vs":"<a & \\"b\\" 'c'>"}]`);
    const xml = toXml(records);
    expect(xml).toContain("&lt;a &amp;");
    expect(accepted(parsePack(xml, "xml", { now: NOW })).records).toEqual(records);
  });
});
