// SenML (RFC 8428) for Relais: parse a pack (JSON or XML), check it against the RFC, resolve it, and write
// resolved records back out. Pure: no I/O, no clock ("now" is a parameter).
//
// A pack with any invalid record is refused whole, with every error named (record index, field, reason).
// With `partial: true` the valid records are accepted and each other one is reported in `rejected`; records
// are never dropped without an error saying so. Errors that make the pack itself unusable (syntax, limits,
// a version this system does not understand, records of different versions) refuse it in both modes.
import type { Element } from "@xmpp/xml";
import { parseCborPack } from "./cbor";
import {
  type PackSyntax,
  type ParsedRecord,
  packError,
  parseJsonPack,
  parseXmlPack,
  readSensmlElement,
} from "./parse";
import { chronological, resolvePack } from "./resolve";
import {
  DEFAULT_LIMITS,
  type RawRecord,
  RELATIVE_TIME_LIMIT,
  type ResolvedRecord,
  type SenmlError,
  type SenmlLimits,
} from "./types";
import { type CheckedRecord, checkRecord, type UnitPolicy } from "./validate";

export { toJson, toXml, toXmlElement } from "./serialise";
export {
  DEFAULT_LIMITS,
  NS_SENML,
  type RawRecord,
  RELATIVE_TIME_LIMIT,
  type ResolvedRecord,
  SENML_VERSION,
  type SenmlError,
  type SenmlLimits,
} from "./types";
export { lookupUnit, type PrimaryConversion, SENML_UNITS, type SenmlUnit, toPrimary } from "./units";
export { type UnitPolicy, unitProblem } from "./validate";

export type SenmlFormat = "json" | "xml" | "cbor";

export interface ParseOptions {
  /** "Now" in Unix seconds (fractions allowed): relative times (below 2**28) are counted from it. */
  now: number;
  /** Accept the valid records and report the others, instead of refusing the pack. */
  partial?: boolean;
  /** Which units u and bu may name; "registered" (default) accepts RFC 8798 secondary units (Wh, kWh...). */
  units?: UnitPolicy;
  limits?: Partial<SenmlLimits>;
}

export type Refused = { ok: false; errors: SenmlError[] };
/** `records`: resolved, in chronological order. `pack`: the records as sent, known fields only. */
export type Accepted = { ok: true; records: ResolvedRecord[]; pack: RawRecord[] };
export type PartlyAccepted = { ok: true; records: ResolvedRecord[]; rejected: SenmlError[] };

export function parsePack(
  input: string | Uint8Array,
  format: SenmlFormat,
  opts: ParseOptions & { partial: true },
): PartlyAccepted | Refused;
export function parsePack(
  input: string | Uint8Array,
  format: SenmlFormat,
  opts: ParseOptions & { partial?: false },
): Accepted | Refused;
export function parsePack(
  input: string | Uint8Array,
  format: SenmlFormat,
  opts: ParseOptions,
): Accepted | PartlyAccepted | Refused;
export function parsePack(
  input: string | Uint8Array,
  format: SenmlFormat,
  opts: ParseOptions,
): Accepted | PartlyAccepted | Refused {
  const limits = limitsOf(opts);
  const syntax =
    format === "json"
      ? parseJsonPack(input, limits)
      : format === "xml"
        ? parseXmlPack(input, limits)
        : typeof input === "string"
          ? packError("a CBOR pack is binary: give its bytes, not text")
          : parseCborPack(input, limits);
  return fromSyntax(syntax, opts, limits);
}

/** parsePack for a <sensml> element already parsed, e.g. inside a PubSub item or a Quoalise <data>. */
export function parsePackElement(
  sensml: Element,
  opts: ParseOptions & { partial: true },
): PartlyAccepted | Refused;
export function parsePackElement(
  sensml: Element,
  opts: ParseOptions & { partial?: false },
): Accepted | Refused;
export function parsePackElement(sensml: Element, opts: ParseOptions): Accepted | PartlyAccepted | Refused;
export function parsePackElement(sensml: Element, opts: ParseOptions): Accepted | PartlyAccepted | Refused {
  const limits = limitsOf(opts);
  return fromSyntax(readSensmlElement(sensml, limits), opts, limits);
}

/**
 * Records built in code, checked and resolved: the resolved records of RFC 8428 section 4.6, in
 * chronological order. Always strict.
 */
