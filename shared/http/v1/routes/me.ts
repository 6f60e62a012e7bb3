// The data subject's own door, /v1/me, logged in with their XMPP account (HTTP Basic): see every consent
// about them and decide on it (grant, refuse, withdraw: each answered with the signed receipt), their
// receipts, what was delivered to whom per day, an export of their data, and rectification and erasure
// requests.

import { Readable } from "node:stream";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { stream } from "hono/streaming";
import { readChain } from "../../../consent/audit";
import { deliveryCounts } from "../../../consent/delivery-log";
import { subjectExport } from "../../../consent/export";
import { exportZip } from "../../../consent/export-zip";
import { chainOf } from "../../../consent/layout";
import { fileRequest, RIGHTS_KINDS, requestsOfSubject } from "../../../consent/rights";
import { changeConsent, consentsOfSubject, getConsent } from "../../../consent/store";
import type { ConsentState } from "../../../consent/vocabulary";
import { applyToSubscriptions } from "../../../xmpp/features/pubsub-consent";
import { ProblemError } from "../../problem";
import {
  ConsentSchema,
  consentProblems,
  consentView,
  ReceiptSchema,
  RightsRequestSchema,
  receiptView,
  requestView,
} from "../consent-views";
import { newRouter } from "../router";
import { problems } from "../schemas";
import { authenticateSubject, basicSecurity, type SubjectEnv, subjectOf } from "../subject-auth";

const tags = ["Data subject"];
const ME_PROBLEMS = [400, 401, 403, 404, 413, 415] as const;
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const ConsentParams = z.object({ consentId: z.string().min(1).max(64) });
const optionalBody = <T extends z.ZodType>(schema: T) => ({
  required: false,
  content: { "application/json": { schema } },
});

const list = createRoute({
  method: "get",
  path: "/consents",
  tags,
  summary: "My consents",
  description: "Every consent about me: recipient, purposes, scope, dates, and state now (expiry included).",
  security: basicSecurity,
  responses: {
    200: json(z.object({ consents: z.array(ConsentSchema) }), "Newest first"),
    ...problems(...ME_PROBLEMS),
  },
});

const Decided = z
  .object({ consent: ConsentSchema, receipt: ReceiptSchema.optional() })
  .openapi("ConsentDecision");

const decide = (action: "grant" | "refuse" | "withdraw", summary: string, body: z.ZodType) =>
  createRoute({
    method: "post",
    path: `/consents/{consentId}/${action}`,
    tags,
    summary,
    security: basicSecurity,
    request: { params: ConsentParams, body: optionalBody(body) },
    responses: {
      200: json(Decided, "The consent, and the signed receipt"),
      ...problems(...ME_PROBLEMS, 409),
    },
  });

const GrantBody = z.object({
  validDays: z
    .number()
    .int()
    .positive()
    .optional()
    .openapi({ description: "Shorter than asked, if I want; never longer" }),
  note: z.string().max(1000).optional(),
});
const NoteBody = z.object({ note: z.string().max(1000).optional() });
const grant = decide("grant", "Grant a requested consent", GrantBody);
const refuse = decide("refuse", "Refuse a requested consent", NoteBody);
const withdraw = decide("withdraw", "Withdraw a consent", NoteBody);

const receipts = createRoute({
  method: "get",
  path: "/receipts",
  tags,
  summary: "My consent receipts",
  security: basicSecurity,
  responses: {
    200: json(
      z.object({ receipts: z.array(ReceiptSchema) }),
      "Every receipt, by consent, newest consent first",
    ),
    ...problems(...ME_PROBLEMS),
  },
});

const deliveries = createRoute({
  method: "get",
  path: "/deliveries",
  tags,
  summary: "What was delivered to whom",
  description:
    "Counts per recipient per UTC day, from the delivery decisions on my audit chain (refused ones counted apart).",
  security: basicSecurity,
  responses: {
    200: json(
      z.object({
        deliveries: z.array(
          z.object({
            day: z.string(),
            recipient: z.string(),
            delivered: z.number().int(),
            refused: z.number().int(),
          }),
        ),
      }),
      "Counts",
    ),
    ...problems(...ME_PROBLEMS),
  },
});

const exportRoute = createRoute({
  method: "get",
  path: "/export",
  tags,
  summary: "Export my data",
  description:
    'Streamed as application/x-ndjson, one JSON object a line: {"type":"export","total":{...}} first (what is to come), then stream, item (resolved SenML JSON), consent (with receipts), audit and checkpoint lines, and {"type":"end","counts":{...}} last. With ?format=zip, the same as a ZIP archive, streamed: export.json (what is to come), streams/<n>/stream.json and items.senml.json (a SenML JSON pack), consents.json, audit.ndjson, summary.json.',
  security: basicSecurity,
  request: { query: z.object({ format: z.enum(["ndjson", "zip"]).optional() }) },
  responses: {
    200: {
      description: "The archive",
      content: {
        "application/x-ndjson": { schema: z.string() },
        "application/zip": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
    ...problems(...ME_PROBLEMS),
  },
});

const fileRoute = createRoute({
  method: "post",
  path: "/requests",
  tags,
  summary: "Ask for rectification or erasure",
  description:
    "Recorded and logged on my audit chain. An erasure is carried out at once: the items of my streams are deleted and every active consent is withdrawn (with receipts). A rectification waits for the tenant's admin.",
  security: basicSecurity,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ kind: z.enum(RIGHTS_KINDS), details: z.string().max(4000).default("") }),
        },
      },
    },
  },
  responses: { 201: json(RightsRequestSchema, "The request"), ...problems(...ME_PROBLEMS) },
});

