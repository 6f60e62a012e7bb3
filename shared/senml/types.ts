// The SenML data model (RFC 8428 section 4) as this module hands it out.

/** One record as sent, known fields only, each of its RFC type (RFC 8428 Table 1). */
export interface RawRecord {
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver?: number;
  n?: string;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  /** base64url without padding (RFC 4648 section 5). */
  vd?: string;
  s?: number;
  t?: number;
  ut?: number;
}

/**
 * A resolved record (RFC 8428 section 4.6): no base fields, the full name, an absolute time (Unix seconds),
 * the unit in effect, and exactly one value field or a sum (or both). `bver` is present only when the pack
 * used a version other than 10, as 4.6 requires.
 */
export interface ResolvedRecord {
  bver?: number;
  n: string;
  u?: string;
  t: number;
  ut?: number;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: string;
  s?: number;
}

/**
 * What is wrong, and where. `record` is the record's index in the pack, counted from 0 as in the JSON array
 * (the XML form counts <senml> elements the same way); -1 means the pack as a whole.
 */
export interface SenmlError {
  record: number;
  field?: string;
  reason: string;
}

export interface SenmlLimits {
  /** Largest pack accepted, in UTF-8 bytes. */
  maxBytes: number;
  /** Most records in one pack. */
  maxRecords: number;
  /** Longest bn, n, or resolved name, in characters. */
  maxNameLength: number;
  /** Longest vs or vd, in characters. */
  maxStringLength: number;
  /** Most errors listed; beyond it, one last entry counts the rest. */
  maxErrors: number;
}

export const DEFAULT_LIMITS: Readonly<SenmlLimits> = Object.freeze({
  maxBytes: 1_048_576,
  maxRecords: 10_000,
  maxNameLength: 512,
  maxStringLength: 65_536,
  maxErrors: 100,
});

/** SenML's own version (RFC 8428 section 4.4); a pack with a higher one must not be used. */
export const SENML_VERSION = 10;

/** Times below 2**28 are relative to "now" (RFC 8428 section 4.5.3). */
export const RELATIVE_TIME_LIMIT = 2 ** 28;

// RFC 8428 section 12.4; declared with the other namespaces Relais speaks.
export { NS_SENML } from "../xmpp/namespaces";