export function normalise(
  pack: readonly RawRecord[],
  opts: Omit<ParseOptions, "partial">,
): { ok: true; records: ResolvedRecord[] } | Refused {
  const limits = limitsOf(opts);
  const syntax: PackSyntax =
    pack.length > limits.maxRecords
      ? {
          ok: false,
          error: {
            record: -1,
            reason: `the pack holds ${pack.length} records, more than the ${limits.maxRecords} accepted`,
          },
        }
      : {
          ok: true,
          records: pack.map((record) => ({
            ok: true,
            fields: new Map(Object.entries(record).filter(([, v]) => v !== undefined)),
          })),
        };
  const result = fromSyntax(syntax, { ...opts, partial: false }, limits);
  return result.ok ? { ok: true, records: result.records } : result;
}

/** "record 3: field 'u': unknown unit 'kwh' (did you mean 'kWh'?)..." */
export function formatSenmlError(error: SenmlError): string {
  const where = error.record < 0 ? "pack" : `record ${error.record}`;
  const field = error.field === undefined ? "" : ` field '${error.field}':`;
  return `${where}:${field} ${error.reason}`;
}

/** All errors as one text, e.g. for an XMPP <text/> or an HTTP problem detail. */
export function formatSenmlErrors(errors: readonly SenmlError[]): string {
  return errors.map(formatSenmlError).join("; ");
}

function limitsOf(opts: Pick<ParseOptions, "now" | "limits">): SenmlLimits {
  // "now" below 2**28 would turn relative times into times SenML reads as relative again: a caller's bug.
  if (!Number.isFinite(opts.now) || opts.now < RELATIVE_TIME_LIMIT) {
    throw new RangeError(`senml: "now" must be Unix seconds (>= 2**28), not ${opts.now}`);
  }
  return { ...DEFAULT_LIMITS, ...opts.limits };
}

function fromSyntax(
  syntax: PackSyntax,
  opts: ParseOptions,
  limits: SenmlLimits,
): Accepted | PartlyAccepted | Refused {
  if (!syntax.ok) return refuse([syntax.error], limits);
  if (syntax.records.length === 0) {
    return refuse(
      [{ record: -1, reason: "the pack holds no record; it needs at least one (RFC 8428 section 11)" }],
      limits,
    );
  }
  const checked = syntax.records.map((parsed: ParsedRecord, index) =>
    checkRecord(parsed, index, limits, opts.units ?? "registered"),
  );
  const fatal = checked.filter((c) => c.fatal).flatMap((c) => c.errors);
  if (fatal.length > 0) return refuse(fatal, limits);

  const resolution = resolvePack(
    checked.map((c) => c.record),
    { now: opts.now, brokenBase: checked.map((c) => c.brokenBase), limits },
  );
  if (resolution.versionErrors.length > 0) return refuse(resolution.versionErrors, limits);

  const accepted: ResolvedRecord[] = [];
  const errors: SenmlError[] = [];
  resolution.outcomes.forEach((outcome, index) => {
    const own = (checked[index] as CheckedRecord).errors;
    if (own.length > 0) errors.push(...own);
    else if (outcome.kind === "resolved") accepted.push(outcome.record);
    // Strict mode names the root cause only; partial mode must account for each record it leaves out.
    else if (outcome.kind === "invalid" && (opts.partial === true || !outcome.dependency)) {
      errors.push(...outcome.errors);
    }
  });

  if (opts.partial === true) {
    if (accepted.length === 0) return refuse(errors.length > 0 ? errors : [noMeasurement()], limits);
    return { ok: true, records: chronological(accepted), rejected: capped(errors, limits) };
  }
  if (errors.length > 0) return refuse(errors, limits);
  if (accepted.length === 0) return refuse([noMeasurement()], limits);
  return { ok: true, records: chronological(accepted), pack: checked.map((c) => c.record) };
}

function noMeasurement(): SenmlError {
  return { record: -1, reason: "no record of the pack carries a value or a sum: it only sets base fields" };
}

function refuse(errors: SenmlError[], limits: SenmlLimits): Refused {
  return { ok: false, errors: capped(errors, limits) };
}

function capped(errors: SenmlError[], limits: SenmlLimits): SenmlError[] {
  if (errors.length <= limits.maxErrors) return errors;
  const shown = errors.slice(0, limits.maxErrors);
  const rest = errors.slice(limits.maxErrors);
  const records = new Set(rest.map((e) => e.record)).size;
  shown.push({
    record: -1,
    reason: `${rest.length} more errors, in ${records} records, not listed`,
  });
  return shown;
}
