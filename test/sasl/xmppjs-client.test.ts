import { decode, encode } from "@xmpp/base64";
import plain from "@xmpp/sasl-plain";
import scramsha1 from "@xmpp/sasl-scram-sha-1";
import Factory from "saslmechanisms";
import { describe, expect, it } from "vitest";
import type { CredentialLookup, SaslOutcome } from "../../shared/sasl/server";
import { continueSasl, startSasl, supportedMechanisms } from "../../shared/sasl/server";
import { accounts, b64, creds, opts, viaJson } from "./helpers";

/**
 * Runs the mechanism modules of @xmpp/client the way @xmpp/sasl drives them (initial response in <auth/>,
 * one response per challenge, base64 through @xmpp/base64), with our state going through JSON each step.
 */
async function xmppjsLogin(
  offered: readonly string[],
  credentials: { username: string; password: string; authzid?: string },
  lookup: CredentialLookup,
) {
  const factory = new Factory();
  // @xmpp/client registers these in this order (its index.js); create() takes the first one offered.
  scramsha1(factory);
  plain(factory);
  const mech = factory.create([...offered]);
  if (!mech) throw new Error("no common mechanism");
  const creds = { server: "example.org", host: "example.org", serviceType: "xmpp", ...credentials };
  let outcome: SaslOutcome = await startSasl(mech.name, encode(await mech.response(creds)), lookup, opts);
  while (outcome.kind === "challenge") {
    const stored = viaJson(outcome.state);
    await mech.challenge(decode(outcome.data));
    const response = await mech.response(creds);
    outcome = await continueSasl(stored, typeof response === "string" ? encode(response) : "", lookup, opts);
  }
  return { mech, outcome };
}

describe("@xmpp/client's SASL modules against the server", () => {
  it("log in with SCRAM-SHA-1, and the server-final carries the signature the client computed", async () => {
    const lookup = accounts({ alice: await creds("correct horse") });
    const { mech, outcome } = await xmppjsLogin(
      supportedMechanisms,
      { username: "alice", password: "correct horse" },
      lookup,
    );
    expect(mech.name).toBe("SCRAM-SHA-1");
    expect(outcome.kind).toBe("success");
    if (outcome.kind !== "success") return;
    expect(outcome.username).toBe("alice");
    // sasl-scram-sha-1 does not check it itself (its final step is a TODO), so check it here.
    const signature = mech._serverSignature;
    if (!signature) throw new Error("client kept no server signature");
    expect(outcome.data).toBe(b64(`v=${b64(signature)}`));
  });

  it("escapes ',' and '=' in the username, and the server looks up the unescaped name", async () => {
    const lookup = accounts({ "a,b=c": await creds("pw") });
    const { outcome } = await xmppjsLogin(["SCRAM-SHA-1"], { username: "a,b=c", password: "pw" }, lookup);
    expect(outcome).toMatchObject({ kind: "success", username: "a,b=c" });
    expect(lookup.asked).toEqual(["a,b=c", "a,b=c"]);
  });

  it("is refused with not-authorized for a wrong password", async () => {
    const lookup = accounts({ alice: await creds("correct horse") });
    const { outcome } = await xmppjsLogin(["SCRAM-SHA-1"], { username: "alice", password: "wrong" }, lookup);
    expect(outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "alice" });
  });

  it("accepts the account's own bare JID as authzid and refuses another", async () => {
    const lookup = accounts({ alice: await creds("pw") });
    const own = await xmppjsLogin(
      ["SCRAM-SHA-1"],
      { username: "alice", password: "pw", authzid: "alice@example.org" },
      lookup,
    );
    expect(own.outcome).toMatchObject({ kind: "success", username: "alice" });
    const other = await xmppjsLogin(
      ["SCRAM-SHA-1"],
      { username: "alice", password: "pw", authzid: "admin@example.org" },
      lookup,
    );
    expect(other.outcome).toMatchObject({ kind: "failure", condition: "invalid-authzid", username: "alice" });
  });

  it("logs in with PLAIN when only PLAIN is offered", async () => {
    const lookup = accounts({ alice: await creds("pw") });
    const ok = await xmppjsLogin(["PLAIN"], { username: "alice", password: "pw" }, lookup);
    expect(ok.mech.name).toBe("PLAIN");
    expect(ok.outcome).toEqual({ kind: "success", username: "alice" });
    const bad = await xmppjsLogin(["PLAIN"], { username: "alice", password: "pW" }, lookup);
    expect(bad.outcome).toEqual({ kind: "failure", condition: "not-authorized", username: "alice" });
  });
});
