// Daily ingest counters, one item per tenant and UTC day; counted and limited in one conditional write.
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { usageDayKey } from "../directory/keys";
import { secondsUntilNextUtcDay, utcDay } from "./quotas";
import type { Tenant } from "./tenants";

// A day's counter is kept a little past its day, for usage reports; TTL removes it after.
const KEEP_SECONDS = 3 * 24 * 3600;

export type IngestCount = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** Counts one ingested message; refused once the day's limit is reached, until the next UTC day. */
export async function countIngest(tenant: Tenant, now = Date.now()): Promise<IngestCount> {
  const limit = tenant.quotas.ingestPerDay;
  try {
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Directory"),
        Key: usageDayKey(tenant.tenantId, utcDay(now)),
        UpdateExpression: "ADD ingest :one SET expiresAt = if_not_exists(expiresAt, :exp)",
        ConditionExpression: "attribute_not_exists(ingest) OR ingest < :limit",
        ExpressionAttributeValues: {
          ":one": 1,
          ":limit": limit,
          ":exp": Math.floor(now / 1000) + KEEP_SECONDS,
        },
      }),
    );
    return { ok: true };
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    return { ok: false, retryAfterSeconds: secondsUntilNextUtcDay(now) };
  }
}

/** Gives back a count taken for a publish that then failed (validation), so refusals cost nothing. */
export async function uncountIngest(tenantId: string, now = Date.now()): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: tableName("Directory"),
      Key: usageDayKey(tenantId, utcDay(now)),
      UpdateExpression: "ADD ingest :minus",
      ExpressionAttributeValues: { ":minus": -1 },
    }),
  );
}

export async function ingestToday(tenantId: string, now = Date.now()): Promise<number> {
  const out = await documents().send(
    new GetCommand({ TableName: tableName("Directory"), Key: usageDayKey(tenantId, utcDay(now)) }),
  );
  return typeof out.Item?.ingest === "number" ? out.Item.ingest : 0;
}
