import { deriveCredentials, type StoredCredentials } from "../../shared/sasl/credentials";
import type { CredentialLookup, LookupResult, SaslOptions } from "../../shared/sasl/server";

export const SECRET = "test-secret-for-fake-salts";
export const DOMAIN = "example.org";
export const opts: SaslOptions = { secret: SECRET, domain: DOMAIN };

/** An in-memory account table that records which names were asked for. */
export function accounts(entries: Record<string, LookupResult>): CredentialLookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (username: string) => {
    asked.push(username);
    return Object.hasOwn(entries, username) ? entries[username] : undefined;
  };
  return Object.assign(lookup, { asked });
}

/** The lowest count deriveCredentials takes, to keep the JS clients quick. */
export function creds(password: string): Promise<StoredCredentials> {
  return deriveCredentials(password, { iterations: 4096 });
}

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");
export const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

/** What a storage round trip does to the state. */
export function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

async function hmacWeb(hash: string, key: Uint8Array, data: string): Promise<Uint8Array> {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, enc.encode(data)));
}

/**
 * A SCRAM client written apart from the server, on WebCrypto rather than node:crypto, for SHA-256 (no
 * client module for it is installed) and for crafting odd messages. No SASLprep: tests use ASCII here.
 */
export class ScramClient {
  readonly clientFirstBare: string;
  expectedServerFinal = "";
  constructor(
    private readonly hash: "SHA-1" | "SHA-256",
    username: string,
    private readonly password: string,
    private readonly clientNonce = "cl1entN0nce",
    readonly gs2Header = "n,,",
  ) {
    const saslname = username.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.clientFirstBare = `n=${saslname},r=${clientNonce}`;
  }

  first(): string {
    return this.gs2Header + this.clientFirstBare;
  }

  /** client-final-message for a server-first-message; remembers the server-final it should get back. */
  async final(serverFirst: string, tweak: { nonce?: string; c?: string } = {}): Promise<string> {
    const attrs = new Map(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    const nonce = attrs.get("r") ?? "";
    if (!nonce.startsWith(this.clientNonce)) throw new Error("server nonce does not extend ours");
    const salt = Buffer.from(attrs.get("s") ?? "", "base64");
    const iterations = Number(attrs.get("i"));
    const bits = this.hash === "SHA-1" ? 160 : 256;
    const pw = await subtle.importKey("raw", enc.encode(this.password), "PBKDF2", false, ["deriveBits"]);
    const salted = new Uint8Array(
      await subtle.deriveBits({ name: "PBKDF2", hash: this.hash, salt, iterations }, pw, bits),
    );
    const clientKey = await hmacWeb(this.hash, salted, "Client Key");
    const storedKey = new Uint8Array(await subtle.digest(this.hash, clientKey));
    const withoutProof = `c=${tweak.c ?? b64(this.gs2Header)},r=${tweak.nonce ?? nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = await hmacWeb(this.hash, storedKey, authMessage);
    const proof = clientKey.map((byte, i) => byte ^ (signature[i] ?? 0));
    const serverKey = await hmacWeb(this.hash, salted, "Server Key");
    this.expectedServerFinal = `v=${b64(await hmacWeb(this.hash, serverKey, authMessage))}`;
    return `${withoutProof},p=${b64(proof)}`;
  }
}
