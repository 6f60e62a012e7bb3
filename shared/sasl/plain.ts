import {
  authzidAllowed,
  failure,
  type MechanismContext,
  resolveAccount,
  type SaslFailure,
  type SaslSuccess,
} from "./common";
import { fakeCredential, passwordMatches, preparePassword } from "./credentials";
import { prepareUsername } from "./scram";

// PLAIN, RFC 4616: one message "[authzid] NUL authcid NUL passwd", checked against the SCRAM-SHA-256
// credential (so an account stores no second, weaker password form).

/** RFC 4616 section 2: servers must take up to 255 octets per field; past that is hostile or broken. */
const MAX_FIELD_OCTETS = 1024;

export async function plainAuthenticate(
  message: string,
  ctx: MechanismContext,
): Promise<SaslSuccess | SaslFailure> {
  const parts = message.split("\0");
  if (parts.length !== 3)
    return failure("malformed-request", "PLAIN message must be [authzid] NUL authcid NUL passwd");
  const [authzid = "", authcid = "", password = ""] = parts;
  if (authcid === "") return failure("malformed-request", "empty authcid");
  if (password === "") return failure("malformed-request", "empty password");
  if ([authzid, authcid, password].some((p) => Buffer.byteLength(p, "utf8") > MAX_FIELD_OCTETS)) {
    return failure("malformed-request", `a field is longer than ${MAX_FIELD_OCTETS} octets`);
  }
  let username: string;
  try {
    username = prepareUsername(authcid);
  } catch (e) {
    return failure("malformed-request", e instanceof Error ? e.message : "bad username");
  }
  if (authzid !== "" && !authzidAllowed(authzid, username, ctx.domain)) {
    return failure("invalid-authzid", "authzid must be absent or the bare JID of the account", username);
  }
  let prepared: string;
  try {
    prepared = preparePassword(password, false);
  } catch {
    // Such a password could never have been stored, so it cannot be right.
    return failure("not-authorized", undefined, username);
  }

  const account = await resolveAccount(ctx.lookup, username);
  if (account.kind === "failed") return account.failure;
  const real = account.credentials?.["SCRAM-SHA-256"];
  // An unknown account costs the same PBKDF2 run as a known one, so timing does not tell them apart.
  const credential = real ?? fakeCredential(ctx.secret, "SCRAM-SHA-256", username);
  const matches = await passwordMatches("SHA-256", credential, prepared);
  if (!matches || real === undefined) return failure("not-authorized", undefined, username);
  if (account.disabled) return failure("account-disabled", undefined, username);
  return { kind: "success", username };
}
