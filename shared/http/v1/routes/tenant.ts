// Sign-up (public, or behind the operator's sign-up code), the tenant's own record, its custom domain's
// DNS verification, and its usage.
import { timingSafeEqual } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { claimDomain, pubsubServiceOf } from "../../../directory/domains";
import { createApiKey } from "../../../tenants/api-keys";
import { DEFAULT_QUOTAS } from "../../../tenants/quotas";
import { DOMAIN_PATTERN, SLUG_PATTERN, slugFrom, slugProblem } from "../../../tenants/slug";
import {
  challengeName,
  createTenant,
  getTenant,
  markCustomDomainVerified,
  type Tenant,
} from "../../../tenants/tenants";
import { ingestToday } from "../../../tenants/usage";
import { ProblemError } from "../../problem";
import { auth, bearerSecurity, requireScope } from "../auth";
import { newRouter, type V1Settings } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const CustomDomainSchema = z.object({
  domain: z.string(),
  status: z.enum(["pending", "verified"]),
  challenge: z.object({
    name: z.string().openapi({ example: "_relais-challenge.asso.example" }),
    type: z.literal("TXT"),
    value: z.string(),
  }),
});

const TenantSchema = z
  .object({
    tenantId: z.string(),
    name: z.string(),
    contactEmail: z.string(),
    domain: z.string().openapi({ description: "The tenant's XMPP domain", example: "asso.relais.example" }),
    pubsubService: z.string().openapi({ description: "Where its streams are, as XEP-0060 nodes" }),
    customDomain: CustomDomainSchema.optional(),
    createdAt: z.string(),
  })
  .openapi("Tenant");

export const QuotasSchema = z
  .object({
    accounts: z.number().int(),
    streams: z.number().int(),
    ingestPerDay: z.number().int(),
    webhookEndpoints: z.number().int(),
  })
  .openapi("Quotas");

function tenantView(t: Tenant): z.infer<typeof TenantSchema> {
  return {
    tenantId: t.tenantId,
    name: t.name,
    contactEmail: t.contactEmail,
    domain: t.domain,
    pubsubService: pubsubServiceOf(t.domain),
    ...(t.customDomain
      ? {
          customDomain: {
            domain: t.customDomain.domain,
            status: t.customDomain.status,
            challenge: {
              name: challengeName(t.customDomain.domain),
              type: "TXT" as const,
              value: t.customDomain.token,
            },
          },
        }
      : {}),
    createdAt: t.createdAt,
  };
}

const signupRoute = createRoute({
  method: "post",
  path: "/signup",
  tags: ["Tenant"],
  summary: "Create a tenant",
  description:
    "Creates a tenant with the domain <slug>.<base domain>, served by XMPP at once, and optionally its own domain, pending until its DNS challenge is verified. Returns an admin API key, shown this once. When the operator set RELAIS_SIGNUP_CODE, `signupCode` must match it.",
  request: {
    body: jsonBody(
      z.object({
        name: z.string().trim().min(1).max(100),
        contactEmail: z.email(),
        slug: z
          .string()
          .regex(SLUG_PATTERN, "3 to 40 lowercase letters, digits or inner hyphens")
          .optional()
          .openapi({ description: "The label of the sub-domain; derived from the name when left out" }),
        customDomain: z
          .string()
          .toLowerCase()
          .regex(DOMAIN_PATTERN, "a domain name such as asso.example")
          .optional(),
        signupCode: z.string().optional(),
      }),
    ),
  },
  responses: {
    201: jsonContent(
      z.object({
        tenant: TenantSchema,
        apiKey: z.object({
          keyId: z.string(),
          scope: z.literal("admin"),
          key: z.string().openapi({ description: "Shown once: only its hash is stored" }),
        }),
      }),
      "The tenant and its admin key",
    ),
    ...problems(400, 403, 409, 413, 415),
  },
});