const myRequests = createRoute({
  method: "get",
  path: "/requests",
  tags,
  summary: "My rectification and erasure requests",
  security: basicSecurity,
  responses: {
    200: json(z.object({ requests: z.array(RightsRequestSchema) }), "Oldest first"),
    ...problems(...ME_PROBLEMS),
  },
});

/** A consent about the caller, or 404 (someone else's is not acknowledged). */
async function mine(c: Context<SubjectEnv>, consentId: string) {
  const { jid, tenant } = subjectOf(c);
  const stored = await getConsent(consentId);
  if (!stored || stored.record.subject !== jid || stored.record.tenantId !== tenant.tenantId) {
    throw new ProblemError("not-found", `no consent ${consentId} about you`, [
      { field: "consentId", reason: "no such consent", in: "path" },
    ]);
  }
  return stored;
}

async function bodyOf(c: Context): Promise<Record<string, unknown>> {
  const length = c.req.header("content-length");
  if ((length === undefined || length === "0") && c.req.header("transfer-encoding") === undefined) return {};
  const body = await c.req.json<unknown>();
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
}

async function change(c: Context<SubjectEnv>, consentId: string, to: ConsentState) {
  return decideAsSubject(c, consentId, to, await bodyOf(c));
}

/**
 * The logged-in subject decides on one of their consents (this door and the console's): the change,
 * its receipt, and its effect on the recipient's subscriptions.
 */
export async function decideAsSubject(
  c: Context<SubjectEnv>,
  consentId: string,
  to: ConsentState,
  body: Record<string, unknown>,
) {
  const { jid, tenant } = subjectOf(c);
  await mine(c, consentId);
  const out = await consentProblems(() =>
    changeConsent(
      consentId,
      to,
      {
        by: jid,
        via: "http",
        ...(typeof body.note === "string" ? { note: body.note } : {}),
        ...(typeof body.validDays === "number" ? { validDays: body.validDays } : {}),
      },
      tenant.domain,
    ),
  );
  await applyToSubscriptions(out.record);
  return { consent: consentView(out.record), ...(out.receipt ? { receipt: receiptView(out.receipt) } : {}) };
}

export function meRoutes() {
  const router = newRouter<SubjectEnv>();
  router.use("*", authenticateSubject);
  return router
    .openapi(list, async (c) => {
      const { jid, tenant } = subjectOf(c);
      const consents = await consentsOfSubject(tenant.tenantId, jid);
      return c.json({ consents: consents.map((s) => consentView(s.record)) }, 200);
    })
    .openapi(grant, async (c) => c.json(await change(c, c.req.valid("param").consentId, "granted"), 200))
    .openapi(refuse, async (c) => c.json(await change(c, c.req.valid("param").consentId, "refused"), 200))
    .openapi(withdraw, async (c) => c.json(await change(c, c.req.valid("param").consentId, "withdrawn"), 200))
    .openapi(receipts, async (c) => {
      const { jid, tenant } = subjectOf(c);
      const consents = await consentsOfSubject(tenant.tenantId, jid);
      return c.json({ receipts: consents.flatMap((s) => s.receipts.map(receiptView)) }, 200);
    })
    .openapi(deliveries, async (c) => {
      const { jid, tenant } = subjectOf(c);
      const { entries } = await readChain(chainOf(tenant.tenantId, jid));
      return c.json({ deliveries: deliveryCounts(entries) }, 200);
    })
    .openapi(exportRoute, async (c) => {
      const { jid, tenant } = subjectOf(c);
      if (c.req.query("format") === "zip") {
        const zip = exportZip(subjectExport(tenant, jid), (err) =>
          console.error(`GET /v1/me/export?format=zip for ${jid}:`, err),
        );
        // zod-openapi types only JSON and text answers; a streamed archive is a plain Response.
        return new Response(Readable.toWeb(zip) as ReadableStream, {
          headers: {
            "content-type": "application/zip",
            "content-disposition": `attachment; filename="relais-export-${jid}.zip"`,
            "cache-control": "no-store",
          },
        }) as never;
      }
      c.header("content-type", "application/x-ndjson; charset=utf-8");
      c.header("content-disposition", `attachment; filename="relais-export-${jid}.ndjson"`);
      c.header("cache-control", "no-store");
      // zod-openapi types only JSON and text answers; a streamed ndjson body is a plain Response.
      return stream(
        c,
        async (out) => {
          for await (const line of subjectExport(tenant, jid)) {
            if (out.aborted) return;
            await out.write(`${JSON.stringify(line)}\n`);
          }
        },
        async (err, out) => {
          // The status is sent already: the archive ends with an error line instead of "end".
          console.error(`GET /v1/me/export for ${jid}:`, err);
          await out.write(
            `${JSON.stringify({ type: "error", detail: "the export failed on the server" })}\n`,
          );
        },
      ) as never;
    })
    .openapi(fileRoute, async (c) => {
      const { jid, tenant } = subjectOf(c);
      const { kind, details } = c.req.valid("json");
      const request = await fileRequest(tenant, jid, kind, details);
      return c.json(requestView(request), 201);
    })
    .openapi(myRequests, async (c) => {
      const { jid, tenant } = subjectOf(c);
      return c.json({ requests: (await requestsOfSubject(tenant.tenantId, jid)).map(requestView) }, 200);
    });
}
