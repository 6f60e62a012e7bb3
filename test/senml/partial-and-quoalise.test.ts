// Partial acceptance (valid records kept, every other one reported), and the SenML that Quoalise tools send.
import { describe, expect, it } from "vitest";
import {
  formatSenmlError,
  type PartlyAccepted,
  parsePack,
  parsePackElement,
  type Refused,
  type SenmlError,
  toXmlElement,
} from "../../shared/senml";
import { parseFrame } from "../../shared/xmpp/frame-parser";

const NOW = 1_700_000_000;
const pack = (...records: object[]) => JSON.stringify(records);

function partly(result: PartlyAccepted | Refused): PartlyAccepted {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result;
}

describe("partial mode", () => {
  it("accepts the valid records and reports each other one", () => {
    const result = partly(
      parsePack(
        pack(
          { bn: "m:", bt: 1.7e9, n: "a", u: "W", v: 1 },
          { n: "b", u: "kwh", v: 2 },
          { n: "c", v: 3, vs: "three" },
          { n: "d", u: "Wh", t: 60, v: 4 },
        ),
        "json",
        { now: NOW, partial: true },
      ),
    );
    expect(result.records).toEqual([
      { n: "m:a", u: "W", t: 1.7e9, v: 1 },
      { n: "m:d", u: "Wh", t: 1.7e9 + 60, v: 4 },
    ]);
    expect(result.rejected.map(formatSenmlError)).toEqual([
      expect.stringMatching(/^record 1: field 'u': unknown unit 'kwh' \(did you mean 'kWh'\?\)/),
      "record 2: field 'vs': a record carries at most one value field, and this one has 'v', 'vs' (RFC 8428 section 4.2)",
    ]);
  });

  it("the same pack is refused whole in strict mode", () => {
    const result = parsePack(pack({ n: "a", v: 1 }, { n: "b", u: "kwh", v: 2 }), "json", { now: NOW });
    expect(result.ok).toBe(false);
    expect((result as Refused).errors).toHaveLength(1);
  });

  it("a valid pack has nothing rejected", () => {
    const result = partly(parsePack(pack({ n: "a", v: 1 }), "json", { now: NOW, partial: true }));
    expect(result).toEqual({ ok: true, records: [{ n: "a", t: NOW, v: 1 }], rejected: [] });
  });

  it("records that rely on an invalid base field are rejected too, each with its reason, until it is set again", () => {
    const result = partly(
      parsePack(
        pack(
          { bn: "m:", bt: "yesterday", n: "a", v: 1 },
          { n: "b", v: 2 },
          { bt: 1.7e9, n: "c", v: 3 },
          { n: "d", v: 4 },
        ),
        "json",
        { now: NOW, partial: true },
      ),
    );
    // Without bt, "b" would be read as measured now: a wrong time, so it is not accepted.
    expect(result.records).toEqual([
      { n: "m:c", t: 1.7e9, v: 3 },
      { n: "m:d", t: 1.7e9, v: 4 },
    ]);
    expect(result.rejected).toEqual([
      { record: 0, field: "bt", reason: "must be a number, not the string 'yesterday'" },
      { record: 1, field: "bt", reason: "depends on field 'bt' of record 0, which is invalid" },
    ]);
  });

  it("a broken base unit matters only to records without their own unit", () => {
    const result = partly(
      parsePack(
        pack({ bn: "m:", bu: "kwh", n: "a", v: 1 }, { n: "b", v: 2 }, { n: "c", u: "W", v: 3 }),
        "json",
        {
          now: NOW,
          partial: true,
        },
      ),
    );
    expect(result.records).toEqual([{ n: "m:c", u: "W", t: NOW, v: 3 }]);
    expect(result.rejected.map((e) => [e.record, e.field])).toEqual([
      [0, "bu"],
      [1, "bu"],
    ]);
  });

  it("the valid base fields of a rejected record still apply to the records after it", () => {
    const result = partly(
      parsePack(pack({ bn: "m:", n: "a", u: "kwh", v: 1 }, { n: "b", v: 2 }), "json", {
        now: NOW,
        partial: true,
      }),
    );
    expect(result.records).toEqual([{ n: "m:b", t: NOW, v: 2 }]);
    expect(result.rejected).toHaveLength(1);
  });

  it("a pack with no valid record is refused, with every reason", () => {
    const result = parsePack(pack({ n: "a", u: "kwh", v: 1 }, { n: "#", v: 2 }), "json", {
      now: NOW,
      partial: true,
    });
    expect(result.ok).toBe(false);
    expect((result as Refused).errors.map((e: SenmlError) => e.record)).toEqual([0, 1]);
  });

  it("XML packs too", () => {
    const xml = `<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml bn="m:" n="a" v="1"/><senml n="b" v="two"/></sensml>`;
    const result = partly(parsePack(xml, "xml", { now: NOW, partial: true }));
    expect(result.records).toEqual([{ n: "m:a", t: NOW, v: 1 }]);
    expect(result.rejected).toEqual([
      { record: 1, field: "v", reason: "'two' is not a number (xsd:double)" },
    ]);
  });
});

