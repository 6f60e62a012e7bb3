// The rules of RFC 8428 that one record can be checked against on its own: field types, units, names,
// value fields, version, must-understand extensions. Rules that need the base values in effect (the
// resolved name, absolute time, a value or a sum) are checked in resolve.ts.
import { type BaseLabel, isLabel, LABELS, type Label, VALUE_LABELS } from "./labels";
import { LexicalError, type ParsedRecord } from "./parse";
import type { RawRecord, SenmlError, SenmlLimits } from "./types";
import { SENML_VERSION } from "./types";
import { lookupUnit, SENML_UNITS } from "./units";

/**
 * Which units a u or bu field may name. "registered": any unit of the IANA registry, primary or secondary
 * (Quoalise and other producers send Wh). "primary": RFC 8798 section 3's rule for SenML version 10, which
 * limits u to primary units.
 */
export type UnitPolicy = "registered" | "primary";

export interface CheckedRecord {
  /** The fields that passed; a field with an error is left out. */
  record: RawRecord;
  errors: SenmlError[];
  /** Base fields present but invalid: records that rely on them cannot be resolved. */
  brokenBase: BaseLabel[];
  /** An error that makes the whole pack unusable (a version this system does not understand). */
  fatal: boolean;
}

const NAME_CHAR = /^[-:./_A-Za-z0-9]$/;
const ALNUM = /^[A-Za-z0-9]$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function checkRecord(
  parsed: ParsedRecord,
  index: number,
  limits: SenmlLimits,
  units: UnitPolicy,
): CheckedRecord {
  const out: CheckedRecord = { record: {}, errors: [], brokenBase: [], fatal: false };
  if (!parsed.ok) {
    out.errors.push({ record: index, reason: parsed.reason });
    return out;
  }
  const fail = (field: string, reason: string) => {
    out.errors.push({ record: index, field, reason });
    if (field.startsWith("b") && isLabel(field)) out.brokenBase.push(field as BaseLabel);
  };

  for (const [label, value] of parsed.fields) {
    if (!isLabel(label)) {
      // RFC 8428 section 4.4: unknown fields are ignored, unless their label ends with '_'.
      if (label.endsWith("_")) {
        fail(
          label,
          "must-understand extension field (label ending with '_') that this system does not support (RFC 8428 section 4.4)",
        );
      }
      continue;
    }
    const problem = checkField(label, value, limits, units);
    if (problem === undefined) assign(out.record, label, value);
    else {
      fail(label, problem.reason);
      if (problem.fatal) out.fatal = true;
    }
  }

  const values = VALUE_LABELS.filter((label) => parsed.fields.has(label));
  if (values.length > 1) {
    out.errors.push({
      record: index,
      field: values[1],
      reason: `a record carries at most one value field, and this one has ${values.map((l) => `'${l}'`).join(", ")} (RFC 8428 section 4.2)`,
    });
  }
  return out;
}

function assign(record: RawRecord, label: Label, value: unknown): void {
  // checkField has established that value has the type RawRecord declares for label.
  (record as Record<Label, unknown>)[label] = value;
}

type Problem = { reason: string; fatal?: true };

function checkField(
  label: Label,
  value: unknown,
  limits: SenmlLimits,
  units: UnitPolicy,
): Problem | undefined {
  const kind = LABELS[label];
  if (value instanceof LexicalError) return { reason: `${quote(value.text)} is not ${value.expected}` };
  switch (kind) {
    case "string":
      if (typeof value !== "string") return { reason: `must be a string, not ${describe(value)}` };
      break;
    case "double":
    case "int":
      if (typeof value !== "number") return { reason: `must be a number, not ${describe(value)}` };
      if (!Number.isFinite(value)) return { reason: `must be a finite number, not ${value}` };
      break;
    case "boolean":
      if (typeof value !== "boolean") return { reason: `must be true or false, not ${describe(value)}` };
      break;
  }
  switch (label) {
    case "bn":
      return checkBaseName(value as string, limits);
    case "n":
      return tooLong(value as string, limits.maxNameLength, "a name");
    case "u":
    case "bu": {
      const reason = unitProblem(value as string, units);
      return reason === undefined ? undefined : { reason };
    }
    case "vs":
      return tooLong(value as string, limits.maxStringLength, "a string value");
    case "vd":
      return (
        tooLong(value as string, limits.maxStringLength, "a data value") ?? checkBase64url(value as string)
      );
    case "bver":
      return checkVersion(value as number);
    case "ut":
      return (value as number) < 0
        ? { reason: `an update time is a period and cannot be negative` }
        : undefined;
    default:
      return undefined;
  }
}

