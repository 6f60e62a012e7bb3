// Accounts of the tenant's XMPP domain (admin): create, list, get, disable/enable, reset password, delete;
// invitations, redeemed by the member (public, the token is the credential) who chooses a password.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { eraseAccount } from "../../../consent/erase";
import {
  listTenantAccounts,
  MIN_PASSWORD,
  resetPassword,
  setAccountDisabled,
} from "../../../directory/account-admin";
import { AccountError, createAccount, deleteAccount, getAccount } from "../../../directory/accounts";
import { consumeInvite, createInvite, unconsumeInvite, usableInvite } from "../../../tenants/invites";
import { getTenant, releaseCount, type Tenant } from "../../../tenants/tenants";
import { endSessionsOf } from "../../../xmpp/session/retire";
import { ProblemError } from "../../problem";
import { type ApiEnv, auth, bearerSecurity } from "../auth";
import { takeOrRefuse } from "../limits";
import { newRouter } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const Username = z.string().regex(USERNAME, "1 to 64 lowercase letters, digits, '.', '_' or '-'");
const Password = z.string().min(MIN_PASSWORD).max(1024);

const AccountSchema = z
  .object({ jid: z.string(), disabled: z.boolean(), createdAt: z.string().optional() })
  .openapi("Account");
const JidParams = z.object({
  jid: z
    .string()
    .min(3)
    .max(1100)
    .openapi({ param: { name: "jid", in: "path" }, example: "alice@asso.relais.example" }),
});

/** Creates the account, within the tenant's account limit; AccountError codes become field problems. */
async function createWithin(tenant: Tenant, jid: string, password: string, field: string): Promise<void> {
  await takeOrRefuse(tenant, "accounts");
  try {
    await createAccount(jid, password);
  } catch (err) {
    await releaseCount(tenant.tenantId, "accounts");
    if (!(err instanceof AccountError)) throw err;
    if (err.code === "exists")
      throw new ProblemError("conflict", err.message, [{ field, reason: "taken", in: "body" }]);
    const f = err.code === "weak-password" ? "password" : field;
    throw new ProblemError("validation", err.message, [{ field: f, reason: err.message, in: "body" }]);
  }
}

/** The tenant's account named in the path; another tenant's answers like a missing one. */
async function accountOf(c: Context<ApiEnv>, jid: string) {
  const account = await getAccount(jid);
  if (!account || account.tenantId !== auth(c).tenant.tenantId)
    throw new ProblemError("not-found", `no account ${jid} in this tenant`, [
      { field: "jid", reason: "no such account", in: "path" },
    ]);
  return account;
}

const create = createRoute({
  method: "post",
  path: "/",
  tags: ["Accounts"],
  summary: "Create an account on the tenant's domain",
  security: bearerSecurity,
  request: { body: jsonBody(z.object({ username: Username, password: Password })) },
  responses: { 201: jsonContent(AccountSchema, "The account"), ...problems(...AUTH_PROBLEMS, 409) },
});
const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Accounts"],
  summary: "List the tenant's accounts",
  security: bearerSecurity,
  responses: {
    200: jsonContent(z.object({ accounts: z.array(AccountSchema) }), "The accounts"),
    ...problems(...AUTH_PROBLEMS),
  },
});
const invite = createRoute({
  method: "post",
  path: "/invitations",
  tags: ["Accounts"],
  summary: "Create an invitation",
  description:
    "A single-use token with an expiry; the member redeems it with POST /v1/invites/{token}, choosing a password.",
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({
        username: Username.optional().openapi({
          description: "Fixed by the admin; left out: the member chooses",
        }),
        expiresInSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 24 * 3600)
          .default(7 * 24 * 3600),
      }),
    ),
  },
  responses: {
    201: jsonContent(
      z.object({
        token: z.string(),
        redeem: z.string().openapi({ description: "POST here with the chosen password" }),
        xmppUri: z.string().openapi({ description: "XEP-0401-style URI for XMPP clients" }),
        expiresAt: z.string(),
      }),
      "The invitation",
    ),
    ...problems(...AUTH_PROBLEMS),
  },
});
const get = createRoute({
  method: "get",
  path: "/{jid}",
  tags: ["Accounts"],
  summary: "One account",
  security: bearerSecurity,
  request: { params: JidParams },
  responses: { 200: jsonContent(AccountSchema, "The account"), ...problems(...AUTH_PROBLEMS) },
});
const patch = createRoute({
  method: "patch",
  path: "/{jid}",
  tags: ["Accounts"],
  summary: "Disable or enable an account",
  description: "A disabled account cannot log in over XMPP; its open sessions are closed.",
  security: bearerSecurity,
  request: { params: JidParams, body: jsonBody(z.object({ disabled: z.boolean() }).strict()) },
  responses: { 200: jsonContent(AccountSchema, "The account"), ...problems(...AUTH_PROBLEMS) },
});
const password = createRoute({
  method: "post",
  path: "/{jid}/password",
  tags: ["Accounts"],
  summary: "Reset an account's password",
  security: bearerSecurity,
  request: { params: JidParams, body: jsonBody(z.object({ password: Password })) },
  responses: { 204: { description: "Reset" }, ...problems(...AUTH_PROBLEMS) },
});
const remove = createRoute({
  method: "delete",
  path: "/{jid}",
  tags: ["Accounts"],
  summary: "Delete an account",
  security: bearerSecurity,
  request: { params: JidParams },
  responses: { 204: { description: "Deleted" }, ...problems(...AUTH_PROBLEMS) },
});

