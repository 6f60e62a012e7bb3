// The tenant's side of the consent store: request a consent on behalf of a recipient, list a subject's
// consents, read one with its receipts, read a subject's audit chain with its verification verdict, and
// handle the subjects' rectification requests. The tenant's public signing key is at /v1/tenant/keys.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { readChain } from "../../../consent/audit";
import { verifyChain } from "../../../consent/chain";
import { tenantKey } from "../../../consent/keys";
import { chainOf } from "../../../consent/layout";
import { type ConsentRequest, consentRequestSchema } from "../../../consent/record";
import { markDone, requestsOfTenant } from "../../../consent/rights";
import { consentsOfSubject, createConsent, getConsent } from "../../../consent/store";
import { getAccount } from "../../../directory/accounts";
import { pubsubServiceOf } from "../../../directory/domains";
import { getNode } from "../../../pubsub/store";
import { getApiKey } from "../../../tenants/api-keys";
import { getEndpoint } from "../../../webhooks";
import { type FieldError, ProblemError } from "../../problem";
import { type ApiEnv, auth, bearerSecurity, requireScope } from "../auth";
import {
  ConsentSchema,
  consentProblems,
  consentView,
  RightsRequestSchema,
  requestView,
  StoredConsentSchema,
  storedView,
} from "../consent-views";
import { newRouter } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const tags = ["Consents"];
const SubjectParams = z.object({
  subject: z.string().min(3).max(1024).openapi({ description: "The data subject's bare JID" }),
});
const ConsentParams = z.object({ consentId: z.string().min(1).max(64) });
const RequestParams = z.object({ requestId: z.string().min(1).max(64) });

const JID = /^[a-z0-9][a-z0-9._-]{0,63}@[a-z0-9.-]+$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const request = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Request a consent on behalf of a recipient",
  description:
    "The subject must be an account of the tenant, and every stream in scope one of the tenant's whose dataSubject is that account. The consent starts as requested: the subject grants or refuses it (/v1/me, or XMPP).",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: { body: jsonBody(consentRequestSchema) },
  responses: {
    201: jsonContent(ConsentSchema, "The consent, requested"),
    ...problems(...AUTH_PROBLEMS, 422),
  },
});

const ofSubject = createRoute({
  method: "get",
  path: "/subjects/{subject}",
  tags,
  summary: "The consents of a data subject, newest first",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  request: { params: SubjectParams },
  responses: {
    200: jsonContent(z.object({ consents: z.array(StoredConsentSchema) }), "Consents with their receipts"),
    ...problems(...AUTH_PROBLEMS),
  },
});

const AuditSchema = z
  .object({
    chain: z.string(),
    entries: z.array(z.record(z.string(), z.unknown())),
    checkpoints: z.array(z.record(z.string(), z.unknown())),
    verdict: z.union([
      z.object({ ok: z.literal(true), length: z.number().int(), checkpointsChecked: z.number().int() }),
      z.object({ ok: z.literal(false), seq: z.number().int(), reason: z.string() }),
    ]),
    publicKey: z.object({ keyId: z.string(), publicKey: z.string() }),
  })
  .openapi("AuditChain");

const audit = createRoute({
  method: "get",
  path: "/subjects/{subject}/audit",
  tags,
  summary: "A subject's audit chain, verified",
  description:
    "Every consent change and delivery decision about the subject, hash-chained (RFC 8785 JSON, SHA-256), with the signed checkpoints and the verdict of checking them with the tenant's public key.",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  request: { params: SubjectParams },
  responses: { 200: jsonContent(AuditSchema, "The chain and its verdict"), ...problems(...AUTH_PROBLEMS) },
});

const listRequests = createRoute({
  method: "get",
  path: "/requests",
  tags,
  summary: "The subjects' rectification and erasure requests",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: { query: z.object({ state: z.enum(["open", "all"]).default("all") }) },
  responses: {
    200: jsonContent(z.object({ requests: z.array(RightsRequestSchema) }), "Requests, oldest first"),
    ...problems(...AUTH_PROBLEMS),
  },
});

const requestDone = createRoute({
  method: "post",
  path: "/requests/{requestId}/done",
  tags,
  summary: "Mark a request done",
  description:
    "For a rectification, once the data was corrected; an erasure left open by a failure is carried out again first. Logged on the subject's audit chain.",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: {
    params: RequestParams,
    body: {
      required: false,
      content: { "application/json": { schema: z.object({ note: z.string().max(2000).optional() }) } },
    },
  },
  responses: {
    200: jsonContent(RightsRequestSchema, "The request, done"),
    ...problems(...AUTH_PROBLEMS, 409),
  },
});

const getOne = createRoute({
  method: "get",
  path: "/{consentId}",
  tags,
  summary: "One consent, with its receipts",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  request: { params: ConsentParams },
  responses: { 200: jsonContent(StoredConsentSchema, "The consent"), ...problems(...AUTH_PROBLEMS) },
});

/** A subject of the caller's tenant, or 404: another tenant's accounts are not even acknowledged. */
async function ownSubject(c: Context<ApiEnv>, subject: string): Promise<string> {
  const jid = subject.toLowerCase();
  const account = await getAccount(jid);
  if (!account || account.tenantId !== auth(c).tenant.tenantId) {
    throw new ProblemError("not-found", `no account ${jid} in this tenant`, [
      { field: "subject", reason: "no such account", in: "path" },
    ]);
  }
  return jid;
}

