import { z } from "zod";
import {
  authzidAllowed,
  decodeBase64Strict,
  failure,
  type MechanismContext,
  resolveAccount,
  type SaslChallenge,
  type SaslFailure,
  type SaslSuccess,
} from "./common";
import {
  constantTimeEqual,
  digest,
  fakeCredential,
  HASH_OF,
  hashLength,
  hmac,
  type ScramCredential,
  type ScramMechanismName,
  saslprepSafe,
} from "./credentials";

// SCRAM server side, RFC 5802 (SHA-1) and RFC 7677 (SHA-256), without channel binding (no -PLUS offered).

/**
 * Between server-first and client-final. Holds only what went over the wire plus the username: reading it
 * does not help anyone log in. The keys are looked up again on the client's answer.
 */
export const scramStateSchema = z.object({
  v: z.literal(1),
  mechanism: z.enum(["SCRAM-SHA-1", "SCRAM-SHA-256"]),
  step: z.literal("client-final"),
  username: z.string(),
  gs2Header: z.string(),
  clientFirstBare: z.string(),
  serverFirst: z.string(),
  nonce: z.string(),
  salt: z.string(),
  iterations: z.number().int(),
});
export type ScramState = z.infer<typeof scramStateSchema>;

type Outcome = SaslChallenge<ScramState> | SaslSuccess | SaslFailure;

class Malformed extends Error {}

/** printable = %x21-2B / %x2D-7E: visible ASCII except "," */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const ATTRIBUTE = /^[A-Za-z]=/;

/** saslname (RFC 5802 section 5.1): "," and "=" are sent as "=2C" and "=3D"; any other "=" is an error. */
function decodeSaslname(value: string, what: string): string {
  if (value === "") throw new Malformed(`empty ${what}`);
  if (value.includes("\0")) throw new Malformed(`NUL in ${what}`);
  return value.replace(/=(2C|3D)?/g, (_m, code: string | undefined) => {
    if (code === "2C") return ",";
    if (code === "3D") return "=";
    throw new Malformed(`bad "=" escape in ${what}: only =2C and =3D are allowed`);
  });
}

interface ClientFirst {
  gs2Header: string;
  authzid: string | undefined;
  username: string;
  clientNonce: string;
  clientFirstBare: string;
}

function parseClientFirst(message: string): ClientFirst {
  if (message.startsWith("p=")) throw new Malformed("channel binding is not supported (no -PLUS mechanism)");
  if (!message.startsWith("n,") && !message.startsWith("y,")) {
    throw new Malformed('client-first-message must start with the GS2 flag "n," or "y,"');
  }
  const authzidEnd = message.indexOf(",", 2);
  if (authzidEnd < 0) throw new Malformed("GS2 header is not terminated by a comma");
  const authzidField = message.slice(2, authzidEnd);
  let authzid: string | undefined;
  if (authzidField !== "") {
    if (!authzidField.startsWith("a=")) throw new Malformed('GS2 authzid must start with "a="');
    authzid = decodeSaslname(authzidField.slice(2), "authzid");
  }
  const gs2Header = message.slice(0, authzidEnd + 1);
  const clientFirstBare = message.slice(authzidEnd + 1);
  const fields = clientFirstBare.split(",");
  if (fields[0]?.startsWith("m=")) throw new Malformed("mandatory SCRAM extensions are not supported");
  const [userField, nonceField, ...extensions] = fields;
  if (userField === undefined || !userField.startsWith("n=")) throw new Malformed('expected "n=" username');
  if (nonceField === undefined || !nonceField.startsWith("r=")) throw new Malformed('expected "r=" nonce');
  const clientNonce = nonceField.slice(2);
  if (!PRINTABLE.test(clientNonce)) throw new Malformed("client nonce is empty or not printable ASCII");
  for (const ext of extensions) {
    if (!ATTRIBUTE.test(ext)) throw new Malformed("extension is not attr=value");
  }
  return {
    gs2Header,
    authzid,
    username: decodeSaslname(userField.slice(2), "username"),
    clientNonce,
    clientFirstBare,
  };
}

/** The username as looked up and returned. SASLprep as a query (RFC 4013): unassigned code points pass. */
export function prepareUsername(name: string): string {
  let prepared: string;
  try {
    prepared = saslprepSafe(name, true);
  } catch {
    throw new Malformed("username has characters SASLprep prohibits");
  }
  if (prepared === "") throw new Malformed("username is empty after SASLprep");
  return prepared;
}

function credentialFor(
  mechanism: ScramMechanismName,
  username: string,
  ctx: MechanismContext,
  found: { credentials: { [K in ScramMechanismName]?: ScramCredential } | undefined },
): { credential: ScramCredential; real: boolean } {
  const real = found.credentials?.[mechanism];
  if (real !== undefined) return { credential: real, real: true };
  return { credential: fakeCredential(ctx.secret, mechanism, username), real: false };
}

