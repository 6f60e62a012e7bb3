// Webhook endpoints and their deliveries (admin only): register, list, change, rotate the signing
// secret, delete; the delivery log of an endpoint, the parked (dead-letter) deliveries, redelivery.
// The work is shared/webhooks'; this module maps it to HTTP.
import { createRoute, z } from "@hono/zod-openapi";
import { releaseCount } from "../../../tenants/tenants";
import {
  createEndpoint,
  deleteEndpoint,
  deliveryOutput,
  deliveryPage,
  endpointInput,
  endpointOutput,
  endpointPatch,
  endpointWithSecret,
  getDelivery,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  listParked,
  pageQuery,
  redeliver,
  rotateSecret,
  updateEndpoint,
  type WebhookResult,
} from "../../../webhooks";
import { ProblemError, type ProblemName } from "../../problem";
import { auth, bearerSecurity } from "../auth";
import { takeOrRefuse } from "../limits";
import { newRouter } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const Endpoint = endpointOutput;
const EndpointWithSecret = endpointWithSecret;
const Delivery = deliveryOutput;
const EndpointParams = z.object({ endpointId: z.string().min(1).max(64) });
const DeliveryParams = z.object({ deliveryId: z.string().min(1).max(128) });
const Parked = z
  .object({
    parked: z.array(
      z.object({
        deliveryId: z.string(),
        endpointId: z.string(),
        stream: z.string(),
        itemId: z.string(),
        lastError: z.string(),
        parkedAt: z.string(),
      }),
    ),
    cursor: z.string().optional(),
  })
  .openapi("ParkedDeliveries");

const PROBLEM_OF: Record<string, ProblemName> = {
  "invalid-input": "validation",
  "url-refused": "webhook-url-refused",
  "not-found": "not-found",
  "not-redeliverable": "not-redeliverable",
};

/** The value of a webhook result, or the problem it maps to. */
function unwrap<T>(result: WebhookResult<T>, where: "body" | "path" | "query" = "body"): T {
  if (result.ok) return result.value;
  const { code, field, detail } = result.error;
  const problem = PROBLEM_OF[code] ?? "validation";
  const at = field ?? (problem === "not-found" ? "(path)" : "(body)");
  throw new ProblemError(problem, detail, [{ field: at, reason: detail, in: field ? where : "path" }]);
}

const tags = ["Webhooks"];
const route = <T extends Parameters<typeof createRoute>[0]>(r: T) =>
  createRoute({ ...r, tags, security: bearerSecurity });

const create = route({
  method: "post",
  path: "/",
  summary: "Register a webhook endpoint",
  description:
    "Items published to the chosen streams are POSTed to the URL, signed with the Standard Webhooks scheme. The URL must be https and resolve to public addresses only. The signing secret is shown once.",
  request: { body: jsonBody(endpointInput) },
  responses: {
    201: jsonContent(EndpointWithSecret, "The endpoint, with its signing secret"),
    ...problems(...AUTH_PROBLEMS, 422),
  },
});
const list = route({
  method: "get",
  path: "/",
  summary: "List the tenant's webhook endpoints",
  responses: {
    200: jsonContent(z.object({ endpoints: z.array(Endpoint) }), "The endpoints"),
    ...problems(...AUTH_PROBLEMS),
  },
});
const get = route({
  method: "get",
  path: "/{endpointId}",
  summary: "One webhook endpoint",
  request: { params: EndpointParams },
  responses: { 200: jsonContent(Endpoint, "The endpoint"), ...problems(...AUTH_PROBLEMS) },
});
const patch = route({
  method: "patch",
  path: "/{endpointId}",
  summary: "Change a webhook endpoint (URL, streams, description, enabled)",
  request: { params: EndpointParams, body: jsonBody(endpointPatch) },
  responses: { 200: jsonContent(Endpoint, "The endpoint"), ...problems(...AUTH_PROBLEMS, 422) },
});
const remove = route({
  method: "delete",
  path: "/{endpointId}",
  summary: "Delete a webhook endpoint",
  request: { params: EndpointParams },
  responses: { 204: { description: "Deleted" }, ...problems(...AUTH_PROBLEMS) },
});
const rotate = route({
  method: "post",
  path: "/{endpointId}/rotate",
  summary: "Rotate the signing secret",
  description: "Deliveries are signed with both the old and the new secret for 24 hours.",
  request: { params: EndpointParams },
  responses: {
    200: jsonContent(EndpointWithSecret, "The endpoint, with its new secret"),
    ...problems(...AUTH_PROBLEMS),
  },
});
const log = route({
  method: "get",
  path: "/{endpointId}/deliveries",
  summary: "The endpoint's delivery log, newest first",
  description: "Status, attempts, last error, last latency of each delivery; kept 30 days.",
  request: { params: EndpointParams, query: pageQuery },
  responses: {
    200: jsonContent(deliveryPage, "A page of deliveries"),
    ...problems(...AUTH_PROBLEMS),
  },
});

