// The consent record: who (subject) lets whom (recipient) receive what (scope: streams, optionally only
// some SenML names), why (purposes), on which legal basis, for how long (validity), and how long the
// recipient may keep it (retention); with the history of its states. Fields follow ISO/IEC TS
// 27560:2023 (consent record information structure) and name their Kantara Consent Receipt v1.1
// counterparts where one exists (see README "Consent"). Pure: no I/O.
import { z } from "zod";
import { type ConsentState, LEGAL_BASIS_CODES, PURPOSE_CODES, RECIPIENT_KINDS } from "./vocabulary";

/** Enedis Data Connect's precedent: a consent lasts at most three years. A deployment setting. */
export const DEFAULT_MAX_VALIDITY_DAYS = 3 * 365;
export const MAX_VALIDITY_ENV = "RELAIS_CONSENT_MAX_DAYS";

export function maxValidityDays(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[MAX_VALIDITY_ENV]);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_VALIDITY_DAYS;
}

const streamRef = z.object({ service: z.string().min(1), node: z.string().min(1) });
export type StreamRef = z.infer<typeof streamRef>;

export const recipientSchema = z.object({ kind: z.enum(RECIPIENT_KINDS), id: z.string().min(1).max(1024) });
export type Recipient = z.infer<typeof recipientSchema>;

/** What a requester sends: the part of a record that is asked for, not yet decided. */
export const consentRequestSchema = z.object({
  subject: z.string().min(1).max(1024).describe("the data subject's bare JID (ISO 27560 PII principal)"),
  recipient: recipientSchema,
  scope: z.object({
    streams: z.array(streamRef).min(1).max(100),
    names: z
      .array(z.string().min(1).max(256))
      .max(200)
      .optional()
      .describe("only these resolved SenML names are delivered (minimisation); absent: every record"),
  }),
  purposes: z
    .array(z.object({ code: z.enum(PURPOSE_CODES), text: z.string().max(1000).optional() }))
    .min(1)
    .max(10),
  legalBasis: z.enum(LEGAL_BASIS_CODES).default("Consent"),
  retentionDays: z.number().int().positive().max(36500).describe("how long the recipient may keep the data"),
  validDays: z.number().int().positive().describe("how long the consent lasts once granted"),
});
export type ConsentRequest = z.infer<typeof consentRequestSchema>;

export interface HistoryEntry {
  readonly state: ConsentState;
  /** ISO 8601. */
  readonly at: string;
  /** Who changed it: a JID, "tenant-admin:<key id>", or "system" (expiry). */
  readonly by: string;
  /** The door it came through. */
  readonly via: "xmpp" | "http" | "console" | "system";
  readonly note?: string;
}

export interface ConsentRecord extends ConsentRequest {
  readonly consentId: string;
  readonly tenantId: string;
  readonly state: ConsentState;
  /** Set when granted: ISO 8601. */
  readonly validFrom?: string;
  readonly validUntil?: string;
  readonly history: readonly HistoryEntry[];
}

export class ConsentRuleError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A new record in state "requested". */
export function requestConsent(
  consentId: string,
  tenantId: string,
  request: ConsentRequest,
  by: string,
  via: HistoryEntry["via"],
  now: Date,
  maxDays = maxValidityDays(),
): ConsentRecord {
  if (request.validDays > maxDays) {
    throw new ConsentRuleError(
      `a consent lasts at most ${maxDays} days on this deployment, not ${request.validDays}`,
      "validDays",
    );
  }
  return {
    ...request,
    consentId,
    tenantId,
    state: "requested",
    history: [{ state: "requested", at: now.toISOString(), by, via }],
  };
}

/** Which state may follow which. Expired and the refused/withdrawn ends are final: a new request starts over. */
const NEXT: Record<ConsentState, readonly ConsentState[]> = {
  requested: ["granted", "refused", "withdrawn"],
  granted: ["withdrawn", "expired"],
  refused: [],
  withdrawn: [],
  expired: [],
};

/**
 * The record after a change of state. Granting starts the validity period (its length may be
 * shortened by the subject, never lengthened past what was asked or the deployment's maximum).
 */
export function transition(
  record: ConsentRecord,
  to: ConsentState,
  change: { by: string; via: HistoryEntry["via"]; at: Date; note?: string; validDays?: number },
): ConsentRecord {
  const current = stateAt(record, change.at);
  if (!NEXT[current].includes(to)) {
    throw new ConsentRuleError(`a consent that is ${current} cannot become ${to}`, "state");
  }
  const entry: HistoryEntry = {
    state: to,
    at: change.at.toISOString(),
    by: change.by,
    via: change.via,
    ...(change.note ? { note: change.note } : {}),
  };
  if (to !== "granted") return { ...record, state: to, history: [...record.history, entry] };
  const days = change.validDays ?? record.validDays;
  if (days > record.validDays) {
    throw new ConsentRuleError(
      `the grant may shorten the ${record.validDays} days asked, not lengthen them`,
      "validDays",
    );
  }
  const until = new Date(change.at.getTime() + days * 86_400_000);
  return {
    ...record,
    state: "granted",
    validDays: days,
    validFrom: change.at.toISOString(),
    validUntil: until.toISOString(),
    history: [...record.history, entry],
  };
}

/** The state at `now`: a granted consent past its validity is expired even before anyone wrote so. */
export function stateAt(record: Pick<ConsentRecord, "state" | "validUntil">, now: Date): ConsentState {
  if (record.state === "granted" && record.validUntil && Date.parse(record.validUntil) <= now.getTime()) {
    return "expired";
  }
  return record.state;
}

export const recipientKey = (r: Recipient): string => `${r.kind}:${r.id}`;

/** The recipient keys a delivery to `jid` may be covered by: the JID's own, and its domain's. */
export function recipientKeysOfJid(bareJid: string): string[] {
  const domain = bareJid.includes("@") ? bareJid.slice(bareJid.indexOf("@") + 1) : bareJid;
  return [recipientKey({ kind: "jid", id: bareJid }), recipientKey({ kind: "domain", id: domain })];
}
