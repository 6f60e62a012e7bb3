// The tenant's limits as HTTP answers: a countable resource at its limit is 403, the daily rate 429.
import type { Countable } from "../../tenants/quotas";
import { type Tenant, takeCount } from "../../tenants/tenants";
import { countIngest } from "../../tenants/usage";
import { ProblemError } from "../problem";

/** Takes one unit of `what`, or throws the 403 quota-exceeded problem naming the limit. */
export async function takeOrRefuse(tenant: Tenant, what: Countable): Promise<void> {
  if (await takeCount(tenant, what)) return;
  const limit = tenant.quotas[what];
  throw new ProblemError("quota-exceeded", `the tenant has ${limit} ${what}, its limit`, [
    { field: what, reason: `at most ${limit}` },
  ]);
}

/** Counts one ingested message, or throws the 429 rate-limited problem with Retry-After. */
export async function countIngestOrRefuse(tenant: Tenant): Promise<void> {
  const counted = await countIngest(tenant);
  if (counted.ok) return;
  const limit = tenant.quotas.ingestPerDay;
  const retry = counted.retryAfterSeconds;
  throw new ProblemError(
    "rate-limited",
    `the tenant ingested ${limit} messages today (UTC), its daily limit; retry after ${retry} s`,
    [{ field: "ingestPerDay", reason: `at most ${limit} per UTC day` }],
    { "retry-after": String(retry) },
  );
}
