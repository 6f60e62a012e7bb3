// Webhooks out (issue 7): what the HTTP routes and the rest of the system call. Every function takes
// the tenant first and only reaches that tenant's endpoints and deliveries.

export { processWebhookJob } from "./deliver";
export {
  type DeliveryRecord,
  getDeliveryOutput as getDelivery,
  LOG_DAYS,
  listDeliveries,
  listParked,
  type ParkedDelivery,
  redeliver,
} from "./deliveries";
export {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  type RegistryOptions,
  ROTATION_OVERLAP_SECONDS,
  rotateSecret,
  updateEndpoint,
} from "./endpoints";
export { enqueueWebhookDeliveries } from "./enqueue";
export { type WebhookFailure, type WebhookFailureCode, type WebhookResult, webhookErrors } from "./errors";
export type { StreamItemPayload } from "./payload";
export { type Decision, type StreamEvent, shouldDeliver } from "./routing";
export * from "./schemas";
export { type WebhookSettings, webhookEnvVars, webhookSettings } from "./settings";
