// Resolved records back to SenML: JSON (webhooks) and XML (PubSub items). Fields come in one fixed order,
// the order of RFC 8428's resolved example (5.1.4: n, u, t, v), so equal packs serialise to equal bytes.
import { Element } from "@xmpp/xml";
import { NS_SENML, type ResolvedRecord } from "./types";

const ORDER = ["bver", "n", "u", "t", "ut", "v", "vs", "vb", "vd", "s"] as const;

function ordered(record: ResolvedRecord): Array<[string, string | number | boolean]> {
  const fields: Array<[string, string | number | boolean]> = [];
  for (const label of ORDER) {
    const value = record[label];
    if (value !== undefined) fields.push([label, value]);
  }
  return fields;
}

/** application/senml+json: a JSON array of records. */
export function toJson(records: readonly ResolvedRecord[]): string {
  return JSON.stringify(records.map((record) => Object.fromEntries(ordered(record))));
}

/** application/senml+xml as an element, to be placed in a stanza. */
export function toXmlElement(records: readonly ResolvedRecord[]): Element {
  const sensml = new Element("sensml", { xmlns: NS_SENML });
  for (const record of records) {
    const attrs: Record<string, string> = {};
    // String(number) is the shortest text that reads back as the same double, and fits xsd:double.
    for (const [label, value] of ordered(record)) attrs[label] = String(value);
    sensml.cnode(new Element("senml", attrs));
  }
  return sensml;
}

/** application/senml+xml as text. */
export function toXml(records: readonly ResolvedRecord[]): string {
  return toXmlElement(records).toString();
}
