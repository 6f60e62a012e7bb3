// Resolution (RFC 8428 section 4.6): base fields apply to their record and to the records after it, until a
// record sets the same base field again. A resolved record has its full name (bn + n), an absolute time
// (bt + t, and "now" + that when below 2**28), its unit (u, else bu), its value (bv + v) and sum (bs + s),
// and no base field; bver only when the pack's version is not 10.
import { BASE_LABELS, type BaseLabel, REGULAR_LABELS } from "./labels";
import {
  DEFAULT_LIMITS,
  type RawRecord,
  RELATIVE_TIME_LIMIT,
  type ResolvedRecord,
  SENML_VERSION,
  type SenmlError,
  type SenmlLimits,
} from "./types";
import { nameProblem } from "./validate";

export type Outcome =
  | { kind: "resolved"; record: ResolvedRecord }
  /** A record with base fields only (e.g. RFC 8428 5.1.7's first record): it sets context, measures nothing. */
  | { kind: "base-only" }
  /** `dependency`: every error comes from a broken base field set by an earlier record. */
  | { kind: "invalid"; errors: SenmlError[]; dependency: boolean };

export interface Resolution {
  outcomes: Outcome[];
  /** Records whose version differs from the pack's: the pack as a whole cannot be used. */
  versionErrors: SenmlError[];
}

export interface ResolveOptions {
  /** "Now", in Unix seconds: the reference of relative times. */
  now: number;
  /** Per record, base fields it carried with invalid values (see validate.ts). */
  brokenBase?: ReadonlyArray<readonly BaseLabel[]>;
  limits?: SenmlLimits;
}

type BaseState = {
  [L in BaseLabel]?: { value: NonNullable<RawRecord[L]>; from: number } | { broken: number };
};

export function resolvePack(pack: readonly RawRecord[], options: ResolveOptions): Resolution {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const base: BaseState = {};
  const outcomes: Outcome[] = [];
  const versionErrors: SenmlError[] = [];
  let packVersion: { version: number; from: number } | undefined;

  pack.forEach((raw, index) => {
    for (const label of options.brokenBase?.[index] ?? []) base[label] = { broken: index };
    for (const label of BASE_LABELS) {
      const value = raw[label];
      if (value !== undefined) (base as Record<BaseLabel, unknown>)[label] = { value, from: index };
    }

    // A broken bver is an error of its own record; the records after it are checked against the rest.
    const version = current(base.bver);
    if (version.kind !== "broken") {
      const mine = version.kind === "value" ? version.value : SENML_VERSION;
      if (packVersion === undefined) packVersion = { version: mine, from: index };
      else if (packVersion.version !== mine) {
        versionErrors.push({
          record: index,
          field: "bver",
          reason: `version ${mine} differs from version ${packVersion.version} of record ${packVersion.from}: all records of a pack have the same version (RFC 8428 section 4.4)`,
        });
      }
    }

    if (!REGULAR_LABELS.some((label) => raw[label] !== undefined)) {
      outcomes.push({ kind: "base-only" });
      return;
    }
    outcomes.push(resolveOne(raw, index, base, packVersion?.version ?? SENML_VERSION, options.now, limits));
  });
  return { outcomes, versionErrors };
}

type Current<T> =
  | { kind: "none" }
  | { kind: "broken"; from: number }
  | { kind: "value"; value: T; from: number };

function current<T>(state: { value: T; from: number } | { broken: number } | undefined): Current<T> {
  if (state === undefined) return { kind: "none" };
  if ("broken" in state) return { kind: "broken", from: state.broken };
  return { kind: "value", value: state.value, from: state.from };
}

function resolveOne(
  raw: RawRecord,
  index: number,
  base: BaseState,
  version: number,
  now: number,
  limits: SenmlLimits,
): Outcome {
  const errors: SenmlError[] = [];
  const dependencies: SenmlError[] = [];
  // The value of a base field this record uses, or undefined after noting that it cannot be used.
  const use = <L extends BaseLabel>(label: L): NonNullable<RawRecord[L]> | undefined => {
    const state = current(base[label] as { value: NonNullable<RawRecord[L]>; from: number } | undefined);
    if (state.kind === "broken") {
      dependencies.push({
        record: index,
        field: label,
        reason: `depends on field '${label}' of record ${state.from}, which is invalid`,
      });
      return undefined;
    }
    return state.kind === "value" ? state.value : undefined;
  };
  const brokenBefore = () => dependencies.length;

  // Checks that a broken base field would only make wrong are skipped: the dependency is the error.
  let mark = brokenBefore();
  const name = (use("bn") ?? "") + (raw.n ?? "");
  const badName = brokenBefore() > mark ? undefined : nameProblem(name, limits);
  if (badName !== undefined)
    errors.push({ record: index, field: raw.n !== undefined || name === "" ? "n" : "bn", reason: badName });

  mark = brokenBefore();
  const relative = (use("bt") ?? 0) + (raw.t ?? 0);
  const t = relative < RELATIVE_TIME_LIMIT ? now + relative : relative;
  const timeBroken = brokenBefore() > mark;
  if (!timeBroken && !Number.isFinite(t)) {
    errors.push({ record: index, field: "t", reason: "the time (bt + t) is out of range" });
  } else if (!timeBroken && t < RELATIVE_TIME_LIMIT) {
    errors.push({
      record: index,
      field: "t",
      reason: `the time resolves to ${t}, before 1978-07-04T21:24:16Z (2**28 s), which SenML cannot express as an absolute time (RFC 8428 section 4.5.3)`,
    });
  }

  const resolved: ResolvedRecord = { n: name, t };
  if (version !== SENML_VERSION) resolved.bver = version;
  const unit = raw.u ?? use("bu");
  if (unit !== undefined) resolved.u = unit;
  if (raw.ut !== undefined) resolved.ut = raw.ut;
  if (raw.v !== undefined) {
    const v = (use("bv") ?? 0) + raw.v;
    if (Number.isFinite(v)) resolved.v = v;
    else errors.push({ record: index, field: "v", reason: "the value (bv + v) is out of range" });
  }
  if (raw.vs !== undefined) resolved.vs = raw.vs;
  if (raw.vb !== undefined) resolved.vb = raw.vb;
  if (raw.vd !== undefined) resolved.vd = raw.vd;
  // A base sum gives every record after it a sum, even one without s (RFC 8428 section 4.5.4).
  const bs = use("bs");
  if (raw.s !== undefined || bs !== undefined) {
    const s = (bs ?? 0) + (raw.s ?? 0);
    if (Number.isFinite(s)) resolved.s = s;
    else errors.push({ record: index, field: "s", reason: "the sum (bs + s) is out of range" });
  }
  const hasValue =
    raw.v !== undefined || raw.vs !== undefined || raw.vb !== undefined || raw.vd !== undefined;
  if (!hasValue && raw.s === undefined && bs === undefined && !dependencies.some((d) => d.field === "bs")) {
    errors.push({
      record: index,
      reason: "the record has no value: it needs one of v, vs, vb, vd, or a sum s (RFC 8428 section 4.2)",
    });
  }

  if (errors.length === 0 && dependencies.length === 0) return { kind: "resolved", record: resolved };
  return { kind: "invalid", errors: [...dependencies, ...errors], dependency: errors.length === 0 };
}

/**
 * Records in chronological order, as resolved records must be (RFC 8428 section 4.6); records with the same
 * time keep their order in the pack.
 */
export function chronological(records: readonly ResolvedRecord[]): ResolvedRecord[] {
  // Array.prototype.sort is stable (ES2019).
  return [...records].sort((a, b) => a.t - b.t);
}
