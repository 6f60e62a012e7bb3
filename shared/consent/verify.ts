// What `npm run verify` checks, without I/O of its own: a receipt (its bytes as given) against the
// tenant's keys, and a chain read from the store against the tenant's keys.
import { readChain } from "./audit";
import { type ChainVerdict, verifyChain } from "./chain";
import type { SigningKey } from "./keys";
import { type SignedReceipt, verifyReceipt } from "./receipt";

export interface Report {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

export function verifyReceiptText(text: string, key?: SigningKey): Report {
  let signed: SignedReceipt;
  try {
    signed = JSON.parse(text) as SignedReceipt;
  } catch (err) {
    return {
      ok: false,
      lines: [`receipt: not JSON (${(err as Error).message}): it was altered or truncated`],
    };
  }
  if (typeof signed?.receipt !== "object" || typeof signed?.signature !== "object") {
    return { ok: false, lines: ["receipt: no receipt and signature in this file"] };
  }
  const verdict = verifyReceipt(signed, key ? new Map([[key.keyId, key.publicKey]]) : undefined);
  if (!verdict.ok)
    return { ok: false, lines: [`receipt ${signed.receipt.consentReceiptID}: ${verdict.reason}`] };
  return {
    ok: true,
    lines: [
      `receipt ${signed.receipt.consentReceiptID}: signature valid (key ${signed.signature.keyId}${key ? ", the tenant's" : ", not checked against the tenant's keys"})`,
      `  consent ${signed.receipt.consentId} ${signed.receipt.event} by ${signed.receipt.piiPrincipalId}, audit entry ${signed.receipt.audit.seq}`,
    ],
  };
}

export async function verifyStoredChain(
  chain: string,
  key: SigningKey,
): Promise<Report & { verdict: ChainVerdict }> {
  const { entries, checkpoints } = await readChain(chain);
  const verdict = verifyChain(entries, checkpoints, new Map([[key.keyId, key.publicKey]]));
  const lines = verdict.ok
    ? [
        `chain ${chain}: ${verdict.length} entries, intact; ${verdict.checkpointsChecked} signed checkpoint(s) agree`,
      ]
    : [`chain ${chain}: entry ${verdict.seq}: ${verdict.reason}`];
  return { ok: verdict.ok, lines, verdict };
}