export function signupRoutes(settings: V1Settings) {
  return newRouter().openapi(signupRoute, async (c) => {
    const body = c.req.valid("json");
    const required = settings.signupCode();
    if (required !== undefined && !sameSecret(body.signupCode ?? "", required)) {
      throw new ProblemError("signup-closed", "this deployment requires its operator's sign-up code", [
        { field: "signupCode", reason: body.signupCode ? "does not match" : "missing", in: "body" },
      ]);
    }
    const slug = body.slug ?? slugFrom(body.name);
    if (!slug) {
      throw new ProblemError("validation", "no slug can be made from the name: give one", [
        { field: "slug", reason: "required when the name has fewer than 3 letters or digits", in: "body" },
      ]);
    }
    const reserved = slugProblem(slug);
    if (reserved) {
      throw new ProblemError("validation", `the slug ${slug} cannot be used: ${reserved}`, [
        { field: "slug", reason: reserved, in: "body" },
      ]);
    }
    const base = settings.baseDomain();
    if (body.customDomain && (body.customDomain === base || body.customDomain.endsWith(`.${base}`))) {
      throw new ProblemError("validation", "a custom domain cannot be under the deployment's base domain", [
        { field: "customDomain", reason: `is under ${base}: use slug instead`, in: "body" },
      ]);
    }
    const created = await createTenant({
      name: body.name,
      contactEmail: body.contactEmail,
      domain: `${slug}.${base}`,
      ...(body.customDomain ? { customDomain: body.customDomain } : {}),
    });
    if (created === "domain-taken") {
      throw new ProblemError("conflict", `the domain ${slug}.${base} is taken`, [
        { field: "slug", reason: `${slug}.${base} is taken: choose another slug`, in: "body" },
      ]);
    }
    const tenant = created;
    const { apiKey, key } = await createApiKey({
      tenantId: tenant.tenantId,
      scope: "admin",
      name: "sign-up",
    });
    return c.json(
      { tenant: tenantView(tenant), apiKey: { keyId: apiKey.keyId, scope: "admin" as const, key } },
      201,
    );
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const getTenantRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Tenant"],
  summary: "The key's tenant",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  responses: { 200: jsonContent(TenantSchema, "The tenant"), ...problems(...AUTH_PROBLEMS) },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/domain/verify",
  tags: ["Tenant"],
  summary: "Verify the custom domain's DNS challenge",
  description:
    "Looks up the TXT record _relais-challenge.<domain>; when it holds the challenge value, the domain becomes a hosted XMPP domain of the tenant.",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonContent(TenantSchema, "The domain is verified and served"),
    ...problems(...AUTH_PROBLEMS, 409, 422),
  },
});

const UsageSchema = z
  .object({
    accounts: z.number().int(),
    streams: z.number().int(),
    webhookEndpoints: z.number().int(),
    ingestToday: z.number().int().openapi({ description: "Messages ingested since 00:00 UTC" }),
    limits: QuotasSchema,
  })
  .openapi("Usage");

const usageRoute = createRoute({
  method: "get",
  path: "/usage",
  tags: ["Tenant"],
  summary: "Usage counters and limits",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  responses: { 200: jsonContent(UsageSchema, "Counters and limits"), ...problems(...AUTH_PROBLEMS) },
});

export function tenantRoutes(settings: V1Settings) {
  return newRouter()
    .openapi(getTenantRoute, (c) => c.json(tenantView(auth(c).tenant), 200))
    .openapi(verifyRoute, async (c) => {
      const { tenant } = auth(c);
      const custom = tenant.customDomain;
      if (!custom) {
        throw new ProblemError("not-found", "the tenant has no custom domain to verify", [
          { field: "customDomain", reason: "none was given at sign-up" },
        ]);
      }
      if (custom.status === "verified") return c.json(tenantView(tenant), 200);
      const name = challengeName(custom.domain);
      let records: string[][];
      try {
        records = await settings.resolveTxt(name);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "lookup failed";
        throw new ProblemError("domain-not-verified", `no TXT record at ${name} (${code})`, [
          { field: "customDomain", reason: `TXT ${name} not found` },
        ]);
      }
      // A TXT record may be split in strings of 255 bytes: they are one value joined.
      if (!records.some((r) => r.join("") === custom.token)) {
        throw new ProblemError(
          "domain-not-verified",
          `the TXT records at ${name} do not hold the challenge value`,
          [{ field: "customDomain", reason: `TXT ${name} must be "${custom.token}"` }],
        );
      }
      if (!(await claimDomain(custom.domain, tenant.tenantId))) {
        throw new ProblemError("conflict", `${custom.domain} is served for another tenant already`, [
          { field: "customDomain", reason: "taken" },
        ]);
      }
      await markCustomDomainVerified(tenant.tenantId);
      const updated = (await getTenant(tenant.tenantId)) ?? tenant;
      return c.json(tenantView(updated), 200);
    })
    .openapi(usageRoute, async (c) => {
      const { tenant } = auth(c);
      return c.json(
        {
          accounts: tenant.counts.accounts,
          streams: tenant.counts.streams,
          webhookEndpoints: tenant.counts.webhookEndpoints,
          ingestToday: await ingestToday(tenant.tenantId),
          limits: { ...DEFAULT_QUOTAS, ...tenant.quotas },
        },
        200,
      );
    });
}
