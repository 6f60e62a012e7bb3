// Schemas and views shared by the two consent doors (/v1/consents for the tenant, /v1/me for the subject),
// and the mapping of the consent core's errors to problems.
import { z } from "@hono/zod-openapi";
import { type ConsentRecord, ConsentRuleError } from "../../consent/record";
import type { RightsRequest } from "../../consent/rights";
import { ConsentNotFound, type StoredConsent } from "../../consent/store";
import { DPV, STATES } from "../../consent/vocabulary";
import { ProblemError } from "../problem";

const Json = z.record(z.string(), z.unknown());

export const ConsentSchema = z
  .object({
    consentId: z.string(),
    subject: z.string().openapi({ description: "The data subject's bare JID" }),
    recipient: z.object({ kind: z.string(), id: z.string() }),
    purposes: z.array(z.object({ code: z.string(), iri: z.string(), text: z.string().optional() })),
    legalBasis: z.string(),
    scope: z.object({
      streams: z.array(z.object({ service: z.string(), node: z.string() })),
      names: z.array(z.string()).optional(),
    }),
    retentionDays: z.number().int(),
    validDays: z.number().int(),
    state: z.enum(STATES).openapi({ description: "Now: a granted consent past validUntil is expired" }),
    requestedAt: z.string(),
    validFrom: z.string().optional(),
    validUntil: z.string().optional(),
    history: z.array(
      z.object({
        state: z.string(),
        at: z.string(),
        by: z.string(),
        via: z.string(),
        note: z.string().optional(),
      }),
    ),
  })
  .openapi("Consent");

export const ReceiptSchema = z
  .object({ receipt: Json, signature: Json })
  .openapi("ConsentReceipt", { description: "Kantara-style receipt, Ed25519-signed over its RFC 8785 JSON" });

export const StoredConsentSchema = z
  .object({ consent: ConsentSchema, receipts: z.array(ReceiptSchema) })
  .openapi("ConsentWithReceipts");

export function consentView(r: ConsentRecord): z.infer<typeof ConsentSchema> {
  return {
    consentId: r.consentId,
    subject: r.subject,
    recipient: { ...r.recipient },
    purposes: r.purposes.map((p) => ({
      code: p.code,
      iri: `${DPV}${p.code}`,
      ...(p.text ? { text: p.text } : {}),
    })),
    legalBasis: r.legalBasis,
    scope: {
      streams: r.scope.streams.map((s) => ({ ...s })),
      ...(r.scope.names ? { names: [...r.scope.names] } : {}),
    },
    retentionDays: r.retentionDays,
    validDays: r.validDays,
    state: r.state,
    requestedAt: r.history[0]?.at ?? "",
    ...(r.validFrom ? { validFrom: r.validFrom } : {}),
    ...(r.validUntil ? { validUntil: r.validUntil } : {}),
    history: r.history.map((h) => ({ ...h })),
  };
}

export const receiptView = (r: StoredConsent["receipts"][number]): z.infer<typeof ReceiptSchema> => ({
  receipt: { ...r.receipt },
  signature: { ...r.signature },
});

export const storedView = (s: StoredConsent): z.infer<typeof StoredConsentSchema> => ({
  consent: consentView(s.record),
  receipts: s.receipts.map(receiptView),
});

export const RightsRequestSchema = z
  .object({
    requestId: z.string(),
    subject: z.string(),
    kind: z.enum(["rectification", "erasure"]),
    details: z.string(),
    state: z.enum(["open", "done"]),
    requestedAt: z.string(),
    doneAt: z.string().optional(),
    doneBy: z.string().optional(),
    outcome: Json.optional(),
  })
  .openapi("RightsRequest");

export function requestView(r: RightsRequest): z.infer<typeof RightsRequestSchema> {
  const { tenantId: _, outcome, ...rest } = r;
  return { ...rest, ...(outcome ? { outcome: { ...outcome } } : {}) };
}

/** Runs a consent change, mapping the core's refusals to problems: a rule to 400/409, a missing record to 404. */
export async function consentProblems<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConsentNotFound) {
      throw new ProblemError("not-found", err.message, [
        { field: "consentId", reason: "no such consent", in: "path" },
      ]);
    }
    if (err instanceof ConsentRuleError) {
      if (err.field === "state") {
        throw new ProblemError("consent-state", err.message, [
          { field: "consentId", reason: err.message, in: "path" },
        ]);
      }
      throw new ProblemError("validation", err.message, [
        { field: err.field ?? "(body)", reason: err.message, in: "body" },
      ]);
    }
    throw err;
  }
}
