import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import saslprep from "@mongodb-js/saslprep";

const pbkdf2Async = promisify(pbkdf2);

export type ScramHash = "SHA-1" | "SHA-256";

/** What a server keeps for one SCRAM mechanism (RFC 5802 section 3): enough to verify, nothing to log in with. */
export interface ScramCredential {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 of H(ClientKey) */
  storedKey: string;
  /** base64 of HMAC(SaltedPassword, "Server Key") */
  serverKey: string;
}

export interface StoredCredentials {
  "SCRAM-SHA-1": ScramCredential;
  "SCRAM-SHA-256": ScramCredential;
}

export type ScramMechanismName = keyof StoredCredentials;

/**
 * 10,000, as Prosody uses: RFC 7677 asks for at least 4096, and the far higher counts that password-storage
 * guides give assume only the server computes the hash, whereas every SCRAM client runs PBKDF2 on each
 * login (xmpp.js does it one WebCrypto HMAC per round: about 0.3 s for 4096 rounds, 0.7 s for 10,000, on
 * this project's machines). The count is stored per credential, so it can be raised for new passwords.
 */
export const DEFAULT_ITERATIONS = 10_000;
/** RFC 7677 section 4: "the iteration count ... SHOULD be at least 4096". */
export const MIN_ITERATIONS = 4096;
const SALT_BYTES = 16;

const NODE_HASH: Record<ScramHash, { name: string; bytes: number }> = {
  "SHA-1": { name: "sha1", bytes: 20 },
  "SHA-256": { name: "sha256", bytes: 32 },
};

export const HASH_OF: Record<ScramMechanismName, ScramHash> = {
  "SCRAM-SHA-1": "SHA-1",
  "SCRAM-SHA-256": "SHA-256",
};

export function hashLength(hash: ScramHash): number {
  return NODE_HASH[hash].bytes;
}

export function hmac(hash: ScramHash, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(NODE_HASH[hash].name, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Uint8Array): Buffer {
  return createHash(NODE_HASH[hash].name).update(data).digest();
}

/** Hi() of RFC 5802 is PBKDF2 with HMAC and a single output block. */
function saltedPassword(hash: ScramHash, password: string, salt: Uint8Array, iterations: number) {
  return pbkdf2Async(password, salt, iterations, NODE_HASH[hash].bytes, NODE_HASH[hash].name);
}

/**
 * The password as SCRAM and PLAIN hash it. `stored` follows RFC 4013's split: unassigned code points are
 * refused when setting a password and allowed when checking one. Throws on prohibited characters.
 */
export function preparePassword(password: string, stored: boolean): string {
  return saslprepSafe(password, !stored);
}

/**
 * SASLprep (RFC 4013); throws on prohibited or (unless allowed) unassigned code points. @mongodb-js/saslprep
 * 1.6.3 crashes with a TypeError when the input maps to nothing (e.g. a lone U+00AD, on reading the first
 * character for its bidi check): that case is the empty string.
 */
export function saslprepSafe(input: string, allowUnassigned: boolean): string {
  try {
    return saslprep(input, { allowUnassigned });
  } catch (e) {
    if (e instanceof TypeError) return "";
    throw e;
  }
}

async function scramKeys(hash: ScramHash, preparedPassword: string, salt: Uint8Array, iterations: number) {
  const salted = await saltedPassword(hash, preparedPassword, salt, iterations);
  const clientKey = hmac(hash, salted, "Client Key");
  return { storedKey: digest(hash, clientKey), serverKey: hmac(hash, salted, "Server Key") };
}

export async function deriveScramCredential(
  hash: ScramHash,
  preparedPassword: string,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const { storedKey, serverKey } = await scramKeys(hash, preparedPassword, salt, iterations);
  return {
    salt: Buffer.from(salt).toString("base64"),
    iterations,
    storedKey: storedKey.toString("base64"),
    serverKey: serverKey.toString("base64"),
  };
}

/**
 * The credentials to store for a new password. The password is SASLprepped (RFC 5802 section 2.2); each
 * mechanism gets its own random salt unless one is given (test vectors).
 */
export async function deriveCredentials(
  password: string,
  opts: { iterations?: number; salt?: Uint8Array } = {},
): Promise<StoredCredentials> {
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
    throw new RangeError(`SCRAM iteration count must be an integer >= ${MIN_ITERATIONS}`);
  }
  const prepared = preparePassword(password, true);
  if (prepared === "") throw new RangeError("empty password");
  const [sha1, sha256] = await Promise.all([
    deriveScramCredential("SHA-1", prepared, opts.salt ?? randomBytes(SALT_BYTES), iterations),
    deriveScramCredential("SHA-256", prepared, opts.salt ?? randomBytes(SALT_BYTES), iterations),
  ]);
  return { "SCRAM-SHA-1": sha1, "SCRAM-SHA-256": sha256 };
}

/** Whether an already SASLprepped password matches a credential, compared in constant time (used by PLAIN). */
export async function passwordMatches(
  hash: ScramHash,
  credential: ScramCredential,
  preparedPassword: string,
): Promise<boolean> {
  const { storedKey } = await scramKeys(
    hash,
    preparedPassword,
    Buffer.from(credential.salt, "base64"),
    credential.iterations,
  );
  return constantTimeEqual(storedKey, Buffer.from(credential.storedKey, "base64"));
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // timingSafeEqual throws on a length mismatch; lengths are public (they follow from the hash) anyway.
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A credential for an account that does not exist, the same on every call for the same name (so that asking
 * twice does not tell a fake salt from a real one) and unguessable without the server secret. Its keys match
 * no password: they are HMAC outputs, not derived from one.
 */
export function fakeCredential(
  secret: string | Uint8Array,
  mechanism: ScramMechanismName,
  username: string,
): ScramCredential {
  const part = (label: string, bytes: number) =>
    createHmac("sha256", secret)
      .update(`relais-sasl-fake\0${label}\0${mechanism}\0${username}`)
      .digest()
      .subarray(0, bytes)
      .toString("base64");
  const keyBytes = hashLength(HASH_OF[mechanism]);
  return {
    salt: part("salt", SALT_BYTES),
    iterations: DEFAULT_ITERATIONS,
    storedKey: part("stored-key", keyBytes),
    serverKey: part("server-key", keyBytes),
  };
}
