import { z } from "zod";

// Settings of the webhook functions, read from their environment at call time (set in the function's
// environment on AWS, in the hub's process locally). Each error names its variable.

const flag = z
  .enum(["", "0", "1", "false", "true", "no", "yes"])
  .transform((v) => v === "1" || v === "true" || v === "yes");
const list = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean),
);
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  allowHosts: list.default([]),
  allowHttp: flag.default(false),
  timeoutMs: positiveInt.max(60_000).default(10_000),
  backoffBaseMs: positiveInt.default(30_000),
  backoffMaxSeconds: positiveInt.max(900).default(900),
  retrySeconds: positiveInt.default(24 * 3600),
  maxAttempts: positiveInt.default(200),
  endpointConcurrency: positiveInt.max(50).default(4),
});

export type WebhookSettings = z.infer<typeof schema>;

export const webhookEnvVars: Record<keyof WebhookSettings, string> = {
  /** Hosts, addresses or CIDR ranges exempt from the SSRF address check (local development, tests). */
  allowHosts: "RELAIS_WEBHOOK_ALLOW_HOSTS",
  /** Accept http:// endpoint URLs (development only). */
  allowHttp: "RELAIS_WEBHOOK_ALLOW_HTTP",
  /** One attempt's budget, connect to last byte. */
  timeoutMs: "RELAIS_WEBHOOK_TIMEOUT_MS",
  /** Full-jitter backoff: attempt n waits random(0, min(max, base * 2^(n-1))). */
  backoffBaseMs: "RELAIS_WEBHOOK_BACKOFF_BASE_MS",
  backoffMaxSeconds: "RELAIS_WEBHOOK_BACKOFF_MAX_SECONDS",
  /** A delivery is retried while its first attempt is younger than this, then parked. */
  retrySeconds: "RELAIS_WEBHOOK_RETRY_SECONDS",
  /** ...or once it made this many attempts. */
  maxAttempts: "RELAIS_WEBHOOK_MAX_ATTEMPTS",
  /** Attempts in flight at once towards one endpoint. */
  endpointConcurrency: "RELAIS_WEBHOOK_ENDPOINT_CONCURRENCY",
};

export function webhookSettings(env: NodeJS.ProcessEnv = process.env): WebhookSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(webhookEnvVars)) {
    if (env[name] !== undefined && env[name] !== "") raw[key] = env[name]?.trim().toLowerCase();
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((i) => `${webhookEnvVars[String(i.path[0]) as keyof WebhookSettings] ?? i.path[0]}: ${i.message}`)
      .join("; ");
    throw new Error(`invalid webhook settings: ${why}`);
  }
  return parsed.data;
}
