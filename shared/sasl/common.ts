import { randomBytes } from "node:crypto";
import type { StoredCredentials } from "./credentials";

export type Mechanism = "SCRAM-SHA-256" | "SCRAM-SHA-1" | "PLAIN";

/** RFC 6120 section 6.5 */
export type SaslFailureCondition =
  | "aborted"
  | "account-disabled"
  | "credentials-expired"
  | "encryption-required"
  | "incorrect-encoding"
  | "invalid-authzid"
  | "invalid-mechanism"
  | "malformed-request"
  | "mechanism-too-weak"
  | "not-authorized"
  | "temporary-auth-failure";

export interface SaslFailure {
  kind: "failure";
  condition: SaslFailureCondition;
  /** for the <text/> child: says what was malformed, never whether an account exists */
  text?: string;
  /** the SASLprepped username when it was read, so that callers can count failed attempts per account */
  username?: string;
  /** what the credential lookup threw, for the caller's logs (not JSON, not for the client) */
  cause?: unknown;
}

export interface SaslSuccess {
  kind: "success";
  /** base64 additional data for <success/> (the SCRAM server-final-message), absent for none */
  data?: string;
  /** the authenticated username (localpart) after SASLprep, as the client spelled it */
  username: string;
}

export interface SaslChallenge<State> {
  kind: "challenge";
  /** base64, "" for an empty challenge */
  data: string;
  state: State;
}

/** An account that exists but may not log in. With credentials, the client learns that only after proving
 * the password; without, anyone asking learns that the account exists. */
export interface DisabledAccount {
  disabled: true;
  credentials?: StoredCredentials;
}

export type LookupResult = StoredCredentials | DisabledAccount | undefined;

/** Finds an account by the SASLprepped username; undefined when there is none. */
export type CredentialLookup = (username: string) => Promise<LookupResult>;

export interface SaslOptions {
  /** The stream's domain. An authzid is accepted only when it is the bare JID `username@domain`. */
  domain?: string;
  /** Keys the fake credentials of unknown accounts. Default: env RELAIS_SASL_SECRET; one of them is required.
   * Must be the same for every invocation, or an unknown name would get a different salt each time. */
  secret?: string;
  /** The mechanisms offered on this stream (e.g. without PLAIN on an unencrypted one). Default: all. */
  mechanisms?: readonly Mechanism[];
  /** The server's part of the SCRAM nonce; printable ASCII without ",". For test vectors. */
  nonce?: () => string;
}

/** What the mechanisms need, resolved once per call. */
export interface MechanismContext {
  lookup: CredentialLookup;
  domain: string | undefined;
  secret: string;
  nonce: () => string;
}

export function failure(condition: SaslFailureCondition, text?: string, username?: string): SaslFailure {
  const out: SaslFailure = { kind: "failure", condition };
  if (text !== undefined) out.text = text;
  if (username !== undefined) out.username = username;
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes base64 as SASL data must be written (RFC 6120 section 6.4.2 points to RFC 4648 section 4): padded,
 * no whitespace, no stray bits in the last character. Undefined for anything else; Buffer.from is lenient.
 */
export function decodeBase64Strict(data: string): Buffer | undefined {
  if (!BASE64.test(data)) return undefined;
  const bytes = Buffer.from(data, "base64");
  return bytes.toString("base64") === data ? bytes : undefined;
}

export function randomNonce(): string {
  return randomBytes(24).toString("base64url");
}

export type ResolvedAccount =
  | { kind: "found"; credentials: StoredCredentials | undefined; disabled: boolean }
  | { kind: "failed"; failure: SaslFailure };

/** Runs the lookup; credentials is undefined for an unknown account (the caller then goes on with fakes). */
export async function resolveAccount(lookup: CredentialLookup, username: string): Promise<ResolvedAccount> {
  let result: LookupResult;
  try {
    result = await lookup(username);
  } catch (cause) {
    const f = failure("temporary-auth-failure", undefined, username);
    f.cause = cause;
    return { kind: "failed", failure: f };
  }
  if (result === undefined) return { kind: "found", credentials: undefined, disabled: false };
  if ("disabled" in result) {
    if (result.credentials === undefined) {
      return { kind: "failed", failure: failure("account-disabled", undefined, username) };
    }
    return { kind: "found", credentials: result.credentials, disabled: true };
  }
  return { kind: "found", credentials: result, disabled: false };
}

/**
 * RFC 6120 section 6.3.8: we let an entity act only as itself, so an authzid must be the bare JID of the
 * authenticated account. Localpart and domain compare case-insensitively, as JIDs do after PRECIS mapping.
 */
export function authzidAllowed(authzid: string, username: string, domain: string | undefined): boolean {
  if (domain === undefined) return false;
  return authzid.toLowerCase() === `${username}@${domain}`.toLowerCase();
}
