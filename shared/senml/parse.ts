// From bytes to records as field bags: the JSON representation (RFC 8428 section 5) and the XML one
// (section 7). Only the syntax is checked here; what each field must hold is validate.ts's job, so that
// both representations get the same rules and the same messages.
// XML goes through the XMPP frame parser: one XML stack (saxes, restricted XML: no DTD, no entities
// beyond the predefined five, UTF-8 only) for stanzas and for SenML alike.
import type { Element } from "@xmpp/xml";
import { parseFrame } from "../xmpp/frame-parser";
import { isLabel, LABELS, type LabelKind } from "./labels";
import { NS_SENML, type SenmlError, type SenmlLimits } from "./types";

/** An XML attribute whose text is not of its label's XML type; validate.ts words the error. */
export class LexicalError {
  constructor(
    readonly text: string,
    readonly expected: string,
  ) {}
}

/** One record's fields, label -> value (a JSON value, or an XML attribute converted to its label's type). */
export type ParsedRecord = { ok: true; fields: Map<string, unknown> } | { ok: false; reason: string };

export type PackSyntax = { ok: true; records: ParsedRecord[] } | { ok: false; error: SenmlError };

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseJsonPack(input: string | Uint8Array, limits: SenmlLimits): PackSyntax {
  let text: string;
  if (typeof input === "string") {
    if (Buffer.byteLength(input, "utf8") > limits.maxBytes) return tooBig(limits);
    text = input;
  } else {
    if (input.byteLength > limits.maxBytes) return tooBig(limits);
    try {
      text = utf8.decode(input);
    } catch {
      return packError(
        "the pack is not valid UTF-8, the only encoding SenML JSON allows (RFC 8428 section 5)",
      );
    }
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    return packError(`invalid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(root)) {
    return packError(
      `a SenML pack is a JSON array of records (RFC 8428 section 5), not ${describeJson(root)}`,
    );
  }
  if (root.length > limits.maxRecords) return tooMany(root.length, limits);
  return {
    ok: true,
    records: root.map((item: unknown): ParsedRecord => {
      if (typeof item === "object" && item !== null && !Array.isArray(item)) {
        return { ok: true, fields: new Map(Object.entries(item)) };
      }
      return { ok: false, reason: `a record is a JSON object, not ${describeJson(item)}` };
    }),
  };
}

export function parseXmlPack(input: string | Uint8Array, limits: SenmlLimits): PackSyntax {
  const result = parseFrame(input, {
    maxBytes: limits.maxBytes,
    // <sensml> holds <senml/> elements, and those hold nothing.
    maxDepth: 2,
    // The 15 labels, namespace declarations, and room for extensions.
    maxAttributesPerElement: 64,
  });
  if (!result.ok) return packError(`invalid XML: ${result.error.text}`);
  if (result.frame.kind !== "element") {
    return packError(`the root element must be <sensml xmlns="${NS_SENML}"> (RFC 8428 section 7)`);
  }
  return readSensmlElement(result.frame.element, limits);
}

/**
 * The records of a <sensml> element already parsed, e.g. one inside a stanza or a Quoalise payload.
 * The caller bounds its size; only the record count is checked here.
 */
export function readSensmlElement(sensml: Element, limits: SenmlLimits): PackSyntax {
  if (sensml.getName() !== "sensml" || sensml.getNS() !== NS_SENML) {
    const ns = sensml.getNS();
    // The frame parser puts an element that declares no namespace in jabber:client, as a stream would.
    const where = ns === undefined || ns === "jabber:client" ? "no namespace" : `namespace ${ns}`;
    return packError(
      `the root element must be <sensml xmlns="${NS_SENML}"> (RFC 8428 section 7), not <${sensml.getName()}> in ${where}`,
    );
  }
  const records: ParsedRecord[] = [];
  for (const child of sensml.children) {
    if (typeof child === "string") {
      if (child.trim() !== "") return packError("<sensml> holds only <senml> elements, not text");
      continue;
    }
    if (child.getName() !== "senml" || child.getNS() !== NS_SENML) {
      return packError(`<sensml> holds only <senml> elements, not <${child.getName()}>`);
    }
    if (records.length === limits.maxRecords) return tooMany(sensml.getChildElements().length, limits);
    records.push(readSenmlElement(child));
  }
  return { ok: true, records };
}

function readSenmlElement(senml: Element): ParsedRecord {
  for (const child of senml.children) {
    if (typeof child !== "string" || child.trim() !== "") {
      return { ok: false, reason: "a <senml> element carries its fields as attributes and has no content" };
    }
  }
  const fields = new Map<string, unknown>();
  for (const [name, text] of Object.entries(senml.attrs)) {
    // Namespace declarations and namespaced attributes (xml:lang, foo:bar) are not SenML fields: the
    // labels are unprefixed attributes.
    if (name === "xmlns" || name.includes(":")) continue;
    fields.set(name, isLabel(name) ? fromXml(LABELS[name], text) : text);
  }
  return { ok: true, fields };
}

// XML Schema lexical forms (XSD 1.0 part 2, 3.2.5 double, 3.3.17 int, 3.2.2 boolean); numeric and boolean
// types collapse surrounding whitespace.
const XSD_DECIMAL_OR_EXP = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const XSD_INT = /^[+-]?\d+$/;

function fromXml(kind: LabelKind, text: string): unknown {
  if (kind === "string") return text;
  const t = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  switch (kind) {
    case "double":
      if (XSD_DECIMAL_OR_EXP.test(t)) return Number(t);
      // Lexically valid, and refused later as not finite.
      if (t === "INF" || t === "+INF") return Number.POSITIVE_INFINITY;
      if (t === "-INF") return Number.NEGATIVE_INFINITY;
      if (t === "NaN") return Number.NaN;
      return new LexicalError(text, "a number (xsd:double)");
    case "int": {
      const n = XSD_INT.test(t) ? Number(t) : Number.NaN;
      if (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) return n;
      return new LexicalError(text, "an integer (xsd:int)");
    }
    case "boolean":
      if (t === "true" || t === "1") return true;
      if (t === "false" || t === "0") return false;
      return new LexicalError(text, "a boolean (xsd:boolean: true, false, 1 or 0)");
  }
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

export function packError(reason: string): PackSyntax {
  return { ok: false, error: { record: -1, reason } };
}

export function tooBig(limits: SenmlLimits): PackSyntax {
  return packError(`the pack is larger than ${limits.maxBytes} bytes`);
}

export function tooMany(count: number, limits: SenmlLimits): PackSyntax {
  return packError(`the pack holds ${count} records, more than the ${limits.maxRecords} accepted`);
}
