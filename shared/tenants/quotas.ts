// Per-tenant limits: countable resources (accounts, streams, webhook endpoints) answer 403 once their
// count reaches the limit; ingest is a daily rate, answered 429 with Retry-After. Pure: the store
// (tenants.ts, usage.ts) applies them atomically with conditional writes.

export interface Quotas {
  readonly accounts: number;
  readonly streams: number;
  readonly ingestPerDay: number;
  readonly webhookEndpoints: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  accounts: 100,
  streams: 50,
  ingestPerDay: 100_000,
  webhookEndpoints: 10,
};

/** Countable resources: their counters live on the tenant's item. */
export type Countable = "accounts" | "streams" | "webhookEndpoints";

/** A stored quota override read back: what is missing or malformed takes the default. */
export function quotasFromStored(raw: unknown): Quotas {
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const n = (v: unknown, d: number) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : d);
  return {
    accounts: n(r.accounts, DEFAULT_QUOTAS.accounts),
    streams: n(r.streams, DEFAULT_QUOTAS.streams),
    ingestPerDay: n(r.ingestPerDay, DEFAULT_QUOTAS.ingestPerDay),
    webhookEndpoints: n(r.webhookEndpoints, DEFAULT_QUOTAS.webhookEndpoints),
  };
}

/** The UTC day a moment falls in, "2026-11-27": daily counters reset at midnight UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Whole seconds until the next UTC midnight (at least 1): the Retry-After of a daily limit. */
export function secondsUntilNextUtcDay(ms: number): number {
  const d = new Date(ms);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - ms) / 1000));
}
