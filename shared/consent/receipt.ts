// A consent receipt: what the subject is given when a consent is granted or withdrawn, signed with the
// tenant's Ed25519 key over its RFC 8785 canonical JSON, so that either party can later prove what was
// agreed. Field names follow the Kantara Consent Receipt v1.1 where it has one (consentReceiptID,
// consentTimestamp, piiPrincipalId, piiControllers, purposes...) and carry ISO/IEC TS 27560's
// record fields otherwise. It also names the audit entry that logged the change. Pure.
import { canonicalJson } from "./chain";
import { type SigningKey, signText, verifyText } from "./keys";
import type { ConsentRecord } from "./record";
import { DPV } from "./vocabulary";

export interface ConsentReceipt {
  readonly version: "relais-consent-receipt/1";
  readonly consentReceiptID: string;
  /** Unix seconds, as the Kantara receipt has it. */
  readonly consentTimestamp: number;
  readonly collectionMethod: string;
  readonly piiPrincipalId: string;
  readonly piiControllers: readonly { readonly piiController: string; readonly domain: string }[];
  readonly consentId: string;
  readonly event: "granted" | "withdrawn" | "refused";
  readonly recipient: ConsentRecord["recipient"];
  readonly scope: ConsentRecord["scope"];
  readonly purposes: readonly { readonly purpose: string; readonly purposeCategory: string }[];
  readonly legalBasis: string;
  readonly retentionDays: number;
  readonly validFrom?: string;
  readonly validUntil?: string;
  readonly audit: { readonly chain: string; readonly seq: number; readonly hash: string };
}

export interface SignedReceipt {
  readonly receipt: ConsentReceipt;
  readonly signature: {
    readonly alg: "EdDSA";
    readonly keyId: string;
    readonly publicKey: string;
    readonly value: string;
  };
}

export function makeReceipt(
  record: ConsentRecord,
  event: ConsentReceipt["event"],
  controllerDomain: string,
  audit: ConsentReceipt["audit"],
  at: Date,
  receiptId: string,
): ConsentReceipt {
  const last = record.history.at(-1);
  return {
    version: "relais-consent-receipt/1",
    consentReceiptID: receiptId,
    consentTimestamp: Math.floor(at.getTime() / 1000),
    collectionMethod: last ? `${last.via}, by ${last.by}` : "unknown",
    piiPrincipalId: record.subject,
    piiControllers: [{ piiController: record.tenantId, domain: controllerDomain }],
    consentId: record.consentId,
    event,
    recipient: record.recipient,
    scope: record.scope,
    purposes: record.purposes.map((p) => ({ purpose: p.text ?? p.code, purposeCategory: `${DPV}${p.code}` })),
    legalBasis: `${DPV}${record.legalBasis}`,
    retentionDays: record.retentionDays,
    ...(record.validFrom ? { validFrom: record.validFrom } : {}),
    ...(record.validUntil ? { validUntil: record.validUntil } : {}),
    audit,
  };
}

export function signReceipt(receipt: ConsentReceipt, key: SigningKey): SignedReceipt {
  return {
    receipt,
    signature: {
      alg: "EdDSA",
      keyId: key.keyId,
      publicKey: key.publicKey,
      value: signText(key, canonicalJson(receipt)),
    },
  };
}

/**
 * Checks a receipt's signature, and that it was made with one of the tenant's keys when those are
 * given (a receipt carries its public key, so without them it only proves it was not altered).
 */
export function verifyReceipt(
  signed: SignedReceipt,
  trusted?: ReadonlyMap<string, string>,
): { ok: true } | { ok: false; reason: string } {
  const { signature } = signed;
  if (signature?.alg !== "EdDSA") return { ok: false, reason: "the receipt has no EdDSA signature" };
  if (trusted && trusted.get(signature.keyId) !== signature.publicKey) {
    return { ok: false, reason: `key ${signature.keyId} is not one of the tenant's keys` };
  }
  if (!verifyText(signature.publicKey, canonicalJson(signed.receipt), signature.value)) {
    return {
      ok: false,
      reason: "the signature does not match the receipt: it was altered, or signed by another key",
    };
  }
  return { ok: true };
}
