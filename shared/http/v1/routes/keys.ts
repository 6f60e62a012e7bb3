// API keys of the tenant (admin only): create, list (never a secret), rotate, revoke.
import { createRoute, z } from "@hono/zod-openapi";
import { pubsubServiceOf } from "../../../directory/domains";
import { getNode } from "../../../pubsub/store";
import {
  type ApiKey,
  createApiKey,
  getApiKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  SCOPES,
} from "../../../tenants/api-keys";
import { ProblemError } from "../../problem";
import { auth, bearerSecurity } from "../auth";
import { newRouter } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const ApiKeySchema = z
  .object({
    keyId: z.string(),
    name: z.string(),
    scope: z.enum(SCOPES),
    stream: z.string().optional().openapi({ description: "Ingest keys: the one stream they publish to" }),
    createdAt: z.string(),
    rotatedAt: z.string().optional(),
  })
  .openapi("ApiKey");

const NewKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The key, shown once: only its hash is stored" }),
}).openapi("NewApiKey");

const KeyParams = z.object({ keyId: z.string().min(1).max(64) });

const view = (k: ApiKey): z.infer<typeof ApiKeySchema> => ({
  keyId: k.keyId,
  name: k.name,
  scope: k.scope,
  ...(k.stream === undefined ? {} : { stream: k.stream }),
  createdAt: k.createdAt,
  ...(k.rotatedAt === undefined ? {} : { rotatedAt: k.rotatedAt }),
});

const notFound = (keyId: string) =>
  new ProblemError("not-found", `no API key ${keyId} in this tenant`, [
    { field: "keyId", reason: "no such key", in: "path" },
  ]);

const createKey = createRoute({
  method: "post",
  path: "/",
  tags: ["API keys"],
  summary: "Create an API key",
  description: "admin: everything of the tenant; ingest: publish to one stream; read: read-only.",
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100),
          scope: z.enum(SCOPES),
          stream: z.string().min(1).max(1023).optional(),
        })
        .refine((b) => (b.scope === "ingest") === (b.stream !== undefined), {
          message: "an ingest key names its one stream; other scopes name none",
          path: ["stream"],
        }),
    ),
  },
  responses: { 201: jsonContent(NewKeySchema, "The key, with its secret"), ...problems(...AUTH_PROBLEMS) },
});

const listKeys = createRoute({
  method: "get",
  path: "/",
  tags: ["API keys"],
  summary: "List the tenant's API keys (no secrets)",
  security: bearerSecurity,
  responses: {
    200: jsonContent(z.object({ keys: z.array(ApiKeySchema) }), "The keys"),
    ...problems(...AUTH_PROBLEMS),
  },
});

const getKey = createRoute({
  method: "get",
  path: "/{keyId}",
  tags: ["API keys"],
  summary: "One API key (no secret)",
  security: bearerSecurity,
  request: { params: KeyParams },
  responses: { 200: jsonContent(ApiKeySchema, "The key"), ...problems(...AUTH_PROBLEMS) },
});

const rotateKey = createRoute({
  method: "post",
  path: "/{keyId}/rotate",
  tags: ["API keys"],
  summary: "Rotate an API key",
  description: "A new secret for the same key id and scope; the old secret stops working at once.",
  security: bearerSecurity,
  request: { params: KeyParams },
  responses: { 200: jsonContent(NewKeySchema, "The key with its new secret"), ...problems(...AUTH_PROBLEMS) },
});

const revokeKey = createRoute({
  method: "delete",
  path: "/{keyId}",
  tags: ["API keys"],
  summary: "Revoke an API key",
  security: bearerSecurity,
  request: { params: KeyParams },
  responses: { 204: { description: "Revoked" }, ...problems(...AUTH_PROBLEMS) },
});

export function keyRoutes() {
  return newRouter()
    .openapi(createKey, async (c) => {
      const { tenant } = auth(c);
      const body = c.req.valid("json");
      if (body.stream !== undefined && !(await getNode(pubsubServiceOf(tenant.domain), body.stream))) {
        throw new ProblemError("validation", `the tenant has no stream ${body.stream}`, [
          { field: "stream", reason: "no such stream", in: "body" },
        ]);
      }
      const { apiKey, key } = await createApiKey({
        tenantId: tenant.tenantId,
        scope: body.scope,
        name: body.name,
        ...(body.stream === undefined ? {} : { stream: body.stream }),
      });
      return c.json({ ...view(apiKey), key }, 201);
    })
    .openapi(listKeys, async (c) =>
      c.json({ keys: (await listApiKeys(auth(c).tenant.tenantId)).map(view) }, 200),
    )
    .openapi(getKey, async (c) => {
      const { keyId } = c.req.valid("param");
      const k = await getApiKey(auth(c).tenant.tenantId, keyId);
      if (!k) throw notFound(keyId);
      return c.json(view(k), 200);
    })
    .openapi(rotateKey, async (c) => {
      const { keyId } = c.req.valid("param");
      const out = await rotateApiKey(auth(c).tenant.tenantId, keyId);
      if (!out) throw notFound(keyId);
      return c.json({ ...view(out.apiKey), key: out.key }, 200);
    })
    .openapi(revokeKey, async (c) => {
      const { keyId } = c.req.valid("param");
      if (!(await revokeApiKey(auth(c).tenant.tenantId, keyId))) throw notFound(keyId);
      return c.body(null, 204);
    });
}
