// Each tenant's Ed25519 signing key, derived from the deployment's signing secret with HKDF (RFC 5869):
// one secret to keep (SST Secret in production, a file in the data directory locally), no key table,
// and the key of a tenant is the same on every function instance. Rotating the secret changes every
// tenant's key: receipts carry the public key and key id they were signed with, and old public keys
// stay listed (see publicKeysOf) for verification.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

export const SIGNING_SECRET_ENV = "RELAIS_SIGNING_SECRET";

export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key, base64url. */
  readonly publicKey: string;
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed prefix, then the 32 bytes.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
// SPKI wrapping of a raw Ed25519 public key.
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function signingSecret(env: NodeJS.ProcessEnv = process.env): Buffer {
  const s = env[SIGNING_SECRET_ENV];
  if (!s || s.length < 32) {
    throw new Error(
      `${SIGNING_SECRET_ENV} is not set (at least 32 characters): consent receipts cannot be signed`,
    );
  }
  return Buffer.from(s, "utf8");
}

export function tenantKey(tenantId: string, secret: Buffer = signingSecret()): SigningKey {
  const seed = Buffer.from(hkdfSync("sha256", secret, "relais consent receipts", `tenant:${tenantId}`, 32));
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const raw = createPublicKey(privateKey)
    .export({ format: "der", type: "spki" })
    .subarray(SPKI_ED25519_PREFIX.length);
  return { keyId: keyIdOf(raw), privateKey, publicKey: Buffer.from(raw).toString("base64url") };
}

export const keyIdOf = (rawPublicKey: Uint8Array): string =>
  createHash("sha256").update(rawPublicKey).digest("hex").slice(0, 16);

export function signText(key: SigningKey, text: string): string {
  return sign(null, Buffer.from(text, "utf8"), key.privateKey).toString("base64url");
}

export function verifyText(publicKey: string, text: string, signature: string): boolean {
  try {
    const raw = Buffer.from(publicKey, "base64url");
    if (raw.length !== 32) return false;
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
      format: "der",
      type: "spki",
    });
    return verify(null, Buffer.from(text, "utf8"), key, Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}
