// The data subject's own door (/v1/me): HTTP Basic with the subject's XMPP account, checked against the
// stored SCRAM credentials as PLAIN checks them (the password's SCRAM-SHA-256 StoredKey, compared in
// constant time), and counted with the account's login throttle as XMPP counts failed logins: a guesser
// gets the same five tries whichever door they knock at. An unknown account costs the same PBKDF2 run.
import type { Context, MiddlewareHandler } from "hono";
import { getAccount, recordLoginFailure, recordLoginSuccess } from "../../directory/accounts";
import { fakeCredential, passwordMatches, preparePassword } from "../../sasl/credentials";
import { getTenant, type Tenant } from "../../tenants/tenants";
import { ProblemError } from "../problem";

export interface SubjectContext {
  /** The subject's bare JID. */
  readonly jid: string;
  /** The tenant whose domain holds the account. */
  readonly tenant: Tenant;
}

export interface SubjectEnv {
  Variables: { subject: SubjectContext };
}

const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;
const CHALLENGE = { "www-authenticate": 'Basic realm="relais data subject", charset="UTF-8"' };
/** As PLAIN's field cap: anything longer is hostile or broken. */
const MAX_FIELD_CHARS = 1024;

function refuse(reason: string): ProblemError {
  return new ProblemError(
    "subject-unauthorized",
    "send your account's JID and password as Authorization: Basic base64(jid:password)",
    [{ field: "Authorization", reason, in: "header" }],
    CHALLENGE,
  );
}

/** The JID and password of a Basic header; undefined when there is none or it is malformed. */
export function parseBasic(header: string | undefined): { jid: string; password: string } | undefined {
  const m = header ? BASIC.exec(header) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const jid = text.slice(0, colon).trim().toLowerCase();
  const password = text.slice(colon + 1);
  if (
    !jid.includes("@") ||
    password === "" ||
    jid.length > MAX_FIELD_CHARS ||
    password.length > MAX_FIELD_CHARS
  )
    return undefined;
  return { jid, password };
}

export function saslSecret(): string {
  const secret = process.env.RELAIS_SASL_SECRET;
  if (!secret) throw new Error("the subject's door needs RELAIS_SASL_SECRET (the SaslSecret secret)");
  return secret;
}

export const authenticateSubject: MiddlewareHandler<SubjectEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const basic = parseBasic(header);
  if (!basic) throw refuse(header ? "not a Basic credential of the form jid:password" : "missing");
  let prepared: string;
  try {
    prepared = preparePassword(basic.password, false);
  } catch {
    prepared = ""; // such a password could never have been stored: it cannot match
  }
  const account = await getAccount(basic.jid);
  const real = account?.credentials?.["SCRAM-SHA-256"];
  const credential = real ?? fakeCredential(saslSecret(), "SCRAM-SHA-256", basic.jid);
  const matches = prepared !== "" && (await passwordMatches("SHA-256", credential, prepared));
  if (!account || !real || !matches) {
    if (account) await recordLoginFailure(account.jid);
    throw refuse("unknown account or wrong password");
  }
  // Disabled or locked is said only after the password was proven, as over XMPP: a guesser learns nothing.
  if (account.disabled || account.lockedUntil > Date.now()) {
    throw new ProblemError("account-locked", "this account may not log in now", [
      {
        field: "Authorization",
        reason: account.disabled ? "account disabled" : "locked after failed logins",
        in: "header",
      },
    ]);
  }
  if (account.failedLogins > 0 || account.lockedUntil > 0) await recordLoginSuccess(account.jid);
  const tenant = await getTenant(account.tenantId);
  if (!tenant) throw refuse("the account's tenant is gone");
  c.set("subject", { jid: account.jid, tenant });
  return next();
};

/** The authenticated subject; throws when the router was mounted without authenticateSubject. */
export function subjectOf(c: Context<SubjectEnv>): SubjectContext {
  const s = c.get("subject");
  if (!s) throw new Error("route reached without authentication: use authenticateSubject");
  return s;
}

/** OpenAPI security requirement of /v1/me routes. */
export const basicSecurity = [{ basic: [] }];
