// The SenML labels of RFC 8428 Table 1 and the XML type of each (Table 5); JSON types follow from them
// (section 12.2: XML numeric types become a JSON Number, boolean and string stay).

export type LabelKind = "string" | "double" | "int" | "boolean";

export const LABELS = Object.freeze({
  bn: "string",
  bt: "double",
  bu: "string",
  bv: "double",
  bs: "double",
  bver: "int",
  n: "string",
  u: "string",
  v: "double",
  vs: "string",
  vb: "boolean",
  vd: "string",
  s: "double",
  t: "double",
  ut: "double",
} as const satisfies Record<string, LabelKind>);

export type Label = keyof typeof LABELS;
export type BaseLabel = "bn" | "bt" | "bu" | "bv" | "bs" | "bver";

export const BASE_LABELS: readonly BaseLabel[] = Object.freeze(["bn", "bt", "bu", "bv", "bs", "bver"]);
/** Fields that make a record more than a carrier of base values. */
export const REGULAR_LABELS: readonly Label[] = Object.freeze([
  "n",
  "u",
  "v",
  "vs",
  "vb",
  "vd",
  "s",
  "t",
  "ut",
]);
export const VALUE_LABELS = Object.freeze(["v", "vs", "vb", "vd"] as const);

export function isLabel(name: string): name is Label {
  return Object.hasOwn(LABELS, name);
}
