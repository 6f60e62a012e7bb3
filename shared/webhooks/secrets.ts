import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

// Endpoint signing secrets. HMAC signing needs the secret itself, so it cannot be stored hashed: it is
// stored sealed with AES-256-GCM under a key derived from the deployment secret WebhookSecretKey
// (RELAIS_WEBHOOK_SECRET_KEY; an SST secret on AWS, a file in the data directory locally). The
// tenant and endpoint ids are the associated data, so a sealed secret copied onto another endpoint's
// item does not open. A table dump or backup alone reveals no secret; the secret is shown to the
// tenant once, at creation and at rotation, and never returned by reads.

export const SECRET_KEY_ENV = "RELAIS_WEBHOOK_SECRET_KEY";
const SEALED_PREFIX = "v1.";

/** A new Standard Webhooks secret: "whsec_" and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function sealingKey(env: NodeJS.ProcessEnv): Buffer {
  const master = env[SECRET_KEY_ENV];
  if (!master) {
    throw new Error(`webhook signing secrets cannot be sealed or opened: ${SECRET_KEY_ENV} is unset`);
  }
  return Buffer.from(hkdfSync("sha256", master, "relais", "webhook signing secrets v1", 32));
}

export function sealSecret(secret: string, context: string, env: NodeJS.ProcessEnv = process.env): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealingKey(env), iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ct = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return SEALED_PREFIX + [iv, ct, cipher.getAuthTag()].map((b) => b.toString("base64url")).join(".");
}

export function openSecret(sealed: string, context: string, env: NodeJS.ProcessEnv = process.env): string {
  const parts = sealed.startsWith(SEALED_PREFIX) ? sealed.slice(SEALED_PREFIX.length).split(".") : [];
  if (parts.length !== 3) throw new Error("sealed webhook secret: unknown format");
  const [iv, ct, tag] = parts.map((p) => Buffer.from(p, "base64url")) as [Buffer, Buffer, Buffer];
  const decipher = createDecipheriv("aes-256-gcm", sealingKey(env), iv);
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString("utf8");
}

/** What a sealed secret is bound to: it opens for this endpoint of this tenant only. */
export const secretContext = (tenantId: string, endpointId: string): string =>
  `webhook-endpoint:${tenantId}:${endpointId}`;