const parked = route({
  method: "get",
  path: "/parked",
  summary: "Deliveries given up on (the dead-letter store)",
  request: { query: pageQuery },
  responses: { 200: jsonContent(Parked, "A page of parked deliveries"), ...problems(...AUTH_PROBLEMS) },
});
const getOne = route({
  method: "get",
  path: "/{deliveryId}",
  summary: "One webhook delivery",
  request: { params: DeliveryParams },
  responses: { 200: jsonContent(Delivery, "The delivery"), ...problems(...AUTH_PROBLEMS) },
});
const redeliverOne = route({
  method: "post",
  path: "/{deliveryId}/redeliver",
  summary: "Deliver a failed or parked delivery again",
  description: "With a fresh attempt budget; the receiver gets the same webhook-id and body.",
  request: { params: DeliveryParams },
  responses: {
    202: jsonContent(Delivery, "The delivery, pending again"),
    ...problems(...AUTH_PROBLEMS, 409),
  },
});

export function webhookRoutes() {
  return newRouter()
    .openapi(create, async (c) => {
      const { tenant } = auth(c);
      await takeOrRefuse(tenant, "webhookEndpoints");
      const result = await createEndpoint(tenant.tenantId, c.req.valid("json"));
      if (!result.ok) await releaseCount(tenant.tenantId, "webhookEndpoints");
      return c.json(unwrap(result), 201);
    })
    .openapi(list, async (c) => c.json({ endpoints: await listEndpoints(auth(c).tenant.tenantId) }, 200))
    .openapi(get, async (c) =>
      c.json(unwrap(await getEndpoint(auth(c).tenant.tenantId, c.req.valid("param").endpointId)), 200),
    )
    .openapi(patch, async (c) => {
      const { endpointId } = c.req.valid("param");
      return c.json(
        unwrap(await updateEndpoint(auth(c).tenant.tenantId, endpointId, c.req.valid("json"))),
        200,
      );
    })
    .openapi(remove, async (c) => {
      const { tenant } = auth(c);
      unwrap(await deleteEndpoint(tenant.tenantId, c.req.valid("param").endpointId));
      await releaseCount(tenant.tenantId, "webhookEndpoints");
      return c.body(null, 204);
    })
    .openapi(rotate, async (c) =>
      c.json(unwrap(await rotateSecret(auth(c).tenant.tenantId, c.req.valid("param").endpointId)), 200),
    )
    .openapi(log, async (c) => {
      const { endpointId } = c.req.valid("param");
      return c.json(
        unwrap(await listDeliveries(auth(c).tenant.tenantId, endpointId, c.req.valid("query")), "query"),
        200,
      );
    });
}

export function deliveryRoutes() {
  return newRouter()
    .openapi(parked, async (c) =>
      c.json(unwrap(await listParked(auth(c).tenant.tenantId, c.req.valid("query")), "query"), 200),
    )
    .openapi(getOne, async (c) =>
      c.json(unwrap(await getDelivery(auth(c).tenant.tenantId, c.req.valid("param").deliveryId)), 200),
    )
    .openapi(redeliverOne, async (c) =>
      c.json(unwrap(await redeliver(auth(c).tenant.tenantId, c.req.valid("param").deliveryId)), 202),
    );
}
