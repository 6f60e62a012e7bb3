// Failures of the webhook API, each with the HTTP status a route should answer with (RFC 9457 problem
// types are the HTTP layer's business; this registry is the one place a failure gets its status).
export const webhookErrors = {
  "invalid-input": { status: 400, title: "The request does not describe a valid webhook endpoint" },
  "url-refused": { status: 422, title: "The endpoint URL is not one webhooks may be sent to" },
  "not-found": { status: 404, title: "No such webhook endpoint or delivery for this tenant" },
  "not-redeliverable": { status: 409, title: "Only a failed or parked delivery can be redelivered" },
} as const satisfies Record<string, { status: number; title: string }>;

export type WebhookFailureCode = keyof typeof webhookErrors;

export interface WebhookFailure {
  readonly code: WebhookFailureCode;
  /** The input field at fault ("url", "streams[2]"), when one is. */
  readonly field?: string;
  /** For people: which value, and why. */
  readonly detail: string;
}

export type WebhookResult<T> = { ok: true; value: T } | { ok: false; error: WebhookFailure };

export const failure = (
  code: WebhookFailureCode,
  detail: string,
  field?: string,
): { ok: false; error: WebhookFailure } => ({
  ok: false,
  error: field === undefined ? { code, detail } : { code, detail, field },
});