/** client-first-message → server-first-message (or a failure). */
export async function scramStart(
  mechanism: ScramMechanismName,
  message: string,
  ctx: MechanismContext,
): Promise<Outcome> {
  let first: ClientFirst;
  let username: string;
  try {
    first = parseClientFirst(message);
    username = prepareUsername(first.username);
  } catch (e) {
    if (e instanceof Malformed) return failure("malformed-request", e.message);
    throw e;
  }
  if (first.authzid !== undefined && !authzidAllowed(first.authzid, username, ctx.domain)) {
    return failure("invalid-authzid", "authzid must be absent or the bare JID of the account", username);
  }
  const account = await resolveAccount(ctx.lookup, username);
  if (account.kind === "failed") return account.failure;
  // An unknown account gets a stable fake salt and count, so the challenge looks like a real one.
  const { credential } = credentialFor(mechanism, username, ctx, account);
  const serverPart = ctx.nonce();
  if (!PRINTABLE.test(serverPart)) throw new Error("server nonce must be printable ASCII without commas");
  const nonce = first.clientNonce + serverPart;
  const serverFirst = `r=${nonce},s=${credential.salt},i=${credential.iterations}`;
  return {
    kind: "challenge",
    data: Buffer.from(serverFirst, "utf8").toString("base64"),
    state: {
      v: 1,
      mechanism,
      step: "client-final",
      username,
      gs2Header: first.gs2Header,
      clientFirstBare: first.clientFirstBare,
      serverFirst,
      nonce,
      salt: credential.salt,
      iterations: credential.iterations,
    },
  };
}

interface ClientFinal {
  withoutProof: string;
  channelBinding: string;
  nonce: string;
  proof: string;
}

function parseClientFinal(message: string): ClientFinal {
  const proofAt = message.lastIndexOf(",p=");
  if (proofAt < 0) throw new Malformed('client-final-message must end with ",p=" proof');
  const withoutProof = message.slice(0, proofAt);
  const proof = message.slice(proofAt + 3);
  const [cbField, nonceField, ...extensions] = withoutProof.split(",");
  if (cbField === undefined || !cbField.startsWith("c="))
    throw new Malformed('expected "c=" channel binding');
  if (nonceField === undefined || !nonceField.startsWith("r=")) throw new Malformed('expected "r=" nonce');
  for (const ext of extensions) {
    if (!ATTRIBUTE.test(ext)) throw new Malformed("extension is not attr=value");
  }
  return { withoutProof, channelBinding: cbField.slice(2), nonce: nonceField.slice(2), proof };
}

function strictBase64(value: string, what: string): Buffer {
  const bytes = decodeBase64Strict(value);
  if (bytes === undefined) throw new Malformed(`${what} is not valid base64`);
  return bytes;
}

/** client-final-message → success with the server-final-message, or a failure. */
export async function scramFinish(
  state: ScramState,
  message: string,
  ctx: MechanismContext,
): Promise<Outcome> {
  const { mechanism, username } = state;
  const hash = HASH_OF[mechanism];
  let final: ClientFinal;
  let proof: Buffer;
  try {
    final = parseClientFinal(message);
    // Without channel binding, c= carries the GS2 header alone, and must repeat the one sent first.
    if (!strictBase64(final.channelBinding, "c=").equals(Buffer.from(state.gs2Header, "utf8"))) {
      throw new Malformed("c= does not match the GS2 header of the client-first-message");
    }
    if (final.nonce !== state.nonce) throw new Malformed("r= is not the nonce of the server-first-message");
    proof = strictBase64(final.proof, "p=");
    if (proof.length !== hashLength(hash)) throw new Malformed(`proof must be ${hashLength(hash)} bytes`);
  } catch (e) {
    if (e instanceof Malformed) return failure("malformed-request", e.message, username);
    throw e;
  }

  const account = await resolveAccount(ctx.lookup, username);
  if (account.kind === "failed") return account.failure;
  let { credential, real } = credentialFor(mechanism, username, ctx, account);
  if (credential.salt !== state.salt || credential.iterations !== state.iterations) {
    // The password changed mid-exchange: the proof was made with the old salt. Fail the same slow way.
    credential = fakeCredential(ctx.secret, mechanism, username);
    real = false;
  }

  // RFC 5802 section 3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); valid if H(ClientKey) = StoredKey.
  const authMessage = `${state.clientFirstBare},${state.serverFirst},${final.withoutProof}`;
  const storedKey = Buffer.from(credential.storedKey, "base64");
  const clientSignature = hmac(hash, storedKey, authMessage);
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
  const proofValid = constantTimeEqual(digest(hash, clientKey), storedKey);
  const serverSignature = hmac(hash, Buffer.from(credential.serverKey, "base64"), authMessage);

  if (!proofValid || !real) return failure("not-authorized", undefined, username);
  if (account.disabled) return failure("account-disabled", undefined, username);
  return {
    kind: "success",
    data: Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8").toString("base64"),
    username,
  };
}