// ../shared/QUOALISE.md: a <message> pushed to a subscriber, as a Quoalise data proxy sends it.
const QUOALISE_MESSAGE = `<message xmlns="jabber:client" from="proxy@example.org/data" to="tool@example.org/a">
  <quoalise xmlns="urn:quoalise:0">
    <data>
      <meta>
        <device type="electricity-meter">
          <identifier authority="enedis" type="prm" value="30001610071843"/>
        </device>
        <measurement name="active-power" direction="consumption" quantity="power"
                     type="electrical" unit="W" aggregation="mean"
                     sampling-interval="PT30M"/>
      </meta>
      <sensml xmlns="urn:ietf:params:xml:ns:senml">
        <senml bn="urn:dev:prm:30001610071843_consumption/power/active/raw"
               bt="1638313200" t="0" v="1234" bu="W"/>
        <senml t="1800" v="1180"/>
      </sensml>
    </data>
  </quoalise>
</message>`;

const QUOALISE_RECORDS = [
  { n: "urn:dev:prm:30001610071843_consumption/power/active/raw", u: "W", t: 1638313200, v: 1234 },
  { n: "urn:dev:prm:30001610071843_consumption/power/active/raw", u: "W", t: 1638315000, v: 1180 },
];

describe("Quoalise", () => {
  it("the sensml part of a Quoalise payload parses, found inside a parsed stanza", () => {
    const frame = parseFrame(QUOALISE_MESSAGE, {
      maxBytes: 65_536,
      maxDepth: 16,
      maxAttributesPerElement: 16,
    });
    if (!frame.ok || frame.frame.kind !== "element") throw new Error("the stanza did not parse");
    const sensml = frame.frame.element
      .getChild("quoalise", "urn:quoalise:0")
      ?.getChild("data")
      ?.getChild("sensml", "urn:ietf:params:xml:ns:senml");
    if (sensml === undefined) throw new Error("no <sensml> in the stanza");
    const result = parsePackElement(sensml, { now: NOW });
    expect(result.ok && result.records).toEqual(QUOALISE_RECORDS);
  });

  it("the same <sensml> as a document of its own", () => {
    const start = QUOALISE_MESSAGE.indexOf("<sensml");
    const end = QUOALISE_MESSAGE.indexOf("</sensml>") + "</sensml>".length;
    const result = parsePack(QUOALISE_MESSAGE.slice(start, end), "xml", { now: NOW });
    expect(result.ok && result.records).toEqual(QUOALISE_RECORDS);
  });

  it("the resolved records go back into a stanza as a <sensml> element", () => {
    const element = toXmlElement(QUOALISE_RECORDS);
    expect(element.toString()).toBe(
      '<sensml xmlns="urn:ietf:params:xml:ns:senml">' +
        '<senml n="urn:dev:prm:30001610071843_consumption/power/active/raw" u="W" t="1638313200" v="1234"/>' +
        '<senml n="urn:dev:prm:30001610071843_consumption/power/active/raw" u="W" t="1638315000" v="1180"/>' +
        "</sensml>",
    );
    expect(parsePackElement(element, { now: NOW })).toMatchObject({ ok: true, records: QUOALISE_RECORDS });
  });

  it("the units Quoalise sends are registered: W, Wh, VA, V", () => {
    for (const u of ["W", "Wh", "VA", "V"]) {
      expect(parsePack(pack({ n: "urn:dev:prm:1_x", u, v: 1 }), "json", { now: NOW }).ok).toBe(true);
    }
  });
});