export function accountRoutes() {
  return newRouter()
    .openapi(create, async (c) => {
      const { tenant } = auth(c);
      const body = c.req.valid("json");
      const jid = `${body.username}@${tenant.domain}`;
      await createWithin(tenant, jid, body.password, "username");
      return c.json({ jid, disabled: false }, 201);
    })
    .openapi(list, async (c) => c.json({ accounts: await listTenantAccounts(auth(c).tenant.tenantId) }, 200))
    .openapi(invite, async (c) => {
      const { tenant } = auth(c);
      const body = c.req.valid("json");
      const { token, invite: inv } = await createInvite({
        tenantId: tenant.tenantId,
        domain: tenant.domain,
        ttlSeconds: body.expiresInSeconds,
        ...(body.username === undefined ? {} : { username: body.username }),
      });
      return c.json(
        {
          token,
          redeem: `/v1/invites/${token}`,
          xmppUri: `xmpp:${tenant.domain}?register;preauth=${token}`,
          expiresAt: new Date(inv.expiresAt * 1000).toISOString(),
        },
        201,
      );
    })
    .openapi(get, async (c) => {
      const a = await accountOf(c, c.req.valid("param").jid);
      return c.json({ jid: a.jid, disabled: a.disabled }, 200);
    })
    .openapi(patch, async (c) => {
      const a = await accountOf(c, c.req.valid("param").jid);
      const { disabled } = c.req.valid("json");
      await setAccountDisabled(a.jid, disabled);
      // Refused at its next login, and its open sessions end now.
      if (disabled) await endSessionsOf(a.jid, "the account was disabled");
      return c.json({ jid: a.jid, disabled }, 200);
    })
    .openapi(password, async (c) => {
      const a = await accountOf(c, c.req.valid("param").jid);
      await resetPassword(a.jid, c.req.valid("json").password);
      return c.body(null, 204);
    })
    .openapi(remove, async (c) => {
      const a = await accountOf(c, c.req.valid("param").jid);
      await deleteAccount(a.jid);
      await endSessionsOf(a.jid, "the account was deleted");
      await eraseAccount(auth(c).tenant, a.jid);
      await releaseCount(a.tenantId, "accounts");
      return c.body(null, 204);
    });
}

const redeem = createRoute({
  method: "post",
  path: "/invites/{token}",
  tags: ["Accounts"],
  summary: "Redeem an invitation",
  description:
    "Public: the token is the credential. Creates the account with the password the member chose; the token is then spent.",
  request: {
    params: z.object({
      token: z
        .string()
        .min(16)
        .max(128)
        .openapi({ param: { name: "token", in: "path" } }),
    }),
    body: jsonBody(
      z.object({
        username: Username.optional().openapi({ description: "Required unless the invitation fixed it" }),
        password: Password,
      }),
    ),
  },
  responses: { 201: jsonContent(AccountSchema, "The account"), ...problems(400, 409, 410, 413, 415) },
});

export function inviteRoutes() {
  return newRouter().openapi(redeem, async (c) => {
    const { token } = c.req.valid("param");
    const body = c.req.valid("json");
    const inv = await usableInvite(token);
    if (!inv)
      throw new ProblemError("invite-unusable", "this invitation is unknown, used or expired", [
        { field: "token", reason: "not usable", in: "path" },
      ]);
    if (inv.username !== undefined && body.username !== undefined && body.username !== inv.username) {
      throw new ProblemError("validation", `this invitation is for ${inv.username}`, [
        { field: "username", reason: `must be ${inv.username} or left out`, in: "body" },
      ]);
    }
    const username = inv.username ?? body.username;
    if (username === undefined)
      throw new ProblemError("validation", "choose a username", [
        { field: "username", reason: "required by this invitation", in: "body" },
      ]);
    const tenant = await getTenant(inv.tenantId);
    if (!tenant || !(await consumeInvite(token)))
      throw new ProblemError("invite-unusable", "this invitation was used meanwhile", [
        { field: "token", reason: "not usable", in: "path" },
      ]);
    const jid = `${username}@${inv.domain}`;
    try {
      await createWithin(tenant, jid, body.password, "username");
    } catch (err) {
      await unconsumeInvite(token);
      throw err;
    }
    return c.json({ jid, disabled: false }, 201);
  });
}
