import { describe, expect, it, vi } from "vitest";
import { deriveCredentials } from "../../shared/sasl/credentials";
import {
  abortSasl,
  type CredentialLookup,
  continueSasl,
  type SaslOutcome,
  type SaslState,
  startSasl,
} from "../../shared/sasl/server";
import { accounts, b64, creds, opts, ScramClient, unb64, viaJson } from "./helpers";

type Mech = "SCRAM-SHA-1" | "SCRAM-SHA-256";
const HASH = { "SCRAM-SHA-1": "SHA-1", "SCRAM-SHA-256": "SHA-256" } as const;

function challenge(outcome: SaslOutcome): { data: string; state: SaslState } {
  if (outcome.kind !== "challenge") throw new Error(`expected a challenge, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** A whole exchange with the WebCrypto client; the state goes through JSON as it would through DynamoDB. */
async function login(mechanism: Mech, client: ScramClient, lookup: CredentialLookup) {
  const first = challenge(await startSasl(mechanism, b64(client.first()), lookup, opts));
  const serverFirst = unb64(first.data);
  const outcome = await continueSasl(
    viaJson(first.state),
    b64(await client.final(serverFirst)),
    lookup,
    opts,
  );
  return { serverFirst, state: first.state, outcome };
}

describe.each(["SCRAM-SHA-256", "SCRAM-SHA-1"] as const)("%s", (mechanism) => {
  const hash = HASH[mechanism];

  it("authenticates with the right password and sends the server signature as success data", async () => {
    const lookup = accounts({ bob: await creds("s3cret") });
    const client = new ScramClient(hash, "bob", "s3cret");
    const { outcome } = await login(mechanism, client, lookup);
    expect(outcome).toEqual({ kind: "success", data: b64(client.expectedServerFinal), username: "bob" });
  });

  it("accepts the GS2 flag y (client could bind, thinks we cannot)", async () => {
    const lookup = accounts({ bob: await creds("s3cret") });
    const client = new ScramClient(hash, "bob", "s3cret", "n0nce", "y,,");
    expect((await login(mechanism, client, lookup)).outcome.kind).toBe("success");
  });

  it("refuses a wrong password with a bare not-authorized", async () => {
    const lookup = accounts({ bob: await creds("s3cret") });
    const { outcome } = await login(mechanism, new ScramClient(hash, "bob", "S3cret"), lookup);
    expect(outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "bob" });
  });

  it("answers an unknown user exactly as a wrong password, with a stable fake salt", async () => {
    // A real account with the default count, so its challenge has the same shape as the fake one.
    const lookup = accounts({ bob: await deriveCredentials("s3cret") });
    const known = await login(mechanism, new ScramClient(hash, "bob", "guess"), lookup);
    const unknown = await login(mechanism, new ScramClient(hash, "nobody", "guess"), lookup);
    const again = await login(mechanism, new ScramClient(hash, "nobody", "guess2"), lookup);
    const other = await login(mechanism, new ScramClient(hash, "nobody2", "guess"), lookup);

    expect(unknown.outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "nobody" });
    expect({ ...known.outcome, username: "nobody" }).toEqual(unknown.outcome);
    const shape = (serverFirst: string) => serverFirst.replace(/^r=[^,]+/, "r=*").replace(/s=[^,]+/, "s=*");
    expect(shape(unknown.serverFirst)).toBe(shape(known.serverFirst));
    const salt = (serverFirst: string) => /s=([^,]+)/.exec(serverFirst)?.[1];
    expect(salt(unknown.serverFirst)?.length).toBe(salt(known.serverFirst)?.length);
    expect(salt(again.serverFirst)).toBe(salt(unknown.serverFirst));
    expect(salt(other.serverFirst)).not.toBe(salt(unknown.serverFirst));
    expect(Object.keys(unknown.state).sort()).toEqual(Object.keys(known.state).sort());
  });

  it("keeps nothing in the state that could log someone in", async () => {
    const stored = await creds("s3cret");
    const lookup = accounts({ bob: stored });
    const { state } = await login(mechanism, new ScramClient(hash, "bob", "s3cret"), lookup);
    const json = JSON.stringify(state);
    for (const c of Object.values(stored)) {
      expect(json).not.toContain(c.storedKey);
      expect(json).not.toContain(c.serverKey);
    }
    expect(json).not.toContain("s3cret");
  });

  it("looks the keys up again on the final message (the password changed meanwhile: refused)", async () => {
    const entries = { bob: await creds("old") };
    const lookup = accounts(entries);
    const client = new ScramClient(hash, "bob", "old");
    const first = challenge(await startSasl(mechanism, b64(client.first()), lookup, opts));
    const final = await client.final(unb64(first.data));
    entries.bob = await creds("old"); // same password, new salt
    const outcome = await continueSasl(viaJson(first.state), b64(final), lookup, opts);
    expect(outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "bob" });
  });

  it("reports a disabled account only to a client that proved the password", async () => {
    const lookup = accounts({ bob: { disabled: true, credentials: await creds("s3cret") } });
    const right = await login(mechanism, new ScramClient(hash, "bob", "s3cret"), lookup);
    expect(right.outcome).toEqual({ kind: "failure", condition: "account-disabled", username: "bob" });
    const wrong = await login(mechanism, new ScramClient(hash, "bob", "nope"), lookup);
    expect(wrong.outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "bob" });
  });

  it("works when <auth/> carried no initial response", async () => {
    const lookup = accounts({ bob: await creds("s3cret") });
    const client = new ScramClient(hash, "bob", "s3cret");
    const empty = challenge(await startSasl(mechanism, undefined, lookup, opts));
    expect(empty.data).toBe("");
    const first = challenge(await continueSasl(viaJson(empty.state), b64(client.first()), lookup, opts));
    const final = await client.final(unb64(first.data));
    const outcome = await continueSasl(viaJson(first.state), b64(final), lookup, opts);
    expect(outcome).toMatchObject({ kind: "success", username: "bob" });
  });
});

describe("SCRAM client-first-message problems", () => {
  const lookup = accounts({});
  const start = (message: string) => startSasl("SCRAM-SHA-256", b64(message), lookup, opts);

  it.each([
    ["p=tls-exporter,,n=bob,r=abc", "channel binding"],
    ["x,,n=bob,r=abc", "GS2 flag"],
    ["n,n=bob,r=abc", 'GS2 authzid must start with "a="'],
    ["n,,m=ext,n=bob,r=abc", "mandatory"],
    ["n,,n=bob", "nonce"],
    ["n,,n=bob,r=", "nonce"],
    ["n,,r=abc,n=bob", "username"],
    ["n,,n=,r=abc", "empty username"],
    ["n,,n=b=2Xob,r=abc", "escape"],
    ["n,,n=b=ob,r=abc", "escape"],
    ["n,,n=bob,r=ab\u00e9", "printable"],
    ["n,,n=bob,r=abc,junk", "extension"],
    ["n,,n=\u0007bob,r=abc", "SASLprep"],
  ])("%j → malformed-request about %s", async (message, about) => {
    const outcome = await start(message);
    expect(outcome).toMatchObject({ kind: "failure", condition: "malformed-request" });
    expect(outcome.kind === "failure" && outcome.text).toContain(about);
  });

  it("refuses an empty initial response", async () => {
    expect(await startSasl("SCRAM-SHA-1", "=", lookup, opts)).toMatchObject({
      condition: "malformed-request",
    });
  });

  it("refuses data that is not base64 with incorrect-encoding, and bytes that are not UTF-8", async () => {
    expect(await startSasl("SCRAM-SHA-1", "bi,,n=bob", lookup, opts)).toMatchObject({
      kind: "failure",
      condition: "incorrect-encoding",
    });
    for (const bad of ["biw", "bix=", "biws\nbiws", "b i w s"]) {
      expect(await startSasl("SCRAM-SHA-1", bad, lookup, opts)).toMatchObject({
        condition: "incorrect-encoding",
      });
    }
    expect(await startSasl("SCRAM-SHA-1", b64(Buffer.from([0x6e, 0x2c, 0x2c, 0xff])), lookup, opts)).toEqual({
      kind: "failure",
      condition: "malformed-request",
      text: "SASL data is not UTF-8",
    });
  });

  it("refuses an authzid other than the account's bare JID, and any authzid without a domain", async () => {
    const other = await start("n,a=eve@example.org,n=bob,r=abc");
    expect(other).toMatchObject({ kind: "failure", condition: "invalid-authzid", username: "bob" });
    const full = await start("n,a=bob@example.org/res,n=bob,r=abc");
    expect(full).toMatchObject({ condition: "invalid-authzid" });
    const own = await start("n,a=Bob@Example.org,n=bob,r=abc");
    expect(own.kind).toBe("challenge");
    const noDomain = await startSasl("SCRAM-SHA-1", b64("n,a=bob@example.org,n=bob,r=abc"), lookup, {
      secret: "x",
    });
    expect(noDomain).toMatchObject({ condition: "invalid-authzid" });
  });

  it("refuses mechanisms it does not have or did not offer", async () => {
    expect(await startSasl("DIGEST-MD5", "=", lookup, opts)).toMatchObject({
      condition: "invalid-mechanism",
    });
    expect(await startSasl("scram-sha-1", "=", lookup, opts)).toMatchObject({
      condition: "invalid-mechanism",
    });
    expect(await startSasl("SCRAM-SHA-256-PLUS", "=", lookup, opts)).toMatchObject({
      condition: "invalid-mechanism",
    });
    const noPlain = await startSasl("PLAIN", b64("\0bob\0pw"), lookup, {
      ...opts,
      mechanisms: ["SCRAM-SHA-1"],
    });
    expect(noPlain).toMatchObject({ condition: "invalid-mechanism" });
  });
});

describe("SCRAM client-final-message problems", async () => {
  const lookup = accounts({ bob: await creds("s3cret") });
  async function begin() {
    const client = new ScramClient("SHA-256", "bob", "s3cret");
    const first = challenge(await startSasl("SCRAM-SHA-256", b64(client.first()), lookup, opts));
    return { client, serverFirst: unb64(first.data), state: viaJson(first.state) };
  }
  const finish = (state: SaslState, message: string) => continueSasl(state, b64(message), lookup, opts);

  it("refuses a nonce other than the combined one", async () => {
    const { client, serverFirst, state } = await begin();
    const outcome = await finish(state, await client.final(serverFirst, { nonce: "cl1entN0nce" }));
    expect(outcome).toMatchObject({
      condition: "malformed-request",
      username: "bob",
      text: expect.stringContaining("r="),
    });
  });

  it("refuses c= that does not repeat the GS2 header", async () => {
    const { client, serverFirst, state } = await begin();
    const outcome = await finish(state, await client.final(serverFirst, { c: b64("y,,") }));
    expect(outcome).toMatchObject({ condition: "malformed-request", text: expect.stringContaining("c=") });
  });

  it.each([
    ["c=biws,r=x", "p="],
    ["r=x,c=biws,p=AAAA", "c="],
    ["c=biws,p=AAAA", "r="],
  ])("%j → malformed-request about %s", async (message, about) => {
    const { state } = await begin();
    const outcome = await finish(state, message);
    expect(outcome).toMatchObject({ condition: "malformed-request", text: expect.stringContaining(about) });
  });

  it("refuses a proof that is not base64 or not one hash long", async () => {
    const { client, serverFirst, state } = await begin();
    const good = await client.final(serverFirst);
    const withoutProof = good.slice(0, good.lastIndexOf(",p="));
    expect(await finish(state, `${withoutProof},p=!!!!`)).toMatchObject({ text: "p= is not valid base64" });
    expect(await finish(state, `${withoutProof},p=${b64("short")}`)).toMatchObject({
      condition: "malformed-request",
      text: "proof must be 32 bytes",
    });
  });

  it("refuses a response that is not base64, naming the user for attempt counting", async () => {
    const { state } = await begin();
    expect(await continueSasl(state, "***", lookup, opts)).toEqual({
      kind: "failure",
      condition: "incorrect-encoding",
      text: "SASL data is not valid base64",
      username: "bob",
    });
  });

  it("answers temporary-auth-failure for a state it cannot read", async () => {
    const { state } = await begin();
    const broken = { ...state, step: "client-final", nonce: 42 } as unknown as SaslState;
    expect(await continueSasl(broken, "=", lookup, opts)).toMatchObject({
      condition: "temporary-auth-failure",
    });
  });

  it("turns <abort/> into an aborted failure", async () => {
    const { state } = await begin();
    expect(abortSasl(state)).toEqual({ kind: "failure", condition: "aborted", username: "bob" });
    expect(abortSasl()).toEqual({ kind: "failure", condition: "aborted" });
  });
});

describe("SCRAM lookups", () => {
  it("answers temporary-auth-failure when the lookup throws, keeping the error for logs", async () => {
    const boom = new Error("table unreachable");
    const lookup: CredentialLookup = async () => {
      throw boom;
    };
    const outcome = await startSasl("SCRAM-SHA-1", b64("n,,n=bob,r=abc"), lookup, opts);
    expect(outcome).toEqual({
      kind: "failure",
      condition: "temporary-auth-failure",
      username: "bob",
      cause: boom,
    });
  });

  it("says account-disabled at once for a disabled account given without credentials", async () => {
    const lookup = accounts({ bob: { disabled: true } });
    const outcome = await startSasl("SCRAM-SHA-1", b64("n,,n=bob,r=abc"), lookup, opts);
    expect(outcome).toEqual({ kind: "failure", condition: "account-disabled", username: "bob" });
  });

  it("looks up the SASLprepped username", async () => {
    const lookup = accounts({});
    // U+00AD SOFT HYPHEN maps to nothing; U+2168 ROMAN NUMERAL NINE normalizes (NFKC) to "IX".
    await startSasl("SCRAM-SHA-1", b64("n,,n=b\u00adob\u2168,r=abc"), lookup, opts);
    expect(lookup.asked).toEqual(["bobIX"]);
  });

  it("will not run without a server secret", async () => {
    vi.stubEnv("RELAIS_SASL_SECRET", "");
    try {
      await expect(startSasl("SCRAM-SHA-1", "=", accounts({}))).rejects.toThrow(/server secret/);
      vi.stubEnv("RELAIS_SASL_SECRET", "from-env");
      expect((await startSasl("SCRAM-SHA-1", undefined, accounts({}))).kind).toBe("challenge");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("SCRAM usernames that SASLprep maps to nothing", () => {
  it("are malformed, not a crash", async () => {
    const outcome = await startSasl("SCRAM-SHA-1", b64("n,,n=\u00ad,r=abc"), accounts({}), opts);
    expect(outcome).toEqual({
      kind: "failure",
      condition: "malformed-request",
      text: "username is empty after SASLprep",
    });
  });
});
