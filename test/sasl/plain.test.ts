import { describe, expect, it } from "vitest";
import { deriveCredentials } from "../../shared/sasl/credentials";
import { continueSasl, startSasl } from "../../shared/sasl/server";
import { accounts, b64, creds, opts, viaJson } from "./helpers";

const plain = (message: string, lookup = accounts({})) => startSasl("PLAIN", b64(message), lookup, opts);

describe("PLAIN", async () => {
  const lookup = accounts({ carol: await creds("hunter2"), dora: await deriveCredentials("pass\u00a0word") });

  it("authenticates against the stored SCRAM-SHA-256 credential", async () => {
    expect(await plain("\0carol\0hunter2", lookup)).toEqual({ kind: "success", username: "carol" });
  });

  it("refuses a wrong password with a bare not-authorized", async () => {
    expect(await plain("\0carol\0hunter3", lookup)).toEqual({
      kind: "failure",
      condition: "not-authorized",
      username: "carol",
    });
  });

  it("answers an unknown user exactly as a wrong password", async () => {
    const wrong = await plain("\0carol\0guess", lookup);
    const unknown = await plain("\0nobody\0guess", lookup);
    expect(unknown).toEqual({ ...wrong, username: "nobody" });
  });

  it("SASLpreps the password on both sides (U+00A0 is stored and checked as a space)", async () => {
    expect(await plain("\0dora\0pass word", lookup)).toMatchObject({ kind: "success", username: "dora" });
    expect(await plain("\0dora\0pass\u00a0word", lookup)).toMatchObject({ kind: "success" });
    expect(await plain("\0dora\0password", lookup)).toMatchObject({ condition: "not-authorized" });
  });

  it("refuses a password SASLprep prohibits as not-authorized", async () => {
    expect(await plain("\0carol\0hunter2\u0007", lookup)).toMatchObject({ condition: "not-authorized" });
  });

  it("accepts the account's bare JID as authzid and nothing else", async () => {
    expect(await plain("carol@example.org\0carol\0hunter2", lookup)).toMatchObject({ kind: "success" });
    expect(await plain("CAROL@EXAMPLE.ORG\0carol\0hunter2", lookup)).toMatchObject({ kind: "success" });
    expect(await plain("dora@example.org\0carol\0hunter2", lookup)).toEqual({
      kind: "failure",
      condition: "invalid-authzid",
      text: "authzid must be absent or the bare JID of the account",
      username: "carol",
    });
    expect(await plain("carol\0carol\0hunter2", lookup)).toMatchObject({ condition: "invalid-authzid" });
    expect(await plain("carol@example.org/phone\0carol\0hunter2", lookup)).toMatchObject({
      condition: "invalid-authzid",
    });
  });

  it.each([
    ["carol\0hunter2", "[authzid] NUL authcid NUL passwd"],
    ["\0carol\0hunter2\0extra", "[authzid] NUL authcid NUL passwd"],
    ["\0\0hunter2", "empty authcid"],
    ["\0carol\0", "empty password"],
    [`\0carol\0${"x".repeat(1025)}`, "longer than"],
    ["\0ca\u0007rol\0hunter2", "SASLprep"],
  ])("%j → malformed-request about %s", async (message, about) => {
    const outcome = await plain(message, lookup);
    expect(outcome).toMatchObject({ kind: "failure", condition: "malformed-request" });
    expect(outcome.kind === "failure" && outcome.text).toContain(about);
  });

  it("refuses an empty initial response", async () => {
    expect(await startSasl("PLAIN", "=", lookup, opts)).toMatchObject({ condition: "malformed-request" });
  });

  it("works when <auth/> carried no initial response", async () => {
    const first = await startSasl("PLAIN", undefined, lookup, opts);
    if (first.kind !== "challenge") throw new Error("expected an empty challenge");
    expect(first.data).toBe("");
    expect(JSON.stringify(first.state)).not.toContain("carol");
    const outcome = await continueSasl(viaJson(first.state), b64("\0carol\0hunter2"), lookup, opts);
    expect(outcome).toEqual({ kind: "success", username: "carol" });
  });

  it("reports a disabled account only after the right password", async () => {
    const disabled = accounts({ carol: { disabled: true, credentials: await creds("hunter2") } });
    expect(await plain("\0carol\0hunter2", disabled)).toMatchObject({ condition: "account-disabled" });
    expect(await plain("\0carol\0nope", disabled)).toMatchObject({ condition: "not-authorized" });
  });
});
