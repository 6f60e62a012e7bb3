import { z } from "zod";

// The webhook API's shapes, for the HTTP routes to validate requests and describe responses (OpenAPI)
// with, and for this module to validate what it is handed.

const streamId = z.string().min(1).max(1024);

/** Which streams (node ids of the tenant's PubSub service) an endpoint receives: a list, or "all". */
export const endpointStreams = z.union([z.literal("all"), z.array(streamId).min(1).max(100)]);

export const endpointInput = z.object({
  url: z.string().min(1).max(2048).describe("https URL receiving POSTed deliveries"),
  streams: endpointStreams.default("all"),
  description: z.string().max(500).default(""),
  enabled: z.boolean().default(true),
});
export type EndpointInput = z.input<typeof endpointInput>;

export const endpointPatch = z
  .object({
    url: z.string().min(1).max(2048),
    streams: endpointStreams,
    description: z.string().max(500),
    enabled: z.boolean(),
  })
  .partial()
  .strict();
export type EndpointPatch = z.infer<typeof endpointPatch>;

export const endpointOutput = z.object({
  id: z.string(),
  url: z.string(),
  streams: endpointStreams,
  description: z.string(),
  enabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  secretRotatedAt: z.iso.datetime(),
  /** Deliveries given up on (parked) since the endpoint was created. */
  failedDeliveries: z.number().int().nonnegative(),
});
export type EndpointOutput = z.infer<typeof endpointOutput>;

/** What creation and rotation return: the only times the signing secret is shown. */
export const endpointWithSecret = endpointOutput.extend({
  secret: z.string().startsWith("whsec_").describe("Standard Webhooks signing secret; shown once"),
});
export type EndpointWithSecret = z.infer<typeof endpointWithSecret>;

export const deliveryStatus = z.enum(["pending", "succeeded", "failed", "parked"]);
export type DeliveryStatus = z.infer<typeof deliveryStatus>;

export const deliveryOutput = z.object({
  /** Also the webhook-id header of every attempt. */
  id: z.string(),
  endpointId: z.string(),
  stream: z.string(),
  itemId: z.string(),
  status: deliveryStatus,
  attempts: z.number().int().nonnegative(),
  /** "HTTP 503", "timed out after 10000 ms", "network: ECONNREFUSED ...". */
  lastError: z.string().optional(),
  lastStatusCode: z.number().int().optional(),
  lastLatencyMs: z.number().int().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  lastAttemptAt: z.iso.datetime().optional(),
  nextAttemptAt: z.iso.datetime().optional(),
  succeededAt: z.iso.datetime().optional(),
});
export type DeliveryOutput = z.infer<typeof deliveryOutput>;

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(1024).optional(),
});
export type PageQuery = z.input<typeof pageQuery>;

export const deliveryPage = z.object({
  deliveries: z.array(deliveryOutput),
  /** Pass back to get the next (older) page; absent on the last one. */
  cursor: z.string().optional(),
});
export type DeliveryPage = z.infer<typeof deliveryPage>;