/** The problems with a request, each naming its field: the subject, each stream, the recipient. */
async function scopeProblems(c: Context<ApiEnv>, body: ConsentRequest): Promise<FieldError[]> {
  const { tenant } = auth(c);
  const errors: FieldError[] = [];
  const subject = body.subject.toLowerCase();
  const account = await getAccount(subject);
  if (!account || account.tenantId !== tenant.tenantId) {
    errors.push({ field: "subject", reason: "not an account of this tenant", in: "body" });
  }
  const service = pubsubServiceOf(tenant.domain);
  for (const [i, s] of body.scope.streams.entries()) {
    const field = `scope.streams.${i}`;
    if (s.service !== service) {
      errors.push({
        field: `${field}.service`,
        reason: `the tenant's streams are on ${service}`,
        in: "body",
      });
      continue;
    }
    const node = await getNode(s.service, s.node);
    if (!node) errors.push({ field: `${field}.node`, reason: "no such stream in this tenant", in: "body" });
    else if (node.config.dataSubject !== subject) {
      errors.push({
        field: `${field}.node`,
        reason: node.config.dataSubject
          ? "the stream carries another subject's data"
          : "the stream has no dataSubject: it carries no personal data to consent to",
        in: "body",
      });
    }
  }
  const { kind, id } = body.recipient;
  const bad = (reason: string) => errors.push({ field: "recipient.id", reason, in: "body" });
  if (kind === "jid" && !JID.test(id)) bad("a bare JID, name@domain, in lowercase");
  if (kind === "domain" && !DOMAIN.test(id)) bad("a domain name, in lowercase");
  if (kind === "webhook" && !(await getEndpoint(tenant.tenantId, id)).ok)
    bad("no such webhook endpoint in this tenant");
  if (kind === "application" && !(await getApiKey(tenant.tenantId, id)))
    bad("no such API key in this tenant");
  return errors;
}

export function consentRoutes() {
  return newRouter()
    .openapi(request, async (c) => {
      const { tenant, key } = auth(c);
      const body = c.req.valid("json");
      const errors = await scopeProblems(c, body);
      if (errors.length > 0) {
        throw new ProblemError(
          "consent-scope",
          `the consent request is refused: ${errors.length} problem(s)`,
          errors,
        );
      }
      const record = await consentProblems(() =>
        createConsent(
          tenant.tenantId,
          { ...body, subject: body.subject.toLowerCase() },
          `tenant-admin:${key.keyId}`,
          "http",
        ),
      );
      return c.json(consentView(record), 201);
    })
    .openapi(ofSubject, async (c) => {
      const subject = await ownSubject(c, c.req.valid("param").subject);
      const consents = await consentsOfSubject(auth(c).tenant.tenantId, subject);
      return c.json({ consents: consents.map(storedView) }, 200);
    })
    .openapi(audit, async (c) => {
      const subject = await ownSubject(c, c.req.valid("param").subject);
      const { tenantId } = auth(c).tenant;
      const chain = chainOf(tenantId, subject);
      const { entries, checkpoints } = await readChain(chain);
      const key = tenantKey(tenantId);
      const verdict = verifyChain(entries, checkpoints, new Map([[key.keyId, key.publicKey]]));
      return c.json(
        {
          chain,
          entries: entries.map((e) => ({ ...e })),
          checkpoints: checkpoints.map((p) => ({ ...p })),
          verdict,
          publicKey: { keyId: key.keyId, publicKey: key.publicKey },
        },
        200,
      );
    })
    .openapi(listRequests, async (c) => {
      const open = c.req.valid("query").state === "open";
      const requests = await requestsOfTenant(auth(c).tenant.tenantId, open);
      return c.json({ requests: requests.map(requestView) }, 200);
    })
    .openapi(requestDone, async (c) => {
      const { tenant, key } = auth(c);
      const { requestId } = c.req.valid("param");
      const note = hasJson(c) ? (await c.req.json<{ note?: unknown }>()).note : undefined;
      const out = await markDone(
        tenant,
        requestId,
        `tenant-admin:${key.keyId}`,
        typeof note === "string" ? note : undefined,
      );
      if (out === "not-found") {
        throw new ProblemError("not-found", `no request ${requestId} in this tenant`, [
          { field: "requestId", reason: "no such request", in: "path" },
        ]);
      }
      if (out === "already-done") {
        throw new ProblemError("conflict", `request ${requestId} is done already`, [
          { field: "requestId", reason: "done already", in: "path" },
        ]);
      }
      return c.json(requestView(out), 200);
    })
    .openapi(getOne, async (c) => {
      const { consentId } = c.req.valid("param");
      const stored = await getConsent(consentId);
      if (!stored || stored.record.tenantId !== auth(c).tenant.tenantId) {
        throw new ProblemError("not-found", `no consent ${consentId} in this tenant`, [
          { field: "consentId", reason: "no such consent", in: "path" },
        ]);
      }
      return c.json(storedView(stored), 200);
    });
}

const TenantKeySchema = z
  .object({
    keyId: z.string(),
    alg: z.literal("Ed25519"),
    publicKey: z.string().openapi({ description: "Raw 32-byte public key, base64url" }),
  })
  .openapi("TenantSigningKey");

const keysRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Consents"],
  summary: "The tenant's public signing key",
  description: "Consent receipts and audit checkpoints are signed with it (Ed25519).",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  responses: {
    200: jsonContent(z.object({ keys: z.array(TenantKeySchema) }), "The keys"),
    ...problems(...AUTH_PROBLEMS),
  },
});

/** Mounted at /v1/tenant/keys. */
export function tenantKeyRoutes() {
  return newRouter().openapi(keysRoute, (c) => {
    const key = tenantKey(auth(c).tenant.tenantId);
    return c.json({ keys: [{ keyId: key.keyId, alg: "Ed25519" as const, publicKey: key.publicKey }] }, 200);
  });
}

function hasJson(c: Context): boolean {
  const length = c.req.header("content-length");
  return (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
}
