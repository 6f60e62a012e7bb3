// The CBOR representation (RFC 8428 section 6): the JSON pack's structure, with integer labels for the
// fields of Table 1 (Table 4) and vd as a byte string. Decoded with cbor2, then handed to the same
// checks as JSON, so all representations give the same rules and the same messages.
import { decode } from "cbor2";
import { type PackSyntax, type ParsedRecord, packError, tooBig, tooMany } from "./parse";
import type { SenmlLimits } from "./types";

/** RFC 8428 Table 4. */
export const CBOR_LABELS: ReadonlyMap<number, string> = new Map([
  [-1, "bver"],
  [-2, "bn"],
  [-3, "bt"],
  [-4, "bu"],
  [-5, "bv"],
  [-6, "bs"],
  [0, "n"],
  [1, "u"],
  [2, "v"],
  [3, "vs"],
  [4, "vb"],
  [5, "s"],
  [6, "t"],
  [7, "ut"],
  [8, "vd"],
]);

const CBOR_KEYS: ReadonlyMap<string, number> = new Map([...CBOR_LABELS].map(([k, v]) => [v, k]));

/** The integer key of a label, for encoders (tests, and a later CBOR door). */
export const cborKeyOf = (label: string): number | undefined => CBOR_KEYS.get(label);

export function parseCborPack(input: Uint8Array, limits: SenmlLimits): PackSyntax {
  if (input.byteLength > limits.maxBytes) return tooBig(limits);
  let root: unknown;
  try {
    // Deterministic encoding is not asked of senders; duplicate map keys are refused, as a record
    // with two values for one label is ambiguous.
    root = decode(input, { rejectDuplicateKeys: true });
  } catch (e) {
    return packError(`invalid CBOR: ${(e as Error).message}`);
  }
  if (!Array.isArray(root)) return packError("a SenML pack is a CBOR array of records (RFC 8428 section 6)");
  if (root.length > limits.maxRecords) return tooMany(root.length, limits);
  return { ok: true, records: root.map(readRecord) };
}

function readRecord(item: unknown): ParsedRecord {
  if (!(item instanceof Map)) {
    // cbor2 gives maps with text keys only as plain objects.
    const plain =
      typeof item === "object" && item !== null && !Array.isArray(item) && !ArrayBuffer.isView(item);
    if (!plain) return { ok: false, reason: "a record is a CBOR map" };
    return readRecord(new Map(Object.entries(item)));
  }
  const fields = new Map<string, unknown>();
  for (const [key, value] of item) {
    if (typeof key === "string" && CBOR_KEYS.has(key)) {
      return {
        ok: false,
        reason: `'${key}' is sent with its integer label ${CBOR_KEYS.get(key)} in CBOR (RFC 8428 Table 4)`,
      };
    }
    const label = typeof key === "number" ? CBOR_LABELS.get(key) : typeof key === "string" ? key : undefined;
    if (label === undefined) {
      return { ok: false, reason: `key ${String(key)} is neither a label of RFC 8428 Table 4 nor text` };
    }
    // vd is a byte string in CBOR and base64url text elsewhere: checked as text by the common rules.
    fields.set(
      label,
      label === "vd" && value instanceof Uint8Array ? Buffer.from(value).toString("base64url") : value,
    );
  }
  return { ok: true, fields };
}