function checkBaseName(bn: string, limits: SenmlLimits): Problem | undefined {
  const long = tooLong(bn, limits.maxNameLength, "a base name");
  if (long !== undefined) return long;
  // A base name starts every name built from it, so it obeys the name rules on its own.
  const first = bn[0];
  if (first !== undefined && !ALNUM.test(first)) {
    return { reason: `${quote(bn)} must start with a letter or a digit (RFC 8428 section 4.5.1)` };
  }
  const bad = badNameChar(bn);
  if (bad !== undefined) return { reason: `${quote(bn)}: ${bad}` };
  return undefined;
}

/** What is wrong with a resolved name, if anything (RFC 8428 section 4.5.1). */
export function nameProblem(name: string, limits: SenmlLimits): string | undefined {
  if (name === "")
    return "the record has no name: neither n nor a base name in effect (RFC 8428 section 4.2)";
  if (name.length > limits.maxNameLength) {
    return `the name is ${name.length} characters long, more than the ${limits.maxNameLength} accepted`;
  }
  if (!ALNUM.test(name[0] ?? "")) {
    return `the name ${quote(name)} must start with a letter or a digit (RFC 8428 section 4.5.1)`;
  }
  const bad = badNameChar(name);
  return bad === undefined ? undefined : `the name ${quote(name)}: ${bad}`;
}

function badNameChar(name: string): string | undefined {
  for (const char of name) {
    if (!NAME_CHAR.test(char)) {
      return `character ${quote(char)} is not allowed; names use only letters, digits and - : . / _ (RFC 8428 section 4.5.1)`;
    }
  }
  return undefined;
}

function checkVersion(version: number): Problem | undefined {
  if (!Number.isInteger(version) || version < 1) {
    return { reason: `the version must be a positive integer, not ${version} (RFC 8428 section 4.1)` };
  }
  if (version > SENML_VERSION) {
    return {
      reason: `version ${version} is newer than SenML version ${SENML_VERSION}, which this system implements; the pack cannot be used (RFC 8428 section 4.4)`,
      fatal: true,
    };
  }
  return undefined;
}

function checkBase64url(vd: string): Problem | undefined {
  if (vd.includes("="))
    return { reason: "base64url without padding: remove the trailing '=' (RFC 8428 section 4.3)" };
  if (/[+/]/.test(vd)) {
    return {
      reason: "uses the base64 alphabet ('+', '/'); SenML uses base64url ('-', '_') (RFC 4648 section 5)",
    };
  }
  if (!BASE64URL.test(vd)) return { reason: "is not base64url (RFC 4648 section 5)" };
  if (vd.length % 4 === 1) return { reason: `is not base64url: a length of ${vd.length} cannot be decoded` };
  return undefined;
}

/** Why a unit symbol is not accepted under a policy, with a suggestion when one is near; undefined if fine. */
export function unitProblem(unit: string, policy: UnitPolicy = "registered"): string | undefined {
  const entry = lookupUnit(unit);
  if (entry === undefined) {
    const suggestions = suggestUnits(unit);
    const hint = suggestions.length === 0 ? "" : ` (did you mean ${suggestions.map(quote).join(" or ")}?)`;
    return `unknown unit ${quote(unit)}${hint}; units come from the IANA SenML units registry (RFC 8428 section 12.1, RFC 8798)`;
  }
  if (policy === "primary" && entry.primary !== undefined) {
    const { unit: primary, scale, offset } = entry.primary;
    const how = offset === 0 ? `multiply by ${scale}` : `multiply by ${scale} and add ${offset}`;
    return `unit ${quote(unit)} is a secondary unit; SenML version ${SENML_VERSION} takes only primary units in u and bu (RFC 8798 section 3): give the value in ${quote(primary)} (${how})`;
  }
  return undefined;
}

// Spellings seen in the wild that the registry writes otherwise.
const UNIT_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  "°C": "Cel",
  "℃": "Cel",
  degC: "Cel",
  celsius: "Cel",
  Ω: "Ohm",
  "m²": "m2",
  "m³": "m3",
  "µg/m3": "ug/m3",
  "μg/m3": "ug/m3",
  "µg/m³": "ug/m3",
  rpm: "1/min",
  bpm: "beat/min",
  "%rh": "%RH",
  percent: "/100",
});

function suggestUnits(unit: string): string[] {
  const alias = Object.hasOwn(UNIT_ALIASES, unit) ? UNIT_ALIASES[unit] : undefined;
  if (alias !== undefined) return [alias];
  const lower = unit.toLowerCase();
  return Object.keys(SENML_UNITS).filter((symbol) => symbol.toLowerCase() === lower);
}

function tooLong(text: string, max: number, what: string): Problem | undefined {
  return text.length > max
    ? { reason: `${what} of ${text.length} characters is longer than the ${max} accepted` }
    : undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/** A value quoted for an error message, cut short so that hostile input cannot make messages huge. */
export function quote(text: string): string {
  const short = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return `'${short}'`;
}
