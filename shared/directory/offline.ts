import { randomUUID } from "node:crypto";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchDelete } from "../storage/batch";
import { withoutExpired } from "../storage/ttl";
import { offlinePk } from "./keys";

/** XEP-0160 storage limits: per account, and how long a stored message is kept. */
export const offlineLimits = { maxMessages: 500, retentionSeconds: 30 * 24 * 3600 } as const;

/** Environment variable that lowers or raises the per-account cap (a deployment setting; tests use it too). */
export const OFFLINE_MAX_ENV = "RELAIS_OFFLINE_MAX";

/** The per-account cap: RELAIS_OFFLINE_MAX when it is a positive integer, else `offlineLimits.maxMessages`. */
export function offlineCap(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[OFFLINE_MAX_ENV]);
  return Number.isSafeInteger(n) && n > 0 ? n : offlineLimits.maxMessages;
}

// Messages one sender's stream stores within one millisecond keep their order: they are stored by one
// invocation (the stream's lease holder), so a counter of this process breaks the tie.
let sequence = 0;
const nextSequence = () => {
  sequence = (sequence + 1) % 1_000_000;
  return String(sequence).padStart(6, "0");
};

export interface StoredMessage {
  readonly key: { pk: string; sk: string };
  readonly stanza: string;
  readonly storedAt: number;
}

/**
 * Stores a message for an offline account. Returns false when the account's store is full: the
 * caller bounces the message (RFC 6121 8.5.2.1.1 lets a server refuse with service-unavailable).
 */
export async function storeOffline(bareJid: string, stanza: string, now = Date.now()): Promise<boolean> {
  const cap = offlineCap();
  const count = await documents().send(
    new QueryCommand({
      TableName: tableName("Directory"),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": offlinePk(bareJid) },
      Select: "COUNT",
      Limit: cap,
      ConsistentRead: true,
    }),
  );
  if ((count.Count ?? 0) >= cap) return false;
  await documents().send(
    new PutCommand({
      TableName: tableName("Directory"),
      Item: {
        pk: offlinePk(bareJid),
        sk: `MSG#${String(now).padStart(15, "0")}#${nextSequence()}#${randomUUID()}`,
        kind: "offline",
        stanza,
        storedAt: now,
        expiresAt: Math.floor(now / 1000) + offlineLimits.retentionSeconds,
      },
    }),
  );
  return true;
}

/** Stored messages, oldest first. Deleted only by `removeOffline`, after they were handed over. */
export async function listOffline(
  bareJid: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents().send(
      new QueryCommand({
        TableName: tableName("Directory"),
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": offlinePk(bareJid) },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const i of withoutExpired(page.Items ?? [], "expiresAt", nowSeconds)) {
      out.push({
        key: { pk: String(i.pk), sk: String(i.sk) },
        stanza: String(i.stanza),
        storedAt: Number(i.storedAt),
      });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

export async function removeOffline(keys: readonly { pk: string; sk: string }[]): Promise<void> {
  await batchDelete(tableName("Directory"), keys);
}
