import { describe, expect, it } from "vitest";
import { deriveCredentials, type StoredCredentials } from "../../shared/sasl/credentials";
import { continueSasl, startSasl } from "../../shared/sasl/server";
import { accounts, b64, opts, unb64, viaJson } from "./helpers";

// The examples of RFC 5802 section 5 and RFC 7677 section 3, byte for byte.
const vectors = [
  {
    mechanism: "SCRAM-SHA-1",
    salt: "QSXCR+Q6sek8bf92",
    clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    serverNonce: "3rfcNHYJY1ZVvWVs7j",
    serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  },
  {
    mechanism: "SCRAM-SHA-256",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    clientFinal:
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  },
] as const;

async function vectorCredentials(): Promise<StoredCredentials> {
  const [sha1, sha256] = await Promise.all(
    vectors.map((v) =>
      deriveCredentials("pencil", { iterations: 4096, salt: Buffer.from(v.salt, "base64") }),
    ),
  );
  if (!sha1 || !sha256) throw new Error("unreachable");
  return { "SCRAM-SHA-1": sha1["SCRAM-SHA-1"], "SCRAM-SHA-256": sha256["SCRAM-SHA-256"] };
}

describe.each(vectors)("$mechanism test vector", (v) => {
  it("reproduces the server-first and server-final messages", async () => {
    const lookup = accounts({ user: await vectorCredentials() });
    const first = await startSasl(v.mechanism, b64(v.clientFirst), lookup, {
      ...opts,
      nonce: () => v.serverNonce,
    });
    if (first.kind !== "challenge") throw new Error(`expected a challenge, got ${JSON.stringify(first)}`);
    expect(unb64(first.data)).toBe(v.serverFirst);

    const final = await continueSasl(viaJson(first.state), b64(v.clientFinal), lookup, opts);
    expect(final).toEqual({ kind: "success", data: b64(v.serverFinal), username: "user" });
    expect(lookup.asked).toEqual(["user", "user"]);
  });

  it("refuses the same client-final against another server nonce (no replay)", async () => {
    const lookup = accounts({ user: await vectorCredentials() });
    const first = await startSasl(v.mechanism, b64(v.clientFirst), lookup, opts);
    if (first.kind !== "challenge") throw new Error("expected a challenge");
    const final = await continueSasl(viaJson(first.state), b64(v.clientFinal), lookup, opts);
    expect(final).toMatchObject({ kind: "failure", condition: "malformed-request", username: "user" });
  });
});
