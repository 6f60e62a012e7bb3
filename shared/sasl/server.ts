import { z } from "zod";
import {
  type CredentialLookup,
  decodeBase64Strict,
  failure,
  type Mechanism,
  type MechanismContext,
  randomNonce,
  type SaslChallenge,
  type SaslFailure,
  type SaslOptions,
  type SaslSuccess,
} from "./common";
import { plainAuthenticate } from "./plain";
import { scramFinish, scramStart, scramStateSchema } from "./scram";

// The server side of XMPP SASL (RFC 6120 section 6) as pure steps over a JSON state, because each client
// message is handled by a fresh invocation that loads the state stored with the session.

export type {
  CredentialLookup,
  DisabledAccount,
  LookupResult,
  Mechanism,
  SaslChallenge,
  SaslFailure,
  SaslFailureCondition,
  SaslOptions,
  SaslSuccess,
} from "./common";

/** Strongest first: the order to list them in <mechanisms/>. */
export const supportedMechanisms: readonly Mechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"];

/** Waiting for the first client message after an <auth/> that carried none (RFC 6120 section 6.4.2). */
const awaitingResponseSchema = z.object({
  v: z.literal(1),
  mechanism: z.enum(["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]),
  step: z.literal("initial-response"),
});

const saslStateSchema = z.discriminatedUnion("step", [awaitingResponseSchema, scramStateSchema]);

/** JSON-serializable; holds no password, key or anything else that would let its reader log in. */
export type SaslState = z.infer<typeof saslStateSchema>;

export type SaslOutcome = SaslChallenge<SaslState> | SaslSuccess | SaslFailure;

/** Longest base64 we decode: SASL messages here are a few hundred bytes; this bounds the work per frame. */
const MAX_BASE64_CHARS = 8192;
const utf8 = new TextDecoder("utf-8", { fatal: true });

type Decoded = { ok: true; text: string } | { ok: false; failure: SaslFailure };

/** The XML character data of <auth/> or <response/>: base64, where "=" (and, for <response/>, "") is empty. */
function decodeClientData(data: string): Decoded {
  const trimmed = data.trim();
  if (trimmed === "" || trimmed === "=") return { ok: true, text: "" };
  if (trimmed.length > MAX_BASE64_CHARS) {
    return { ok: false, failure: failure("malformed-request", "SASL data is too long") };
  }
  const bytes = decodeBase64Strict(trimmed);
  if (bytes === undefined) {
    return { ok: false, failure: failure("incorrect-encoding", "SASL data is not valid base64") };
  }
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    return { ok: false, failure: failure("malformed-request", "SASL data is not UTF-8") };
  }
}

function context(lookup: CredentialLookup, opts: SaslOptions): MechanismContext {
  const secret = opts.secret ?? process.env.RELAIS_SASL_SECRET;
  // Refuse to run without it rather than fall back to a known key, with which anyone could tell the fake
  // salts of unknown accounts from real ones.
  if (secret === undefined || secret === "") {
    throw new Error("SASL needs a server secret: pass opts.secret or set RELAIS_SASL_SECRET");
  }
  return { lookup, domain: opts.domain, secret, nonce: opts.nonce ?? randomNonce };
}

function isMechanism(name: string, offered: readonly Mechanism[]): name is Mechanism {
  return (offered as readonly string[]).includes(name);
}

async function firstMessage(
  mechanism: Mechanism,
  message: string,
  ctx: MechanismContext,
): Promise<SaslOutcome> {
  if (mechanism === "PLAIN") return plainAuthenticate(message, ctx);
  return scramStart(mechanism, message, ctx);
}

/**
 * Handles <auth mechanism="..."> (RFC 6120 section 6.4.2). `initialResponse` is its base64 text, "=" for an
 * empty one, undefined when the element had no text (the client waits for an empty challenge).
 * Throws only when no server secret is configured.
 */
export async function startSasl(
  mechanism: string,
  initialResponse: string | undefined,
  lookup: CredentialLookup,
  opts: SaslOptions = {},
): Promise<SaslOutcome> {
  const ctx = context(lookup, opts);
  if (!isMechanism(mechanism, opts.mechanisms ?? supportedMechanisms)) {
    return failure("invalid-mechanism", "mechanism not offered");
  }
  if (initialResponse === undefined || initialResponse.trim() === "") {
    return { kind: "challenge", data: "", state: { v: 1, mechanism, step: "initial-response" } };
  }
  const decoded = decodeClientData(initialResponse);
  if (!decoded.ok) return decoded.failure;
  return firstMessage(mechanism, decoded.text, ctx);
}

/**
 * Handles <response/> with the state returned by the previous step (as read back from storage: it is
 * validated here). Throws only when no server secret is configured.
 */
export async function continueSasl(
  state: SaslState,
  response: string,
  lookup: CredentialLookup,
  opts: SaslOptions = {},
): Promise<SaslOutcome> {
  const ctx = context(lookup, opts);
  const parsed = saslStateSchema.safeParse(state);
  if (!parsed.success) return failure("temporary-auth-failure", "stored SASL state is unreadable");
  const current = parsed.data;
  const decoded = decodeClientData(response);
  if (!decoded.ok) {
    const f = decoded.failure;
    if (current.step === "client-final") f.username = current.username;
    return f;
  }
  if (current.step === "initial-response") return firstMessage(current.mechanism, decoded.text, ctx);
  return scramFinish(current, decoded.text, ctx);
}

/** The client sent <abort/> (RFC 6120 section 6.4.4). */
export function abortSasl(state?: SaslState): SaslFailure {
  const username = state?.step === "client-final" ? state.username : undefined;
  return failure("aborted", undefined, username);
}
